// FETCH response attributes (RFC 9051 §7.5.2): FLAGS, UID, sizes, dates, ENVELOPE,
// BODYSTRUCTURE and BODY[section] turned into plain JSON for `UntaggedItem.parsed`.
import type { MimePartSummary } from '../../shared/schema.ts'
import { asList, asNumber, asString, plainValue, type ImapValue } from './imap-syntax.ts'

export interface EnvelopeSummary {
  date?: string
  subject?: string
  from?: string[]
  sender?: string[]
  replyTo?: string[]
  to?: string[]
  cc?: string[]
  bcc?: string[]
  inReplyTo?: string
  messageId?: string
}

/** RFC 2047 encoded words (`=?utf-8?Q?Caf=C3=A9?=`) to text; anything odd is left as is. */
export function decodeEncodedWords(s: string): string {
  if (!s.includes('=?')) return s
  return s.replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=(?:\s+(?==\?[^?\s]+\?[BbQq]\?))?/g, (whole, charset: string, enc: string, text: string) => {
    try {
      const bytes =
        enc.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : Buffer.from(
              text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
              'latin1',
            )
      const label = charset.split('*')[0].toLowerCase()
      return new TextDecoder(label === 'utf8' ? 'utf-8' : label).decode(bytes)
    } catch {
      return whole
    }
  })
}

function text(v: ImapValue | undefined): string | undefined {
  const s = asString(v)
  return s === undefined ? undefined : decodeEncodedWords(s)
}

/** An ENVELOPE address list to 'Name <user@host>' strings. Group syntax is flattened. */
function addresses(v: ImapValue | undefined): string[] | undefined {
  const list = asList(v)
  if (!list) return undefined
  const out: string[] = []
  for (const a of list) {
    const f = asList(a)
    if (!f) continue
    const name = text(f[0])
    const mailbox = asString(f[2])
    const host = asString(f[3])
    // RFC 9051 §7.5.2: a NIL host marks the start (mailbox = group name) or end of a group.
    if (host === undefined) continue
    const addr = mailbox !== undefined ? `${mailbox}@${host}` : host
    out.push(name ? `${name} <${addr}>` : addr)
  }
  return out
}

export function parseEnvelope(v: ImapValue | undefined): EnvelopeSummary | undefined {
  const f = asList(v)
  if (!f) return undefined
  const env: EnvelopeSummary = {}
  const set = <K extends keyof EnvelopeSummary>(k: K, value: EnvelopeSummary[K] | undefined): void => {
    if (value !== undefined) env[k] = value
  }
  set('date', asString(f[0]))
  set('subject', text(f[1]))
  set('from', addresses(f[2]))
  set('sender', addresses(f[3]))
  set('replyTo', addresses(f[4]))
  set('to', addresses(f[5]))
  set('cc', addresses(f[6]))
  set('bcc', addresses(f[7]))
  set('inReplyTo', asString(f[8]))
  set('messageId', asString(f[9]))
  return env
}

/** ("name" "value" ...) parameter lists, keys lower-cased. */
function params(v: ImapValue | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  const list = asList(v)
  if (!list) return out
  for (let i = 0; i + 1 < list.length; i += 2) {
    const k = asString(list[i])
    const val = text(list[i + 1])
    if (k !== undefined && val !== undefined) out[k.toLowerCase()] = val
  }
  return out
}

/** ("attachment" ("filename" "a.pdf")) */
function disposition(v: ImapValue | undefined): { type: string; params: Record<string, string> } | undefined {
  const list = asList(v)
  if (!list) return undefined
  const type = asString(list[0])
  return type === undefined ? undefined : { type: type.toLowerCase(), params: params(list[1]) }
}

/**
 * BODYSTRUCTURE (or BODY) to a tree of parts. Paths follow RFC 9051 §6.4.5 section
 * numbering: the children of the top multipart are '1', '2'...; a single-part message is '1'.
 */
export function parseBodyStructure(v: ImapValue | undefined, path = '', depth = 0): MimePartSummary | undefined {
  const f = asList(v)
  if (!f || f.length === 0 || depth > 32) return undefined
  if (Array.isArray(f[0])) {
    // multipart: body+ SP subtype [SP params SP disposition SP language SP location]
    const children: MimePartSummary[] = []
    let i = 0
    for (; i < f.length && Array.isArray(f[i]); i++) {
      const childPath = path ? `${path}.${i + 1}` : String(i + 1)
      const child = parseBodyStructure(f[i], childPath, depth + 1)
      if (child) children.push(child)
    }
    const subtype = (asString(f[i]) ?? 'mixed').toLowerCase()
    const part: MimePartSummary = {
      path: path || '',
      contentType: `multipart/${subtype}`,
      size: children.reduce((n, c) => n + c.size, 0),
      children,
    }
    const dsp = disposition(f[i + 2])
    if (dsp) part.disposition = dsp.type
    return part
  }
  // single part: type subtype params id description encoding size [lines] ...
  const type = (asString(f[0]) ?? 'application').toLowerCase()
  const subtype = (asString(f[1]) ?? 'octet-stream').toLowerCase()
  const p = params(f[2])
  const part: MimePartSummary = {
    path: path || '1',
    contentType: `${type}/${subtype}`,
    size: asNumber(f[6]) ?? 0,
  }
  if (p.charset) part.charset = p.charset
  // Extension data starts after the fields each type adds (RFC 9051 §7.5.2).
  let ext = 7
  if (type === 'text') ext = 8
  else if (type === 'message' && (subtype === 'rfc822' || subtype === 'global')) {
    ext = 10
    // The encapsulated message's parts are numbered below this one ('2' -> '2.1').
    const here = path || '1'
    const inner = parseBodyStructure(f[8], here, depth + 1)
    if (inner) part.children = [inner.children ? inner : { ...inner, path: `${here}.1` }]
  }
  const dsp = disposition(f[ext + 1])
  if (dsp) part.disposition = dsp.type
  const filename = dsp?.params.filename ?? p.name
  if (filename) part.filename = filename
  return part
}

/** `FLAGS (...)`, `UID 4`, `BODY[HEADER] {n}`... to one object keyed by upper-case names. */
export function parseFetchAttributes(list: ImapValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < list.length; i += 2) {
    const keyValue = list[i]
    if (typeof keyValue !== 'string') continue
    const key = keyValue.toUpperCase()
    const v = list[i + 1]
    switch (key) {
      case 'FLAGS':
        out.FLAGS = (asList(v) ?? []).map((x) => asString(x) ?? '').filter(Boolean)
        break
      case 'UID':
      case 'RFC822.SIZE':
        out[key] = asNumber(v) ?? plainValue(v)
        break
      case 'MODSEQ': {
        // (n): 63-bit, kept as a string when a JS number would round it.
        const n = asString(asList(v)?.[0])
        out.MODSEQ = n !== undefined && /^\d{1,15}$/.test(n) ? Number(n) : n
        break
      }
      case 'INTERNALDATE':
        out.INTERNALDATE = asString(v)
        break
      case 'ENVELOPE':
        out.ENVELOPE = parseEnvelope(v)
        break
      case 'BODYSTRUCTURE':
      case 'BODY':
        out[key] = parseBodyStructure(v)
        break
      default:
        // BODY[section]<origin>, BINARY[...], RFC822, RFC822.HEADER, X-GM-*...
        out[key] = plainValue(v)
    }
  }
  return out
}
