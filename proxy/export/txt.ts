// The bug-report transcript: `C: ` and `S: ` lines exactly as on the wire, with decoded
// AUTH steps, findings and TLS switches as `# ` comments right after the line they
// explain. Secrets are shown as '•••' unless asked for. It imports back (proxy/import)
// byte for byte: lines that are not clean text are written escaped as `C~ `/`S~ `.
import type { Item, Note, Session, SessionEvent, Side } from '../../shared/schema.ts'
import { MASK, secretRanges, type SecretRange } from './redact.ts'

export interface TxtOptions {
  /** Show secrets as they were on the wire. */
  secrets?: boolean
  /** A run of one side's lines longer than this is elided in the middle. Default 64 KiB. */
  maxBlockBytes?: number
}

export const DEFAULT_MAX_BLOCK_BYTES = 64 * 1024
/** Lines kept after an elision, so a body's end ('.', ')') stays visible. */
const TAIL_LINES = 2

export function formatTxt(
  session: Session,
  events: readonly SessionEvent[],
  raw: Record<Side, Buffer>,
  opts: TxtOptions = {},
): string {
  const w = new TxtWriter(raw, opts.secrets ? [] : secretRanges(events, raw), opts.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES)
  for (const line of headerLines(session, !!opts.secrets)) w.comment(line)
  w.comment('')

  let closing: SessionEvent | undefined
  for (const ev of events) {
    if (ev.item?.kind === 'lifecycle' && ev.item.phase === 'close') {
      closing = ev
      continue
    }
    if (ev.raw) w.flush(ev.raw.side, ev.raw.offset + ev.raw.length)
    for (const c of commentsFor(ev, !!opts.secrets)) w.comment(c)
  }
  w.flush('client', raw.client.length, true)
  w.flush('server', raw.server.length, true)
  if (closing) for (const c of commentsFor(closing, !!opts.secrets)) w.comment(c)
  return w.text()
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '?' : new Date(ms).toISOString()
}

function headerLines(s: Session, secrets: boolean): string[] {
  const lines = [
    `mailtap session ${s.id}`,
    `protocol: ${s.protocol}`,
    `route: ${s.route.id} ${s.route.listenUrl} -> ${s.route.upstreamUrl}`,
    `client: ${s.client.address}:${s.client.port}`,
    `server: ${s.server.host && s.server.host !== s.server.address ? `${s.server.host} (${s.server.address}:${s.server.port})` : `${s.server.address}:${s.server.port}`}`,
    `started: ${iso(s.startedAt)}`,
    `ended: ${s.endedAt === undefined ? '(still live)' : iso(s.endedAt)}${s.closeReason ? ` (${s.closeReason}${s.closeDetail ? `: ${s.closeDetail}` : ''})` : ''}`,
  ]
  if (s.user) lines.push(`user: ${s.user}`)
  if (s.origin && s.origin.kind !== 'live') {
    lines.push(`origin: ${s.origin.kind}${s.origin.of ? ` of ${s.origin.of}` : ''}${s.origin.file ? ` (${s.origin.file})` : ''}`)
  }
  if (s.gaps) lines.push('gaps: the recording is incomplete')
  lines.push(secrets ? 'secrets: SHOWN (this transcript contains passwords or tokens)' : `secrets: redacted as ${MASK} (export with secrets=show to keep them)`)
  lines.push("lines: 'C: ' client to server, 'S: ' server to client, '# ' mailtap's comments;")
  lines.push("       'C~ '/'S~ ' bytes that are not plain text, escaped (\\r \\n \\t \\\\ \\xHH) with their line ending")
  return lines
}

function noteText(n: Note): string {
  return `[${n.level}] ${n.code}: ${n.text}${n.hint ? ` (${n.hint})` : ''}${n.ref ? ` [${n.ref}]` : ''}`
}

