// IMAP framing for one side: bytes to logical lines, where a line may be continued after
// literals `{n}`, `{n+}`, `~{n}` (RFC 9051 §4.3, RFC 7888, RFC 3516). Small literals are
// kept as text; message literals stream to the host; others are only counted.
import { LineFramer, type ByteRun } from './lines.ts'
import { literalHeader, renderLiteral, type LinePart, type Literal } from './imap-syntax.ts'

export type LiteralMode = 'collect' | 'message' | 'skip'

export interface LiteralStart {
  size: number
  binary: boolean
  nonSync: boolean
  /** Offset of the literal's first byte in this side's (plain) stream. */
  offset: number
}

/** One command or response: its text segments and literals, and where it lay. */
export interface LogicalLine {
  parts: LinePart[]
  offset: number
  length: number
  /** A segment, or the whole line, passed the limit: the rest of it was discarded. */
  tooLong?: boolean
  /** The stream ended before the line did (no CRLF, or inside a literal). */
  cut?: boolean
  /** What followed a literal cannot follow one: its declared size was probably wrong. */
  literalMismatch?: boolean
  /** `{...}` that is not a valid literal size (too many digits). */
  badLiteral?: string
  /** The client's synchronizing literal was refused before any of it was sent. */
  literalRefused?: boolean
}

export interface FramerHost {
  /** A literal header was read: what to do with its bytes. */
  literalStart(parts: LinePart[], lit: LiteralStart): LiteralMode
  /** Bytes of a 'message' literal, views into the input (copy to keep). */
  literalData(lit: Literal, bytes: Buffer): void
  /** A 'message' literal ended (complete false: the stream ended inside it). */
  literalEnd(lit: Literal, complete: boolean, received: number): void
}

export interface ImapFramerOptions {
  maxLineBytes: number
  /** A literal up to this size is kept as text (mailbox names, passwords, header fields). */
  collectMaxBytes?: number
  /** All kept literal text of one line together stays under this. */
  collectTotalBytes?: number
}

interface OpenLiteral {
  lit: Literal
  mode: LiteralMode
  remaining: number
  received: number
  chunks: Buffer[]
}

/** Renders a logical line for display: literal headers stay, contents as renderLiteral. */
export function renderLine(parts: LinePart[]): string {
  let out = ''
  for (const p of parts) out += typeof p === 'string' ? p : literalHeader(p) + renderLiteral(p)
  return out
}

// 15 digits keeps sizes exact in a JS number; anything longer is not a literal we follow.
const MAX_LITERAL_DIGITS = 15

export class ImapFramer {
  readonly lines: LineFramer
  private readonly maxLineBytes: number
  private readonly collectMax: number
  private readonly collectTotal: number
  private parts: LinePart[] = []
  private started = false
  private lineOffset = 0
  private textBytes = 0
  private collected = 0
  private literal: OpenLiteral | undefined
  private afterLiteral = false
  private flags: Pick<LogicalLine, 'literalMismatch' | 'badLiteral'> = {}

  constructor(
    private readonly host: FramerHost,
    options: ImapFramerOptions,
  ) {
    this.maxLineBytes = options.maxLineBytes
    this.lines = new LineFramer({ maxLineBytes: options.maxLineBytes, headBytes: Math.min(options.maxLineBytes, 1024) })
    this.collectMax = options.collectMaxBytes ?? 16 * 1024
    this.collectTotal = options.collectTotalBytes ?? 64 * 1024
  }

  push(bytes: Uint8Array): void {
    this.lines.push(bytes)
  }

  /** Offset where the line being assembled started (or the next unread byte). */
  get pendingOffset(): number {
    return this.started ? this.lineOffset : this.lines.offset
  }

  /** Inside a literal, and how much of it arrived. */
  get openLiteral(): { size: number; received: number; mode: LiteralMode } | undefined {
    const l = this.literal
    return l ? { size: l.lit.literal, received: l.received, mode: l.mode } : undefined
  }

