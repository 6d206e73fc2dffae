// Conversation framing for replay and the mock: cuts the client's bytes into units that
// each expect one server response (a command, a SASL line, a DATA body) and the server's
// bytes into whole responses (an SMTP reply with its continuation lines, a POP3 status
// with its multi-line body, IMAP untagged data up to the tagged or `+` line).
// Unlike the decoders it keeps no annotations, only what replay needs; the caller pairs
// units with responses and reports each pairing back with answered().
import type { Protocol } from '../../shared/schema.ts'

export type UnitKind = 'command' | 'sasl' | 'data' | 'line'

export interface ClientUnit {
  kind: UnitKind
  bytes: Buffer
  /** Upper-cased verb ('MAIL', 'UID FETCH'); for sasl units the AUTH verb. */
  verb?: string
  /** The rest of the command line, as sent. */
  args?: string
  /** IMAP tag. */
  tag?: string
  /** AUTH/AUTHENTICATE mechanism, on the command and on its SASL lines. */
  mechanism?: string
  /** 1-based index of a SASL line within its exchange (0 = the initial response on the AUTH line). */
  saslStep?: number
  /** The AUTH command carried an initial response. */
  initialResponse?: string
  /** IMAP synchronizing literals in the command: each gets a `+` go-ahead that is not its answer. */
  syncLiterals?: number
}

export type ResponseStatus = 'ok' | 'error' | 'continue' | 'other'

export interface ServerResponse {
  bytes: Buffer
  /** Text lines without CRLF (literal contents included as lines). */
  lines: string[]
  status: ResponseStatus
  /** SMTP code, POP3 '+OK'/'-ERR'/'+', IMAP 'OK'/'NO'/'BAD'/'+'. */
  code: string
  tag?: string
}

/** Commands whose POP3 +OK answer is followed by a dot-terminated body (RFC 1939). */
function pop3Multiline(unit: ClientUnit | undefined): boolean {
  if (!unit || unit.kind !== 'command') return false
  const args = (unit.args ?? '').trim()
  switch (unit.verb) {
    case 'CAPA':
    case 'RETR':
    case 'TOP':
      return true
    case 'LIST':
    case 'UIDL':
      return args === ''
    case 'AUTH':
      // RFC 5034: AUTH without a mechanism lists them.
      return args === ''
    default:
      return false
  }
}

/** SASL lines a mechanism takes after the AUTH command (undefined: follow the server's continuations). */
function saslSteps(mechanism: string, hasInitial: boolean): number | undefined {
  switch (mechanism) {
    case 'PLAIN':
    case 'XOAUTH2':
    case 'OAUTHBEARER':
    case 'EXTERNAL':
      return hasInitial ? 0 : 1
    case 'LOGIN':
      return hasInitial ? 1 : 2
    case 'CRAM-MD5':
      return 1
    default:
      return undefined
  }
}

function lineText(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/\r?\n$/, '')
}

/** Index just past the next LF at or after `from`, or -1. */
function lineEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf(10, from)
  return i < 0 ? -1 : i + 1
}

/** The client side of a conversation: bytes in, units out. */
export class ClientFramer {
  private buf: Buffer = Buffer.alloc(0)
  /** SMTP: after a 354 to DATA the next bytes are a message up to CRLF.CRLF. */
  private body = false
  /** A SASL exchange in progress: the mechanism and the lines still expected (undefined: unknown). */
  private sasl: { verb: string; mechanism: string; left: number | undefined; step: number; tag?: string } | undefined
  /** IMAP after `+` to IDLE: the next line (DONE) ends it. */
  private idle: { tag?: string } | undefined
  /** IMAP: the command being assembled across literals. */
  private literal: { parts: Buffer[]; need: number; sync: number } | undefined
  /** IMAP: a sync literal is announced and its bytes have not started: the server owes a `+`. */
  waitingForGoAhead = false

  constructor(readonly protocol: Protocol) {}

  /** The bytes the client sent; returns the units now complete. */
  push(bytes: Buffer): ClientUnit[] {
    if (bytes.length && this.literal) this.waitingForGoAhead = false
    this.buf = this.buf.length ? Buffer.concat([this.buf, bytes]) : bytes
    const out: ClientUnit[] = []
    for (;;) {
      const unit = this.protocol === 'imap' ? this.nextImap() : this.nextLineBased()
      if (!unit) break
      out.push(unit)
    }
    return out
  }

