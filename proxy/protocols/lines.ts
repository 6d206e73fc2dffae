// Framing for the line-based mail protocols: bytes of one side in, complete lines (with
// their absolute offsets in that side's stream), raw byte runs (literals, BDAT chunks)
// and dot-terminated bodies out. Grammar never sees a partial chunk; this file does.
//
// Pull-style: the decoder push()es a chunk, then asks for what its state needs next
// (readLine, readBytes, readDotBody) until one returns null ("need more bytes").
// Every limit here gives the same result wherever TCP split the input.

/** One complete line. `offset`/`length` cover the line and its terminator. */
export interface Line {
  /** The line without its terminator, decoded as UTF-8. A head only when `tooLong`. */
  text: string
  /** The same bytes (a view into the input, never copied or mutated). */
  bytes: Buffer
  /** Absolute offset of the first byte of the line in this side's stream. */
  offset: number
  /** Bytes including the terminator. */
  length: number
  /** '\r\n', a bare '\n', or '' for a line cut by the end of the stream. */
  eol: '\r\n' | '\n' | ''
  /**
   * The line's content was longer than `maxLineBytes`: only its first `headBytes` are
   * kept in `text`/`bytes`, the rest was discarded unread (treat the line as opaque).
   */
  tooLong?: boolean
  /** Content length without the terminator (also for a `tooLong` line). */
  contentLength: number
}

/** A run of raw bytes taken from the stream (a literal, a BDAT chunk, opaque data). */
export interface ByteRun {
  bytes: Buffer
  offset: number
}

/** A piece of a dot-terminated body (SMTP DATA, POP3 multi-line response). */
export interface DotBodyPiece {
  /** Body bytes with dot-stuffing undone (views into the input). May be empty. */
  parts: Buffer[]
  /** Wire bytes this piece consumed, starting at `offset` (stuffing dots included). */
  offset: number
  length: number
  /** The terminating line was seen; `terminator` is its wire length (3 for '.\r\n'). */
  done: boolean
  terminator?: number
  /** The terminator was '.\n' or a bare LF preceded it: not the strict CRLF.CRLF. */
  bareLf?: boolean
  /** How many stuffing dots were removed in this piece. */
  unstuffed: number
}

export interface LineFramerOptions {
  /** A line longer than this (without terminator) is `tooLong` and not buffered. */
  maxLineBytes?: number
  /** How much of a too-long line is kept for display. */
  headBytes?: number
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024
const LF = 0x0a
const CR = 0x0d
const DOT = 0x2e
const NL_DOT = Buffer.from('\n.')
const EMPTY = Buffer.alloc(0)

export class LineFramer {
  readonly maxLineBytes: number
  readonly headBytes: number
  private buf: Buffer = EMPTY
  private pos = 0
  /** Absolute stream offset of buf[0]. */
  private base = 0
  /** Discarding an over-long line: where it started, its head and how long it is so far. */
  private skip: { offset: number; head: Buffer; length: number } | undefined
  /** Inside a dot body: are we at the start of a line (where a dot matters)? */
  private bodyAtLineStart = true
  /** Inside a dot body: the previous byte was LF with no CR before it. */
  private bodyPrevBareLf = false
  /** Inside a dot body: the last byte consumed, for a CR/LF pair split across chunks. */
  private bodyLastByte = LF

  constructor(options: LineFramerOptions = {}) {
    this.maxLineBytes = Math.max(16, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)
    this.headBytes = Math.min(this.maxLineBytes, options.headBytes ?? 1024)
  }

  /** Absolute offset of the next unread byte. */
  get offset(): number {
    return this.base + this.pos
  }

  /** Bytes pushed but not yet read. */
  get buffered(): number {
    return this.buf.length - this.pos
  }

  /** Total bytes pushed so far on this side. */
  get total(): number {
    return this.base + this.buf.length
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (this.pos >= this.buf.length) {
      this.base += this.buf.length
      this.buf = chunk
      this.pos = 0
    } else {
      // Carry-over is bounded by maxLineBytes (or a few bytes inside bodies).
      const rest = this.buf.subarray(this.pos)
      this.base += this.pos
      this.buf = Buffer.concat([rest, chunk])
      this.pos = 0
    }
  }

