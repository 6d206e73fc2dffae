// IMAP syntax for the lab server: framing a command (lines plus `{n}` / `{n+}` literals,
// RFC 3501 4.3 and RFC 7888), tokenising it into atoms, strings and lists, sequence sets,
// and the output side (quoted strings, literals, NIL).

export type Token =
  | { kind: 'atom'; value: string }
  | { kind: 'string'; value: Buffer }
  | { kind: 'list'; items: Token[] }

export class ImapSyntaxError extends Error {}

/** Where a complete command ends in `buffer`, or what framing needs next. */
export type Frame =
  | { kind: 'command'; end: number; bytes: Buffer }
  | { kind: 'need-more'; /** a synchronizing literal of this size waits for `+` */ literal?: { size: number; at: number } }
  | { kind: 'too-long' }

const LITERAL_AT_EOL = /\{(\d+)(\+)?\}\r?$/

/**
 * Finds the first complete command at the start of `buffer`: lines joined by literals.
 * Partial input is the normal case ("need-more"), and so is a literal still in flight.
 */
export function frameCommand(buffer: Buffer, maxLineBytes: number, maxLiteralBytes: number): Frame {
  let pos = 0
  for (;;) {
    const lf = buffer.indexOf(0x0a, pos)
    if (lf < 0) return buffer.length - pos > maxLineBytes ? { kind: 'too-long' } : { kind: 'need-more' }
    if (lf - pos > maxLineBytes) return { kind: 'too-long' }
    const line = buffer.subarray(pos, lf).toString('latin1')
    const m = LITERAL_AT_EOL.exec(line)
    if (!m) return { kind: 'command', end: lf + 1, bytes: buffer.subarray(0, lf + 1) }
    const size = Number(m[1])
    if (size > maxLiteralBytes) return { kind: 'too-long' }
    const literalStart = lf + 1
    if (buffer.length < literalStart + size) {
      return { kind: 'need-more', literal: m[2] ? undefined : { size, at: literalStart } }
    }
    pos = literalStart + size
  }
}

const ATOM_END = new Set([0x20, 0x28, 0x29, 0x0d, 0x0a, 0x7b, 0x22])

/** Tokenises the arguments of a framed command (everything after tag and name). */
export class Tokenizer {
  pos: number
  constructor(private readonly buf: Buffer, start = 0) {
    this.pos = start
  }

  private skipSpaces(): void {
    while (this.buf[this.pos] === 0x20) this.pos++
  }

  atEnd(): boolean {
    this.skipSpaces()
    return this.pos >= this.buf.length || this.buf[this.pos] === 0x0d || this.buf[this.pos] === 0x0a
  }

  next(): Token | undefined {
    this.skipSpaces()
    if (this.atEnd()) return undefined
    const c = this.buf[this.pos]
    if (c === 0x28) {
      this.pos++
      const items: Token[] = []
      for (;;) {
        this.skipSpaces()
        if (this.buf[this.pos] === 0x29) {
          this.pos++
          return { kind: 'list', items }
        }
        const t = this.next()
        if (!t) throw new ImapSyntaxError('unterminated list')
        items.push(t)
      }
    }
    if (c === 0x22) return { kind: 'string', value: this.quoted() }
    if (c === 0x7b) return { kind: 'string', value: this.literal() }
    if (c === 0x29) throw new ImapSyntaxError('unexpected ")"')
    return { kind: 'atom', value: this.atom() }
  }

  private quoted(): Buffer {
    this.pos++
    const out: number[] = []
    while (this.pos < this.buf.length) {
      const c = this.buf[this.pos++]
      if (c === 0x22) return Buffer.from(out)
      if (c === 0x5c) {
        out.push(this.buf[this.pos++])
        continue
      }
      if (c === 0x0d || c === 0x0a) break
      out.push(c)
    }
    throw new ImapSyntaxError('unterminated quoted string')
  }