  /** The next complete logical line, or null when more bytes are needed. */
  next(): LogicalLine | null {
    for (;;) {
      const open = this.literal
      if (open) {
        if (open.remaining > 0) {
          const run = this.lines.readBytes(open.remaining)
          if (!run) return null
          this.takeLiteralBytes(open, run)
        }
        if (open.remaining === 0) this.endLiteral(open, true)
        continue
      }
      const line = this.lines.readLine()
      if (!line) return null
      if (!this.started) {
        this.started = true
        this.lineOffset = line.offset
      }
      this.textBytes += line.contentLength
      const text = line.text
      if (this.afterLiteral) {
        this.afterLiteral = false
        // After a literal comes SP, ')' or the end of the line; anything else means the
        // declared size swallowed too much or too little.
        const c = text[0]
        if (text !== '' && c !== ' ' && c !== ')') this.flags.literalMismatch = true
      }
      if (line.tooLong || this.textBytes > this.maxLineBytes) {
        this.parts.push(text)
        return this.finish(line.offset + line.length, { tooLong: true })
      }
      const marker = text.endsWith('}') ? readLiteralMarker(text) : undefined
      if (marker && marker.size !== undefined) {
        this.parts.push(text.slice(0, marker.start))
        const lit: Literal = { literal: marker.size }
        if (marker.binary) lit.binary = true
        if (marker.nonSync) lit.nonSync = true
        const start: LiteralStart = {
          size: marker.size,
          binary: marker.binary,
          nonSync: marker.nonSync,
          offset: line.offset + line.length,
        }
        let mode = this.host.literalStart(this.parts, start)
        if (mode === 'collect' && (marker.size > this.collectMax || this.collected + marker.size > this.collectTotal)) mode = 'skip'
        if (mode === 'collect') this.collected += marker.size
        this.literal = { lit, mode, remaining: marker.size, received: 0, chunks: [] }
        continue
      }
      if (marker && marker.size === undefined) this.flags.badLiteral = text.slice(marker.start)
      this.parts.push(text)
      return this.finish(line.offset + line.length, {})
    }
  }

  /**
   * The client's synchronizing literal was refused (the server answered the command
   * instead of sending '+'): the command ends here, without the literal.
   */
  abortLiteral(): LogicalLine | null {
    const open = this.literal
    if (!open || open.received > 0) return null
    this.literal = undefined
    open.lit.refused = true
    this.parts.push(open.lit)
    return this.finish(this.lines.offset, { literalRefused: true })
  }

  /** The stream ended: whatever is pending, marked as cut. */
  flush(): LogicalLine | null {
    const open = this.literal
    if (open) {
      this.endLiteral(open, false)
      return this.finish(this.lines.offset, { cut: true })
    }
    const line = this.lines.flush()
    if (line) {
      if (!this.started) {
        this.started = true
        this.lineOffset = line.offset
      }
      this.parts.push(line.text)
      return this.finish(line.offset + line.length, line.tooLong ? { cut: true, tooLong: true } : { cut: true })
    }
    if (this.started) return this.finish(this.lines.offset, { cut: true })
    return null
  }

  /** Everything buffered and unread, raw (the stream stops being IMAP here). */
  drain(): ByteRun | null {
    return this.lines.drain()
  }

  private takeLiteralBytes(open: OpenLiteral, run: ByteRun): void {
    open.remaining -= run.bytes.length
    open.received += run.bytes.length
    if (open.mode === 'collect') open.chunks.push(Buffer.from(run.bytes))
    else if (open.mode === 'message') this.host.literalData(open.lit, run.bytes)
  }

  private endLiteral(open: OpenLiteral, complete: boolean): void {
    this.literal = undefined
    if (open.mode === 'collect') open.lit.value = Buffer.concat(open.chunks).toString('utf8')
    else if (open.mode === 'message') this.host.literalEnd(open.lit, complete, open.received)
    this.parts.push(open.lit)
    this.afterLiteral = complete
  }

  private finish(end: number, extra: Partial<LogicalLine>): LogicalLine {
    const out: LogicalLine = { parts: this.parts, offset: this.lineOffset, length: end - this.lineOffset, ...this.flags, ...extra }
    this.parts = []
    this.started = false
    this.textBytes = 0
    this.collected = 0
    this.afterLiteral = false
    this.flags = {}
    return out
  }
}

/** `{12}`, `{12+}` or `~{12}` at the end of a segment; size undefined when not a number we accept. */
function readLiteralMarker(text: string): { start: number; size?: number; binary: boolean; nonSync: boolean } | undefined {
  const open = text.lastIndexOf('{')
  if (open < 0) return undefined
  let inner = text.slice(open + 1, -1)
  const nonSync = inner.endsWith('+')
  if (nonSync) inner = inner.slice(0, -1)
  if (!/^\d+$/.test(inner)) return undefined
  const binary = open > 0 && text[open - 1] === '~'
  const start = binary ? open - 1 : open
  if (inner.length > MAX_LITERAL_DIGITS) return { start, binary, nonSync }
  return { start, size: Number(inner), binary, nonSync }
}