  /** The next complete line, or null when more bytes are needed. */
  readLine(): Line | null {
    const buf = this.buf
    if (this.skip) {
      const idx = buf.indexOf(LF, this.pos)
      if (idx < 0) {
        this.skip.length += buf.length - this.pos
        this.pos = buf.length
        return null
      }
      const s = this.skip
      this.skip = undefined
      const length = s.length + (idx + 1 - this.pos)
      this.pos = idx + 1
      // A CR right before the LF may sit in an earlier, discarded chunk: count it as
      // part of the content either way, the line is opaque.
      const eol = idx > 0 && buf[idx - 1] === CR ? '\r\n' : '\n'
      return {
        text: s.head.toString('utf8'),
        bytes: s.head,
        offset: s.offset,
        length,
        eol,
        tooLong: true,
        contentLength: length - eol.length,
      }
    }
    if (this.pos >= buf.length) return null
    const idx = buf.indexOf(LF, this.pos)
    if (idx < 0) {
      // RFC limits are notes; this cap protects memory. Once the partial line is
      // certainly too long (even if the last byte is a CR), stop buffering it.
      if (buf.length - this.pos - 1 > this.maxLineBytes) {
        const head = Buffer.from(buf.subarray(this.pos, this.pos + this.headBytes))
        this.skip = { offset: this.base + this.pos, head, length: buf.length - this.pos }
        this.pos = buf.length
      }
      return null
    }
    const start = this.pos
    const hasCr = idx > start && buf[idx - 1] === CR
    const end = hasCr ? idx - 1 : idx
    this.pos = idx + 1
    const contentLength = end - start
    if (contentLength > this.maxLineBytes) {
      const head = buf.subarray(start, start + this.headBytes)
      return {
        text: head.toString('utf8'),
        bytes: head,
        offset: this.base + start,
        length: idx + 1 - start,
        eol: hasCr ? '\r\n' : '\n',
        tooLong: true,
        contentLength,
      }
    }
    const bytes = buf.subarray(start, end)
    return {
      text: bytes.toString('utf8'),
      bytes,
      offset: this.base + start,
      length: idx + 1 - start,
      eol: hasCr ? '\r\n' : '\n',
      contentLength,
    }
  }

  /** The first (up to) `max` unread bytes, without consuming them. */
  peek(max: number): Buffer {
    return this.buf.subarray(this.pos, Math.min(this.buf.length, this.pos + max))
  }

  /** Up to `max` raw bytes (a literal, a BDAT chunk); null when nothing is buffered. */
  readBytes(max: number): ByteRun | null {
    if (max <= 0 || this.pos >= this.buf.length) return null
    const n = Math.min(max, this.buf.length - this.pos)
    const run = { bytes: this.buf.subarray(this.pos, this.pos + n), offset: this.base + this.pos }
    this.pos += n
    return run
  }

  /**
   * Call before the first readDotBody of a new body: the body starts at a line start.
   * (The command or status line before it ended with a line terminator.)
   */
  startDotBody(): void {
    this.bodyAtLineStart = true
    this.bodyPrevBareLf = false
    this.bodyLastByte = LF
  }

  /**
   * As much of a dot-terminated body as is buffered (RFC 5321 4.5.2, RFC 1939 3).
   * A line holding only '.' ends it; a leading dot on any other line is stuffing and is
   * removed. Bare LF ends a line too (like Postfix and Dovecot), flagged via `bareLf` on
   * the terminator. Scans with indexOf (a dot, then '\n.'): no per-byte loop, no string
   * conversion.
   * Returns null when nothing could be consumed.
   */
  readDotBody(): DotBodyPiece | null {
    const buf = this.buf
    const len = buf.length
    const startPos = this.pos
    let pos = this.pos
    const parts: Buffer[] = []
    let unstuffed = 0
    while (pos < len) {
      if (this.bodyAtLineStart) {
        if (buf[pos] !== DOT) {
          this.bodyAtLineStart = false
          continue
        }
        // A dot at a line start: the terminator, or stuffing. Need the next byte(s).
        if (pos + 1 >= len) break
        const b1 = buf[pos + 1]
        if (b1 === LF) {
          return this.endBody(parts, startPos, pos, 2, true, unstuffed)
        }
        if (b1 === CR) {
          if (pos + 2 >= len) break
          if (buf[pos + 2] === LF) return this.endBody(parts, startPos, pos, 3, this.bodyPrevBareLf, unstuffed)
        }
        // RFC 5321 4.5.2: a leading dot is stuffing; drop it.
        unstuffed++
        pos++
        this.bodyAtLineStart = false
        this.bodyPrevBareLf = false
        continue
      }
      // The next line that starts with a dot: look for a dot first (base64, the bulk of
      // mail, has none, so one search covers the chunk where '\n.' would stop at every
      // line end); from a dot inside a line, go on with '\n.'. (`pos` is inside a line: a
      // line start was handled above.)
      let dot = buf.indexOf(DOT, pos)
      if (dot >= 0 && (dot === pos || buf[dot - 1] !== LF)) {
        const nl = buf.indexOf(NL_DOT, dot)
        dot = nl < 0 ? -1 : nl + 1
      }
      if (dot >= 0) {
        const idx = dot - 1
        parts.push(buf.subarray(pos, idx + 1))
        // The byte before this LF may be the last one of an earlier chunk.
        this.bodyPrevBareLf = (idx > 0 ? buf[idx - 1] : this.bodyLastByte) !== CR
        pos = idx + 1
        this.bodyAtLineStart = true
        continue
      }
      parts.push(buf.subarray(pos, len))
      if (buf[len - 1] === LF) {
        this.bodyAtLineStart = true
        this.bodyPrevBareLf = (len >= 2 ? buf[len - 2] : this.bodyLastByte) !== CR
      }
      pos = len
    }
    if (pos === startPos) return null
    this.pos = pos
    this.bodyLastByte = buf[pos - 1]
    return { parts, offset: this.base + startPos, length: pos - startPos, done: false, unstuffed }
  }