function itemComments(item: Item): string[] {
  switch (item.kind) {
    case 'auth': {
      const who = item.user ? ` user ${item.user}` : ''
      if (item.step === 'start') return [`AUTH ${item.mechanism} started${who}${item.decoded ? `: ${item.decoded}` : ''}`]
      if (item.step === 'outcome') return [`AUTH ${item.mechanism} ${item.outcome === 'success' ? 'succeeded' : 'failed'}${who}`]
      if (item.step === 'cancel') return [`AUTH ${item.mechanism} cancelled by the client`]
      return [`AUTH ${item.mechanism} ${item.step}: ${item.decoded ?? '(not decoded)'}${item.valid ? '' : ' (invalid base64)'}`]
    }
    case 'continuation':
      return item.decoded !== undefined ? [`continuation decoded: ${item.decoded}`] : []
    case 'message': {
      if (item.phase === 'received') {
        return [`message ${item.index} ${item.complete === false ? 'cut short' : 'received'} (${item.size} bytes, ${item.source})`]
      }
      const s = item.summary
      if (!s) return []
      const parts = [s.from && `From: ${s.from}`, s.to && `To: ${s.to}`, s.subject !== undefined && `Subject: ${s.subject}`]
      const att = s.attachments.length ? `, ${s.attachments.length} attachment(s)` : ''
      return [`message ${item.index}: ${parts.filter(Boolean).join(', ') || '(no headers)'}${att}${s.error ? ` (not MIME: ${s.error})` : ''}`]
    }
    case 'tls': {
      if (item.phase === 'go-ahead') return ['STARTTLS accepted: both legs switch to TLS here']
      if (item.phase === 'passthrough') return ['TLS passthrough: the rest is encrypted end to end and not shown']
      if (item.phase === 'failed') return [`TLS failed${item.leg ? ` on the ${item.leg} leg` : ''}: ${item.error ?? ''}`]
      const i = item.info
      if (!i) return [`TLS ${item.leg ?? 'client'} leg: handshake done`]
      const facts = [i.version, i.cipher, i.sni && `SNI ${i.sni}`, i.verify && `verify: ${i.verify.text}`].filter(Boolean).join(' ')
      return [`TLS ${i.leg} leg: ${facts || 'handshake done'} (${i.mode}, ${i.how})${i.mode === 'intercept' ? '; the lines below are the cleartext' : ''}`]
    }
    case 'opaque':
      return [`${item.length} bytes not decoded: ${item.reason}`]
    case 'lifecycle':
      if (item.phase === 'half-close') return [`${item.side ?? 'a side'} closed its half of the connection`]
      if (item.phase === 'close') return [`session closed: ${item.reason ?? '?'}${item.detail ? ` (${item.detail})` : ''}`]
      if (item.phase === 'upstream-connected') return ['connected to the server']
      return []
    case 'command':
    case 'reply':
    case 'untagged':
    case 'body':
      return []
  }
}

function commentsFor(ev: SessionEvent, secrets: boolean): string[] {
  const out = ev.item ? itemComments(ev.item) : []
  for (const n of ev.notes ?? []) out.push(noteText(n))
  if (secrets) {
    for (const s of ev.secrets ?? []) if (s.kind !== 'sasl-response') out.push(`secret (${s.kind}): ${s.value}`)
  }
  return out
}

/** Splits each side's stream into lines and writes them, eliding long runs. */
class TxtWriter {
  private readonly out: string[] = []
  private readonly pos: Record<Side, number> = { client: 0, server: 0 }
  private run: { side: Side; bytes: number; suppressed: number; tail: { text: string; bytes: number }[] } | undefined
  private readonly ranges: SecretRange[]

  constructor(
    private readonly raw: Record<Side, Buffer>,
    ranges: readonly SecretRange[],
    private readonly maxBlockBytes: number,
  ) {
    this.ranges = [...ranges].sort((a, b) => a.start - b.start)
  }

  text(): string {
    this.endRun()
    return this.out.join('\n') + '\n'
  }

  comment(text: string): void {
    this.endRun()
    for (const l of text.split('\n')) this.out.push(l ? `# ${l}` : '#')
  }