  /** Bytes not yet part of a unit (a partial line at the end of a capture). */
  rest(): Buffer {
    return this.buf
  }

  /** Tells the framer how the server answered a unit: it decides what the next bytes are. */
  answered(unit: ClientUnit, res: ServerResponse): void {
    const cont = res.status === 'continue'
    if (this.protocol === 'smtp' && unit.kind === 'command' && unit.verb === 'DATA') {
      this.body = res.code === '354'
      return
    }
    if (unit.kind === 'command' && (unit.verb === 'AUTH' || unit.verb === 'AUTHENTICATE')) {
      if (cont && !this.sasl) {
        this.sasl = { verb: unit.verb, mechanism: unit.mechanism ?? '', left: undefined, step: 0, tag: unit.tag }
      } else if (!cont) this.sasl = undefined
      return
    }
    if (unit.kind === 'sasl') {
      if (cont && !this.sasl) {
        this.sasl = { verb: unit.verb ?? 'AUTH', mechanism: unit.mechanism ?? '', left: undefined, step: unit.saslStep ?? 0, tag: unit.tag }
      } else if (!cont) this.sasl = undefined
      return
    }
    if (this.protocol === 'imap' && unit.kind === 'command' && unit.verb === 'IDLE') {
      this.idle = cont ? { tag: unit.tag } : undefined
    }
  }

  private take(end: number): Buffer {
    const b = this.buf.subarray(0, end)
    this.buf = this.buf.subarray(end)
    return Buffer.from(b)
  }

  private nextLineBased(): ClientUnit | undefined {
    if (this.body) {
      // RFC 5321 4.1.1.4: the message ends with CRLF.CRLF (a lone '.' line).
      let end = -1
      if (this.buf.subarray(0, 3).equals(Buffer.from('.\r\n'))) end = 3
      else {
        const i = this.buf.indexOf('\r\n.\r\n')
        if (i >= 0) end = i + 5
      }
      if (end < 0) return undefined
      this.body = false
      return { kind: 'data', bytes: this.take(end), verb: 'DATA' }
    }
    const e = lineEnd(this.buf, 0)
    if (e < 0) return undefined
    const text = lineText(this.buf.subarray(0, e))
    if (this.sasl) return this.saslLine(this.take(e), text)
    const m = /^(\S*)\s?(.*)$/.exec(text)!
    const verb = m[1]!.toUpperCase()
    const args = m[2]!
    if (this.protocol === 'smtp' && verb === 'BDAT') {
      // RFC 3030: BDAT n [LAST] is followed by exactly n bytes, answered once.
      const size = Number(/^(\d+)/.exec(args)?.[1] ?? 0)
      if (this.buf.length < e + size) return undefined
      return { kind: 'data', bytes: this.take(e + size), verb, args }
    }
    const unit: ClientUnit = { kind: 'command', bytes: this.take(e), verb, args }
    if (verb === 'AUTH' && args.trim() !== '') this.startSasl(unit, args)
    return unit
  }

  private startSasl(unit: ClientUnit, args: string): void {
    const [mech, initial] = args.trim().split(/\s+/)
    unit.mechanism = mech!.toUpperCase()
    if (initial !== undefined) unit.initialResponse = initial
    const left = saslSteps(unit.mechanism, initial !== undefined)
    // Known mechanisms say how many lines follow even when the transcript lacks the
    // server's continuations (the seed's AUTH LOGIN); others follow the continuations.
    if (left !== undefined && left > 0) this.sasl = { verb: unit.verb!, mechanism: unit.mechanism, left, step: 0, tag: unit.tag }
  }

  private saslLine(bytes: Buffer, text: string): ClientUnit {
    const s = this.sasl!
    s.step++
    const unit: ClientUnit = { kind: 'sasl', bytes, verb: s.verb, mechanism: s.mechanism, saslStep: s.step, args: text, tag: s.tag }
    if (text === '*') this.sasl = undefined
    else if (s.left !== undefined && --s.left <= 0) this.sasl = undefined
    return unit
  }