  private endBody(
    parts: Buffer[],
    startPos: number,
    dotPos: number,
    terminator: number,
    bareLf: boolean,
    unstuffed: number,
  ): DotBodyPiece {
    this.pos = dotPos + terminator
    this.bodyAtLineStart = true
    this.bodyPrevBareLf = false
    return {
      parts,
      offset: this.base + startPos,
      length: this.pos - startPos,
      done: true,
      terminator,
      bareLf,
      unstuffed,
    }
  }

  /**
   * The end of the stream: what is left as a line without terminator (or the rest of a
   * too-long line). Null when nothing is pending.
   */
  flush(): Line | null {
    if (this.skip) {
      const s = this.skip
      this.skip = undefined
      this.pos = this.buf.length
      return { text: s.head.toString('utf8'), bytes: s.head, offset: s.offset, length: s.length, eol: '', tooLong: true, contentLength: s.length }
    }
    if (this.pos >= this.buf.length) return null
    const start = this.pos
    const bytes = this.buf.subarray(start)
    this.pos = this.buf.length
    const tooLong = bytes.length > this.maxLineBytes
    const shown = tooLong ? bytes.subarray(0, this.headBytes) : bytes
    return {
      text: shown.toString('utf8'),
      bytes: shown,
      offset: this.base + start,
      length: bytes.length,
      eol: '',
      tooLong: tooLong || undefined,
      contentLength: bytes.length,
    }
  }

  /** Everything buffered, unread, as one run (going opaque). Null when nothing is. */
  drain(): ByteRun | null {
    if (this.skip) {
      // The head of a discarded line is gone from the stream position already.
      this.skip = undefined
    }
    return this.readBytes(Number.MAX_SAFE_INTEGER)
  }

  /** True while a too-long line is being discarded. */
  get discarding(): boolean {
    return this.skip !== undefined
  }
}

/** Two framers, one per side, which is what every decoder needs. */
export function createFramers(options: LineFramerOptions = {}): Record<'client' | 'server', LineFramer> {
  return { client: new LineFramer(options), server: new LineFramer(options) }
}

/** True when the bytes start like a TLS record (handshake 0x16, version 0x03 xx). */
export function looksLikeTlsClientHello(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x16 && bytes[1] === 0x03
}

/**
 * Watches message text, chunk by chunk, for a line over `limit` bytes (CRLF included)
 * without a per-line loop: from each position the next LF must lie within the bytes the
 * line has left, so one probe per ~limit bytes suffices. A probe is a lastIndexOf, or,
 * when the lines so far were evenly spaced (base64 bodies: 76 characters and CRLF), one
 * byte read where the spacing says an LF should be. Chunking does not change the result.
 */
export class LineLengthCheck {
  /** The current line's length so far; -1 once a line was too long. */
  private run = 0
  /** Distance between the last line ends seen, 0 when not known or not regular. */
  private period = 0
  /** The last LF seen, relative to the start of the next chunk (so negative). */
  private lastLf = 0

  constructor(private readonly limit: number) {}

  get tooLong(): boolean {
    return this.run < 0
  }

  scan(buf: Buffer): void {
    if (this.run < 0 || buf.length === 0) return
    const limit = this.limit
    let run = this.run
    let period = this.period
    let lastLf = this.lastLf
    let learn = period === 0
    let i = 0
    for (;;) {
      // The LF ending this line may sit at most at index `reach` (line length = limit).
      const reach = i + (limit - 1 - run)
      if (reach < i) {
        this.run = -1
        return
      }
      if (reach >= buf.length - 1) break
      let lf = -1
      if (period > 0) {
        const guess = reach - ((reach - lastLf) % period)
        if (guess >= i && buf[guess] === LF) lf = guess
        else period = 0 // not regular after all: plain probes for the rest of this chunk
      }
      if (lf < 0) {
        lf = buf.lastIndexOf(LF, reach)
        if (lf < i) {
          this.run = -1
          return
        }
        if (learn && lf > 0) {
          // Learn the spacing, at most once per chunk, from the LF before this one.
          learn = false
          const before = buf.lastIndexOf(LF, lf - 1)
          if (before >= 0) period = lf - before
        }
      }
      lastLf = lf
      run = 0
      i = lf + 1
    }
    // The tail: the line still open at the end of the chunk is carried over, exactly.
    const last = buf.lastIndexOf(LF)
    if (last < i) {
      const total = run + (buf.length - i)
      this.run = total > limit - 1 ? -1 : total
    } else {
      this.run = buf.length - 1 - last
      lastLf = last
    }
    this.period = period
    this.lastLf = lastLf - buf.length
  }
}
