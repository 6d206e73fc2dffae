// IMAP value syntax (RFC 9051 §4): atoms, quoted strings, literals, NIL and parenthesized
// lists, read from one logical line whose literals the framer already cut out. Never
// throws on wire input: what does not parse is reported through `ok: false`.

/** A literal inside a logical line. Small ones carry their text; big ones only a size. */
export interface Literal {
  literal: number
  /** `~{n}` (RFC 3516 literal8). */
  binary?: true
  /** `{n+}` (RFC 7888 non-synchronizing). */
  nonSync?: true
  /** The literal's text, when it was small enough to keep. */
  value?: string
  /** The literal was a message streamed to the MessageSink under this index. */
  message?: number
  /** The text is a secret: shown as '•••'. */
  secret?: true
  /** A synchronizing literal the server refused: its bytes were never sent. */
  refused?: true
}

export type LinePart = string | Literal

/** NIL is null, atoms and strings are strings, literals stay objects, lists are arrays. */
export type ImapValue = string | null | Literal | ImapValue[]

export function isLiteral(v: unknown): v is Literal {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Literal).literal === 'number'
}

/** Stands for a literal inside the flattened line; never left in parsed output. */
const LIT = '\uE000'
const LIT_CODE = 0xe000
const SP = 0x20
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
/** Characters that end an atom (RFC 9051 §9 atom-specials that matter here). */
const ATOM_STOP = new Uint8Array(128)
for (const c of ' ()"{\r\n') ATOM_STOP[c.charCodeAt(0)] = 1

/**
 * A logical line flattened to one string (literals replaced by a marker) with a cursor.
 * Grammar code reads tokens from it; nothing here allocates per byte of a literal.
 */
export class Reader {
  readonly s: string
  readonly literals: Literal[]
  pos = 0
  private lit = 0
  /** Set when something did not parse; reading carries on leniently. */
  error: string | undefined

  constructor(parts: LinePart[]) {
    let s = ''
    const literals: Literal[] = []
    for (const p of parts) {
      if (typeof p === 'string') s += p.includes(LIT) ? p.replaceAll(LIT, '\uFFFD') : p
      else {
        s += LIT
        literals.push(p)
      }
    }
    this.s = s
    this.literals = literals
  }

  get done(): boolean {
    return this.pos >= this.s.length
  }

  peek(): string {
    return this.s[this.pos] ?? ''
  }

  /** The unread rest as text (literals shown as `{n}` and their text or size). */
  rest(): string {
    return this.render(this.pos, this.s.length)
  }

  /** The text of [from, to) with literals rendered, and optionally [maskFrom, maskTo) as '•••'. */
  render(from: number, to: number, mask?: { from: number; to: number }): string {
    const s = this.s
    if (mask) return this.render(from, mask.from) + '•••' + this.render(mask.to, to)
    let next = s.indexOf(LIT, from)
    if (next < 0 || next >= to) return s.slice(from, to)
    // Literals before `from` say which literal comes next.
    let lit = 0
    for (let i = s.indexOf(LIT); i >= 0 && i < from; i = s.indexOf(LIT, i + 1)) lit++
    let out = ''
    let run = from
    while (next >= 0 && next < to) {
      const l = this.literals[lit++]
      out += s.slice(run, next) + (l ? literalHeader(l) + renderLiteral(l) : '')
      run = next + 1
      next = s.indexOf(LIT, run)
    }
    return out + s.slice(run, to)
  }

  skipSpaces(): void {
    const s = this.s
    while (s.charCodeAt(this.pos) === SP) this.pos++
  }

  /** Consumes `text` (case-insensitive) if it comes next. */
  accept(text: string): boolean {
    if (this.s.substr(this.pos, text.length).toUpperCase() === text.toUpperCase()) {
      this.pos += text.length
      return true
    }
    return false
  }

  /** A run of non-space characters (tags, verbs, sequence sets). */
  word(): string {
    const s = this.s
    const start = this.pos
    let i = start
    for (let c = s.charCodeAt(i); i < s.length && c !== SP && c !== LIT_CODE; c = s.charCodeAt(++i));
    this.pos = i
    return s.slice(start, i)
  }

  /**
   * An atom. Brackets nest (`BODY[HEADER.FIELDS (FROM)]<0.100>` is one atom); inside a
   * response code `]` ends it. charCodeAt and a table: this runs for every token.
   */
  atom(inCode = false): string {
    const s = this.s
    const n = s.length
    const start = this.pos
    let i = start
    while (i < n) {
      const c = s.charCodeAt(i)
      if ((c < 128 && ATOM_STOP[c] === 1) || c === LIT_CODE) break
      if (c === CLOSE_BRACKET && inCode) break
      if (c === OPEN_BRACKET && !inCode) {
        const close = s.indexOf(']', i)
        if (close < 0) {
          i = n
          break
        }
        i = close + 1
        continue
      }
      i++
    }
    this.pos = i
    return s.slice(start, i)
  }