  private nextImap(): ClientUnit | undefined {
    if (this.literal) {
      if (this.buf.length < this.literal.need) return undefined
      this.literal.parts.push(this.take(this.literal.need))
      this.literal.need = 0
    }
    const e = lineEnd(this.buf, 0)
    if (e < 0) {
      return undefined
    }
    const lineBytes = this.take(e)
    if (!this.literal && this.sasl) return this.saslLine(lineBytes, lineText(lineBytes))
    if (!this.literal && this.idle) {
      const tag = this.idle.tag
      this.idle = undefined
      return { kind: 'line', bytes: lineBytes, verb: lineText(lineBytes).trim().toUpperCase() || 'DONE', tag }
    }
    const lit = /\{(\d+)(\+?)\}\r?\n$/.exec(lineBytes.toString('latin1'))
    const parts = this.literal ? this.literal.parts : []
    parts.push(lineBytes)
    if (lit) {
      const sync = (this.literal?.sync ?? 0) + (lit[2] ? 0 : 1)
      this.literal = { parts, need: Number(lit[1]), sync }
      this.waitingForGoAhead = !lit[2]
      // The literal's bytes may already be here; otherwise wait (and, if synchronizing,
      // the server owes the client a `+`).
      if (this.buf.length === 0) return undefined
      this.waitingForGoAhead = false
      return this.nextImap()
    }
    this.waitingForGoAhead = false
    const sync = this.literal?.sync ?? 0
    this.literal = undefined
    return this.imapUnit(parts, sync)
  }

  /**
   * The server refused a synchronizing literal (a tagged NO instead of `+`): the command
   * ends at its announcement, and what follows is a new command.
   */
  abandonLiteral(): ClientUnit | undefined {
    if (!this.literal || !this.waitingForGoAhead) return undefined
    const { parts, sync } = this.literal
    this.literal = undefined
    this.waitingForGoAhead = false
    return this.imapUnit(parts, sync)
  }

  /** The command whose synchronizing literal waits for a go-ahead, as it stands (nothing consumed). */
  peekLiteralCommand(): ClientUnit | undefined {
    if (!this.literal || !this.waitingForGoAhead) return undefined
    return this.imapUnit(this.literal.parts, this.literal.sync, false)
  }

  private imapUnit(parts: Buffer[], sync: number, startSasl = true): ClientUnit {
    const bytes = Buffer.concat(parts)
    const first = lineText(parts[0]!)
    const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(first)
    if (!m) return { kind: 'command', bytes, verb: first.trim().toUpperCase(), args: '' }
    const tag = m[1]!
    let verb = m[2]!.toUpperCase()
    let args = m[3] ?? ''
    if (verb === 'UID') {
      const m2 = /^(\S+)\s*(.*)$/.exec(args)
      if (m2) {
        verb = `UID ${m2[1]!.toUpperCase()}`
        args = m2[2]!
      }
    }
    const unit: ClientUnit = { kind: 'command', bytes, verb, args, tag }
    if (sync) unit.syncLiterals = sync
    if (startSasl && verb === 'AUTHENTICATE' && args.trim() !== '') this.startSasl(unit, args)
    return unit
  }

  /** Once the client's literal bytes have started, the go-ahead is no longer owed. */
  noteLiteralStarted(): void {
    this.waitingForGoAhead = false
  }
}

/** The server side: bytes in, whole responses out. */
export class ServerFramer {
  private buf: Buffer = Buffer.alloc(0)
  private lines: Buffer[] = []
  /** POP3: inside a dot-terminated body. */
  private inBody = false
  /** IMAP: bytes of a server literal still to come. */
  private literalLeft = 0
  /** IMAP: the next line continues the line a literal interrupted. */
  private afterLiteral = false

  /** Before the first response: an IMAP greeting is one untagged line. */
  private greeting: boolean

  constructor(
    readonly protocol: Protocol,
    opts: { greeting?: boolean } = {},
  ) {
    this.greeting = opts.greeting ?? true
  }