  private literal(): Buffer {
    const close = this.buf.indexOf(0x7d, this.pos)
    const m = /^\{(\d+)\+?$/.exec(this.buf.subarray(this.pos, close).toString('latin1'))
    if (close < 0 || !m) throw new ImapSyntaxError('bad literal')
    let start = close + 1
    if (this.buf[start] === 0x0d) start++
    if (this.buf[start] !== 0x0a) throw new ImapSyntaxError('literal must end its line')
    start++
    const size = Number(m[1])
    this.pos = start + size
    return this.buf.subarray(start, start + size)
  }

  /** An atom; `[...]` inside it (BODY[HEADER.FIELDS (A B)]) may hold spaces and parens. */
  private atom(): string {
    const start = this.pos
    let depth = 0
    while (this.pos < this.buf.length) {
      const c = this.buf[this.pos]
      if (c === 0x5b) depth++
      else if (c === 0x5d) depth = Math.max(0, depth - 1)
      else if (depth === 0 && ATOM_END.has(c)) break
      else if (depth > 0 && (c === 0x0d || c === 0x0a)) break
      this.pos++
    }
    if (this.pos === start) throw new ImapSyntaxError('expected an atom')
    return this.buf.subarray(start, this.pos).toString('utf8')
  }

  /** The rest of the arguments. */
  all(): Token[] {
    const out: Token[] = []
    for (let t = this.next(); t; t = this.next()) out.push(t)
    return out
  }
}

/** An atom or string as text (astring); throws when it is a list or missing. */
export function text(token: Token | undefined, what: string): string {
  if (!token) throw new ImapSyntaxError(`missing ${what}`)
  if (token.kind === 'list') throw new ImapSyntaxError(`${what} must not be a list`)
  return token.kind === 'atom' ? token.value : token.value.toString('utf8')
}

/** RFC 3501 9: sequence-set. `*` stands for `max`. Returns a membership test. */
export function parseSequenceSet(spec: string, max: number): (n: number) => boolean {
  if (!/^(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*$/.test(spec)) throw new ImapSyntaxError(`bad sequence set ${spec}`)
  const ranges = spec.split(',').map((r) => {
    const [a, b = a] = r.split(':').map((x) => (x === '*' ? max : Number(x)))
    return a <= b ? [a, b] : [b, a]
  })
  return (n) => ranges.some(([a, b]) => n >= a && n <= b)
}

/** A string for output: quoted when plain 7-bit text, else a literal (RFC 3501 4.3). */
export function istring(value: string | Buffer | undefined | null): string | Buffer {
  if (value === undefined || value === null) return 'NIL'
  const s = typeof value === 'string' ? value : value.toString('utf8')
  if (/^[\x20-\x7e]*$/.test(s) && s.length < 1024) return '"' + s.replace(/[\\"]/g, '\\$&') + '"'
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(s, 'utf8')
  return Buffer.concat([Buffer.from(`{${bytes.length}}\r\n`), bytes])
}

/** Joins output pieces; pieces that are Buffers (literals) are kept byte-exact. */
export function joinParts(parts: (string | Buffer)[], sep = ' '): Buffer {
  const out: Buffer[] = []
  parts.forEach((p, i) => {
    if (i > 0 && sep) out.push(Buffer.from(sep))
    out.push(typeof p === 'string' ? Buffer.from(p, 'utf8') : p)
  })
  return Buffer.concat(out)
}

export function list(parts: (string | Buffer)[]): Buffer {
  return Buffer.concat([Buffer.from('('), joinParts(parts), Buffer.from(')')])
}

/** Mailbox name for output: atom when safe, else quoted/literal. */
export function mailboxName(name: string): string | Buffer {
  return /^[A-Za-z0-9_.\-/]+$/.test(name) ? name : istring(name)
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** INTERNALDATE as `"02-Sep-2024 09:00:00 +0000"`. */
export function imapDate(ms: number): string {
  const d = new Date(ms)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `"${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000"`
}

/** `1-Feb-1994` (SEARCH dates) or `01-Feb-1994 21:52:25 -0800` (APPEND) to epoch ms (UTC midnight for dates). */
export function parseImapDate(text: string): number | undefined {
  const m = /^\s*(\d{1,2})-([A-Za-z]{3})-(\d{4})(?:\s+(\d\d):(\d\d):(\d\d)\s+([+-])(\d\d)(\d\d))?\s*$/.exec(text)
  if (!m) return undefined
  const month = MONTHS.findIndex((x) => x.toLowerCase() === m[2].toLowerCase())
  if (month < 0) return undefined
  const base = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0))
  if (m[7] === undefined) return base
  const offsetMin = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '-' ? -1 : 1)
  return base - offsetMin * 60_000
}