  /** A quoted string (RFC 9051 §4.3: backslash escapes `"` and `\`). */
  quoted(): string {
    const s = this.s
    this.pos++ // opening quote
    let out = ''
    let from = this.pos
    while (this.pos < s.length) {
      const c = s[this.pos]
      if (c === '\\') {
        out += s.slice(from, this.pos)
        this.pos++
        if (this.pos < s.length) out += s[this.pos]
        this.pos++
        from = this.pos
        continue
      }
      if (c === '"') {
        out += s.slice(from, this.pos)
        this.pos++
        return out
      }
      this.pos++
    }
    this.error ??= 'unterminated quoted string'
    return out + s.slice(from)
  }

  /** One value: list, string, literal, NIL or atom. Undefined at the end of the line. */
  value(inCode = false, depth = 0): ImapValue | undefined {
    this.skipSpaces()
    const c = this.peek()
    if (c === '' || (inCode && c === ']')) return undefined
    if (c === '(') {
      this.pos++
      const list: ImapValue[] = []
      for (;;) {
        this.skipSpaces()
        const d = this.peek()
        if (d === ')') {
          this.pos++
          return list
        }
        if (d === '' || (inCode && d === ']')) {
          this.error ??= 'unclosed parenthesis'
          return list
        }
        if (depth > 64) {
          // Hostile nesting: stop descending, keep the rest as text.
          this.error ??= 'lists nested too deep'
          list.push(this.rest())
          this.pos = this.s.length
          return list
        }
        const v = this.value(inCode, depth + 1)
        if (v === undefined) {
          // A stray character no value starts with: skip it.
          this.error ??= `unexpected ${JSON.stringify(this.peek())}`
          this.pos++
          continue
        }
        list.push(v)
      }
    }
    if (c === '"') return this.quoted()
    if (c === LIT) {
      this.pos++
      return this.literals[this.lit++] ?? { literal: 0 }
    }
    if (c === ')') {
      this.error ??= 'unexpected )'
      this.pos++
      return this.value(inCode, depth)
    }
    const a = this.atom(inCode)
    if (a === '') {
      this.error ??= `unexpected ${JSON.stringify(c)}`
      this.pos++
      return ''
    }
    return a.toUpperCase() === 'NIL' ? null : a
  }

  /** Every remaining value. */
  values(inCode = false): ImapValue[] {
    const out: ImapValue[] = []
    for (;;) {
      const v = this.value(inCode)
      if (v === undefined) return out
      out.push(v)
    }
  }
}

/** How a literal shows in a displayed line (after its `{n}` header). */
export function renderLiteral(l: Literal | undefined): string {
  if (!l || l.refused) return ''
  if (l.secret) return '•••'
  if (l.value !== undefined) return l.value
  if (l.message !== undefined) return `‹message ${l.message}, ${l.literal} bytes›`
  return `‹${l.literal} bytes›`
}

/** The wire header of a literal: `{5}`, `{5+}`, `~{5}`. */
export function literalHeader(l: Literal): string {
  return `${l.binary ? '~' : ''}{${l.literal}${l.nonSync ? '+' : ''}}`
}

/** A value back to IMAP-ish text, for args and display (secrets stay masked). */
export function formatValue(v: ImapValue): string {
  if (v === null) return 'NIL'
  if (Array.isArray(v)) return `(${v.map(formatValue).join(' ')})`
  if (isLiteral(v)) return `${literalHeader(v)}${renderLiteral(v)}`
  if (v === '' || /[\s"()\\{]/.test(v)) return `"${v.replace(/["\\]/g, '\\$&')}"`
  return v
}

/** A value as a plain string (literal text, atom, quoted), or undefined for lists. */
export function asString(v: ImapValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  if (isLiteral(v)) return v.secret ? '•••' : (v.value ?? renderLiteral(v))
  return undefined
}

export function asNumber(v: ImapValue | undefined): number | undefined {
  if (typeof v !== 'string' || !/^\d{1,16}$/.test(v)) return undefined
  return Number(v)
}

export function asList(v: ImapValue | undefined): ImapValue[] | undefined {
  return Array.isArray(v) ? v : undefined
}

/**
 * JSON-safe form of a value for `parsed`: literals become `{ literal, message? }` or their
 * text, lists arrays, NIL null.
 */
export function plainValue(v: ImapValue): unknown {
  if (v === null || typeof v === 'string') return v
  if (Array.isArray(v)) return v.map(plainValue)
  if (v.secret) return '•••'
  if (v.value !== undefined) return v.value
  const out: { literal: number; message?: number; binary?: true } = { literal: v.literal }
  if (v.message !== undefined) out.message = v.message
  if (v.binary) out.binary = true
  return out
}

/**
 * Modified UTF-7 mailbox names (RFC 3501 §5.1.3): `&AOk-t&AOk-` → `été`. Names that
 * are not valid modified UTF-7 are returned unchanged.
 */
export function decodeMailboxName(name: string): string {
  if (!name.includes('&')) return name
  return name.replace(/&([^-]*)-/g, (whole, b64: string) => {
    if (b64 === '') return '&'
    if (!/^[A-Za-z0-9+,]+$/.test(b64)) return whole
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64')
    if (bytes.length % 2 !== 0) return whole
    let out = ''
    for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode((bytes[i] << 8) | bytes[i + 1])
    return out
  })
}