  /**
   * The bytes the server sent. `answering(i)` names the unit the i-th response of this
   * call answers (POP3 needs it to know whether +OK starts a multi-line body).
   */
  push(bytes: Buffer, answering: (index: number) => ClientUnit | undefined = () => undefined): ServerResponse[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, bytes]) : bytes
    const out: ServerResponse[] = []
    for (;;) {
      if (this.literalLeft > 0) {
        if (this.buf.length === 0) break
        const n = Math.min(this.literalLeft, this.buf.length)
        this.lines.push(Buffer.from(this.buf.subarray(0, n)))
        this.buf = this.buf.subarray(n)
        this.literalLeft -= n
        if (this.literalLeft === 0) this.afterLiteral = true
        continue
      }
      const e = lineEnd(this.buf, 0)
      if (e < 0) break
      const line = Buffer.from(this.buf.subarray(0, e))
      this.buf = this.buf.subarray(e)
      const res = this.line(line, () => answering(out.length))
      if (res) out.push(res)
    }
    return out
  }

  /** What is left when the stream ends: an unfinished response, if any. */
  flush(): ServerResponse | undefined {
    if (this.buf.length) {
      this.lines.push(this.buf)
      this.buf = Buffer.alloc(0)
    }
    if (this.lines.length === 0) return undefined
    return this.finish('other', '')
  }

  private finish(status: ResponseStatus, code: string, tag?: string): ServerResponse {
    const bytes = Buffer.concat(this.lines)
    const lines = bytes
      .toString('utf8')
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
    if (lines.at(-1) === '') lines.pop()
    this.lines = []
    const res: ServerResponse = { bytes, lines, status, code }
    if (tag !== undefined) res.tag = tag
    return res
  }

  private line(line: Buffer, answering: () => ClientUnit | undefined): ServerResponse | undefined {
    this.lines.push(line)
    const text = lineText(line)
    switch (this.protocol) {
      case 'smtp': {
        const m = /^(\d{3})([- ]|$)/.exec(text)
        if (m && m[2] === '-') return undefined
        const code = m?.[1] ?? ''
        const c = code[0]
        return this.finish(c === '2' ? 'ok' : c === '3' ? 'continue' : c === '4' || c === '5' ? 'error' : 'other', code)
      }
      case 'pop3': {
        if (this.inBody) {
          if (text === '.') {
            this.inBody = false
            return this.finish('ok', '+OK')
          }
          return undefined
        }
        if (/^\+OK\b/i.test(text)) {
          if (pop3Multiline(answering())) {
            this.inBody = true
            return undefined
          }
          return this.finish('ok', '+OK')
        }
        if (/^-ERR\b/i.test(text)) return this.finish('error', '-ERR')
        if (text.startsWith('+')) return this.finish('continue', '+')
        return this.finish('other', '')
      }
      case 'imap': {
        const lit = /\{(\d+)\}\r?\n$/.exec(line.toString('latin1'))
        const continued = this.afterLiteral
        this.afterLiteral = false
        if (lit) {
          this.literalLeft = Number(lit[1])
          if (this.literalLeft === 0) this.afterLiteral = true
          return undefined
        }
        // The rest of a line a literal interrupted: never a tagged or `+` line of its own.
        if (continued) return undefined
        if (this.greeting && text.startsWith('*')) {
          this.greeting = false
          const status = /^\*\s+(\S+)/.exec(text)?.[1]?.toUpperCase() ?? ''
          return this.finish(status === 'BYE' ? 'error' : 'ok', status)
        }
        this.greeting = false
        if (text.startsWith('+')) return this.finish('continue', '+')
        if (text.startsWith('*')) return undefined
        // RFC 3501 7.1: a tagged line is a status; anything else (junk, notes pasted
        // into a transcript) belongs to the response in progress.
        const m = /^(\S+)\s+(OK|NO|BAD|BYE|PREAUTH)\b/i.exec(text)
        if (!m) return undefined
        const code = m[2]!.toUpperCase()
        return this.finish(code === 'OK' ? 'ok' : code === 'NO' || code === 'BAD' ? 'error' : 'other', code, m[1])
      }
    }
  }
}

/** The verb a unit shows in diffs and notes: 'MAIL', 'UID FETCH', 'AUTH (SASL line 1)'. */
export function describeUnit(u: ClientUnit): string {
  switch (u.kind) {
    case 'command':
      return u.verb ?? '?'
    case 'sasl':
      return `${u.verb ?? 'AUTH'} ${u.mechanism ?? ''} response`.replace(/\s+/g, ' ')
    case 'data':
      return u.verb === 'BDAT' ? 'BDAT chunk' : 'message body'
    case 'line':
      return u.verb ?? 'line'
  }
}