  /** Writes the complete lines of `side` up to stream offset `upto` (all of it when final). */
  flush(side: Side, upto: number, final = false): void {
    const buf = this.raw[side]
    const end = Math.min(upto, buf.length)
    let start = this.pos[side]
    while (start < end) {
      const nl = buf.indexOf(0x0a, start)
      if (nl < 0 || nl >= buf.length) {
        if (!final) break
        this.line(side, start, buf.length, '')
        start = buf.length
        break
      }
      // A line that ends past `upto` waits for the event that completes it.
      if (nl >= end && !final) break
      const crlf = nl > start && buf[nl - 1] === 0x0d
      this.line(side, start, crlf ? nl - 1 : nl, crlf ? '\r\n' : '\n')
      start = nl + 1
    }
    this.pos[side] = start
  }

  private line(side: Side, start: number, end: number, eol: string): void {
    // A line that is not clean UTF-8 text goes out escaped as `C~ ` (\r \n \t \\ \xHH,
    // line ending included), so the transcript still imports back to the same bytes.
    const clean = isCleanText(this.raw[side].subarray(start, end))
    const text = clean
      ? `${side === 'client' ? 'C:' : 'S:'} ${this.render(side, start, end, decode)}`
      : `${side === 'client' ? 'C~' : 'S~'} ${this.render(side, start, end + eol.length, escapeBytes)}`
    const extra = !clean ? undefined : eol === '' ? '# (no line ending)' : eol === '\n' ? '# (line ended with LF only)' : undefined
    const bytes = end - start + eol.length
    if (this.run?.side !== side) {
      this.endRun()
      this.run = { side, bytes: 0, suppressed: 0, tail: [] }
    }
    const run = this.run!
    run.bytes += bytes
    const full = extra ? `${text}\n${extra}` : text
    if (run.bytes <= this.maxBlockBytes) {
      this.out.push(full)
      return
    }
    run.tail.push({ text: full, bytes })
    if (run.tail.length > TAIL_LINES) run.suppressed += run.tail.shift()!.bytes
  }

  private endRun(): void {
    const run = this.run
    this.run = undefined
    if (!run) return
    if (run.suppressed > 0) {
      this.out.push(`# … ${run.suppressed} bytes elided (export json for every byte) …`)
    }
    for (const t of run.tail) this.out.push(t.text)
  }

  /** The line's bytes as text, secrets as '•••'. */
  private render(side: Side, start: number, end: number, decode: (bytes: Buffer) => string): string {
    const buf = this.raw[side]
    let text = ''
    let at = start
    for (const r of this.ranges) {
      if (r.side !== side || r.end <= start || r.start >= end) continue
      const s = Math.max(r.start, at)
      if (s > at) text += decode(buf.subarray(at, s))
      if (r.end > at) {
        text += MASK
        at = Math.min(r.end, end)
      }
    }
    if (at < end) text += decode(buf.subarray(at, end))
    return text
  }
}

function decode(bytes: Buffer): string {
  return bytes.toString('utf8')
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Valid UTF-8 without control characters (a tab is fine). */
export function isCleanText(bytes: Buffer): boolean {
  for (const b of bytes) if ((b < 0x20 && b !== 0x09) || b === 0x7f) return false
  try {
    strictUtf8.decode(bytes)
    return true
  } catch {
    return false
  }
}

/** The `C~` escaping of test/helpers/transcript.ts: \r \n \t \\ and \xHH for anything else odd. */
export function escapeBytes(bytes: Buffer): string {
  let out = ''
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!
    if (b < 0x80) {
      if (b === 0x5c) out += '\\\\'
      else if (b === 0x0d) out += '\\r'
      else if (b === 0x0a) out += '\\n'
      else if (b === 0x09) out += '\\t'
      else if (b < 0x20 || b === 0x7f) out += `\\x${b.toString(16).padStart(2, '0')}`
      else out += String.fromCharCode(b)
      i++
      continue
    }
    const len = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += strictUtf8.decode(bytes.subarray(i, i + len))
        i += len
        continue
      } catch {
        // not a valid sequence: escape the lead byte and go on
      }
    }
    out += `\\x${b.toString(16).padStart(2, '0')}`
    i++
  }
  return out
}
