// The HTML part of a captured mail, made inert for the message viewer's sandboxed iframe.

// Injected first into the HTML part. With sandbox="" the frame already has no scripts and
// an opaque origin; the CSP also stops every network load (images only as data: URIs,
// no fonts, no CSS @import), and <base target=_blank> turns link clicks into popups,
// which the sandbox blocks.
const HTML_PREAMBLE =
  `<!doctype html><meta charset="utf-8">` +
  `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'">` +
  `<base target="_blank">` +
  `<style>body{font:14px/1.5 system-ui,sans-serif;margin:12px;color:#1f2937;background:#fff;word-wrap:break-word}</style>`

export function sandboxedSrcDoc(html: string): string {
  return HTML_PREAMBLE + html
}

