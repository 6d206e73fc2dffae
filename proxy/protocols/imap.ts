// The IMAP decoder (RFC 9051, RFC 3501 and common extensions): sans-IO, streaming. Pairs
// tagged completions with their commands, decodes LOGIN/AUTHENTICATE, streams FETCH and
// APPEND messages to the MessageSink, follows STARTTLS and COMPRESS=DEFLATE, notes findings.
import type {
  MessageWire,
  AuthItem,
  CommandItem,
  Decoded,
  Decoder,
  DecoderOptions,
  Item,
  MessageItem,
  MessageWriter,
  Note,
  RawRef,
  ReplyItem,
  Secret,
  Side,
  UntaggedItem,
} from '../../shared/schema.ts'
import { imapExplain } from '../../shared/explain/imap.ts'

/** The explanation table's keys (a Set: `in` on the table also walks its prototype on a miss). */
const KNOWN_EXPLAIN = new Set(Object.keys(imapExplain))
import { decoded, OpaqueTail } from './common.ts'
import { DeflateReader } from './imap-compress.ts'
import { ImapFramer, renderLine, type LiteralMode, type LiteralStart, type LogicalLine } from './imap-framing.ts'
import { codeDetail, flagKey, groupCapabilities, parseCommand, parseResponse, type ParsedResponse, type ResponseCode } from './imap-grammar.ts'
import { completionNote, notes as N } from './imap-notes.ts'
import { PendingCommands } from './imap-pending.ts'
import { asString, type LinePart, type Literal } from './imap-syntax.ts'
import { authCleartextNote, decodeBase64, exposesSecret, MASK, printable, SaslExchange, saslAuthItem } from './sasl.ts'

export type ImapState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout'

/** Default cap on one logical line's text (literals excluded). Big SEARCH results fit. */
export const IMAP_MAX_LINE_BYTES = 256 * 1024
/** Client bytes held while STARTTLS/COMPRESS waits for its verdict. */
const HOLD_MAX_BYTES = 64 * 1024


interface SideState {
  side: Side
  framer: ImapFramer
  /** Added to the framer's offsets to get wire offsets (the framer restarts after TLS). */
  base: number
  deflate?: DeflateReader
  /** Not decoding: TLS where plaintext was expected, a failed inflate, the TLS switch. */
  opaque?: string
  tail: OpaqueTail
  /** Wire bytes received on this side. */
  total: number
  ended: boolean
  /** Events to emit after the current line's own event (messages of its literals). */
  after: Decoded[]
  /** Notes found while framing the current line (literal headers). */
  lineNotes: Note[]
  /** Open message literal. */
  message?: { lit: Literal; writer?: MessageWriter; offset: number; source: MessageItem['source'] }
}

const NOOP_WRITER: MessageWriter = { write() {}, close() {} }

const SELECTED_ONLY = new Set(['FETCH', 'STORE', 'SEARCH', 'COPY', 'MOVE', 'EXPUNGE', 'CLOSE', 'UNSELECT', 'CHECK', 'SORT', 'THREAD'])
const AUTHENTICATED = new Set([
  'SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'RENAME', 'SUBSCRIBE', 'UNSUBSCRIBE', 'LIST', 'LSUB', 'XLIST', 'STATUS', 'APPEND',
  'NAMESPACE', 'GETQUOTA', 'GETQUOTAROOT', 'SETQUOTA', 'ENABLE', 'IDLE', 'GETACL', 'SETACL', 'DELETEACL', 'MYRIGHTS', 'LISTRIGHTS',
  'GETMETADATA', 'SETMETADATA',
])
const NOT_AUTHENTICATED = new Set(['LOGIN', 'AUTHENTICATE', 'STARTTLS'])
const ANY_STATE = new Set(['CAPABILITY', 'NOOP', 'LOGOUT', 'ID', 'COMPRESS', 'DONE'])

export function createImapDecoder(options: DecoderOptions = {}): Decoder {
  return new ImapDecoder(options)
}

class ImapDecoder implements Decoder {
  private readonly maxLineBytes: number
  private state: ImapState = 'not-authenticated'
  private expected: ImapState = 'not-authenticated'
  private readonly sides: Record<Side, SideState>
  private readonly pending = new PendingCommands()
  private nextRef = 1
  private at = 0
  private out: Decoded[] = []
  private caps = new Set<string>()
  private tls = false
  private greeted = false
  private noGreetingNoted = false
  private messageCount = 0
  private auth: { ex: SaslExchange; tag: string; ref: number; lastRef: number; lastAt: number } | undefined
  private idle: { tag: string; ref: number; at: number; continued: boolean } | undefined
  /** A client synchronizing literal waiting for '+'. */
  private awaitingLiteral: { tag: string; at: number } | undefined
  /** Client bytes after STARTTLS/COMPRESS are held until the server's verdict. */
  private hold: { kind: 'starttls' | 'compress'; tag: string } | undefined
  private clientHead = Buffer.alloc(0)

  constructor(private readonly options: DecoderOptions) {
    this.maxLineBytes = options.maxLineBytes ?? IMAP_MAX_LINE_BYTES
    this.sides = { client: this.newSide('client', 0), server: this.newSide('server', 0) }
  }

  feed(side: Side, bytes: Uint8Array, at: number): Decoded[] {
    this.out = []
    this.at = at
    const s = this.sides[side]
    if (bytes.length === 0 || s.ended) return this.out
    const wireStart = s.total
    s.total += bytes.length
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (s.opaque) {
      s.tail.add(wireStart, buf.length)
      return this.out
    }
    if (side === 'client' && this.clientHead.length < 2) {
      // RFC 8314: a TLS ClientHello (0x16 0x03) where plain IMAP was expected.
      this.clientHead = Buffer.concat([this.clientHead, buf.subarray(0, 2 - this.clientHead.length)])
      if (this.clientHead[0] === 0x16 && (this.clientHead.length < 2 || this.clientHead[1] === 0x03)) {
        if (this.clientHead.length === 2) {
          s.framer.drain()
          s.opaque = 'TLS on a plaintext port'
          s.tail.add(0, s.total)
          this.out.push(decoded('proxy', at, undefined, { notes: [N.tlsOnPlaintextPort()] }))
          return this.out
        }
      }
    }
    this.input(s, buf)
    this.pump(s)
    return this.out
  }

  end(side: Side, at: number): Decoded[] {
    this.out = []
    this.at = at
    const s = this.sides[side]
    if (s.ended) return this.out
    if (!s.opaque && s.deflate) {
      for (const plain of s.deflate.end()) s.framer.push(plain)
    }
    if (!s.opaque) {
      // A held client stream is decoded as it is: there will be no verdict.
      if (side === 'client') this.hold = undefined
      this.pump(s)
      const line = s.framer.flush()
      if (line) this.onLine(s, line)
    }
    s.ended = true
    this.out.push(...s.tail.flush(side, at, s.opaque ?? 'not decoded'))
    if (!this.greeted && !this.noGreetingNoted && (side === 'server' || this.sides.client.total > 0)) {
      this.noGreetingNoted = true
      this.out.push(decoded('proxy', at, undefined, { notes: [N.noGreeting()] }))
    }
    if (side === 'server' && this.pending.size > 0) {
      this.out.push(decoded('proxy', at, undefined, { notes: [N.unanswered(this.pending.tags())] }))
      this.pending.clear()
    }
    return this.out
  }

  upgraded(at: number): Decoded[] {
    this.out = []
    this.at = at
    // RFC 9051 §6.2.1: after TLS the client must forget what it knew, capabilities first.
    this.tls = true
    this.caps = new Set()
    this.hold = undefined
    this.awaitingLiteral = undefined
    for (const side of ['client', 'server'] as const) {
      const s = this.sides[side]
      this.out.push(...s.tail.flush(side, at, s.opaque ?? 'TLS handshake'))
      if (s.ended || s.deflate) continue
      this.sides[side] = this.newSide(side, s.total)
    }
    return this.out
  }

  // ---------------------------------------------------------------------------
  // Plumbing

  private newSide(side: Side, base: number): SideState {
    const s: SideState = {
      side,
      base,
      framer: undefined as unknown as ImapFramer,
      tail: new OpaqueTail(),
      total: base,
      ended: false,
      after: [],
      lineNotes: [],
    }
    s.framer = this.newFramer(s)
    return s
  }

  /** A framer whose literal callbacks report to this side. */
  private newFramer(s: SideState): ImapFramer {
    return new ImapFramer(
      {
        literalStart: (parts, lit) => this.literalStart(s, parts, lit),
        literalData: (lit, bytes) => this.literalData(s, lit, bytes),
        literalEnd: (lit, complete, received) => this.literalEnd(s, lit, complete, received),
      },
      { maxLineBytes: this.maxLineBytes },
    )
  }

  private input(s: SideState, buf: Buffer): void {
    if (!s.deflate) {
      s.framer.push(buf)
      return
    }
    for (const plain of s.deflate.push(buf)) s.framer.push(plain)
    if (s.deflate.failed) this.deflateFailed(s)
  }

  private deflateFailed(s: SideState): void {
    const d = s.deflate!
    s.opaque = 'COMPRESS=DEFLATE stream could not be inflated'
    const from = d.failedAt ?? d.wireEnd
    if (s.total > from) s.tail.add(from, s.total - from)
    this.out.push(decoded('proxy', this.at, undefined, { notes: [N.compressError(d.failed ?? '')] }))
  }

  private pump(s: SideState): void {
    for (;;) {
      if (s.opaque || s.ended) return
      if (s.side === 'client' && this.hold) {
        if (s.framer.lines.buffered <= HOLD_MAX_BYTES) return
        // No verdict after this much: not a STARTTLS/COMPRESS switch we can follow.
        this.hold = undefined
      }
      const line = s.framer.next()
      if (!line) return
      this.onLine(s, line)
    }
  }

  private raw(s: SideState, offset: number, length: number): RawRef {
    if (s.deflate) return { side: s.side, ...s.deflate.map(offset, offset + length) }
    return { side: s.side, offset: s.base + offset, length }
  }

  private emit(from: Decoded['from'], item: Item | undefined, extra: Parameters<typeof decoded>[3] = {}): void {
    // Only keys the explanation table has: a capability or code nobody described yet
    // would be a dangling key in the dashboard.
    if (item && 'explain' in item && item.explain) {
      const known = item.explain.filter((k) => KNOWN_EXPLAIN.has(k))
      if (known.length) item.explain = known
      else delete item.explain
    }
    this.out.push(decoded(from, this.at, item, extra))
  }

  private onLine(s: SideState, line: LogicalLine): void {
    const raw = this.raw(s, line.offset, line.length)
    const lineNotes = s.lineNotes
    s.lineNotes = []
    if (line.literalMismatch) lineNotes.push(N.literalMismatch())
    if (line.badLiteral) lineNotes.push(N.literalInvalid(line.badLiteral))
    if (line.cut) lineNotes.push(N.truncated())
    if (line.literalRefused) lineNotes.push(N.literalRefused())
    if (line.tooLong) {
      lineNotes.push(N.lineTooLong(line.length, this.maxLineBytes))
      this.emit(s.side, { kind: 'opaque', length: line.length, reason: 'line too long' }, { raw, notes: lineNotes })
    } else if (s.side === 'client') this.clientLine(line, raw, lineNotes)
    else this.serverLine(line, raw, lineNotes)
    if (s.after.length) {
      this.out.push(...s.after)
      s.after = []
    }
    if (s.deflate) s.deflate.forget(s.framer.pendingOffset)
  }

  // ---------------------------------------------------------------------------
  // Literals

  private literalStart(s: SideState, parts: LinePart[], lit: LiteralStart): LiteralMode {
    const first = typeof parts[0] === 'string' ? parts[0] : ''
    let source: MessageItem['source'] | undefined
    if (s.side === 'server') {
      // RFC 9051 §7.5.2: BODY[] (also the answer to BODY.PEEK[]), RFC822, BINARY[] are
      // whole messages; sections and partials (BODY[]<0>) are not.
      const last = parts[parts.length - 1]
      if (/^\*\s+\d+\s+FETCH\s/i.test(first) && typeof last === 'string' && /(?:^|[\s(])(?:BODY\[\]|RFC822|BINARY\[\])\s*$/i.test(last)) {
        source = 'imap-fetch'
      }
    } else {
      const m = /^(\S+)\s+(\S+)/.exec(first)
      if (m && m[2].toUpperCase() === 'APPEND') {
        // The mailbox comes first: any literal after it is a message (MULTIAPPEND may
        // send several); CATENATE TEXT parts are pieces, not messages.
        const afterVerb = first.slice(m[0].length).trim()
        const hasMailbox = parts.length > 1 || afterVerb.length > 0
        const last = parts[parts.length - 1]
        const catenate = typeof last === 'string' && /\bTEXT\s*$/i.test(last) && /\bCATENATE\b/i.test(renderLine(parts))
        if (hasMailbox && !catenate) source = 'imap-append'
      }
      if (!lit.nonSync) this.awaitingLiteral = { tag: m?.[1] ?? '', at: this.at }
      else if (!this.caps.has('LITERAL+')) {
        if (this.caps.has('LITERAL-')) {
          if (lit.size > 4096) s.lineNotes.push(N.literalMinusLimit(lit.size))
        } else if (this.caps.size > 0) s.lineNotes.push(N.literalPlusUnadvertised())
      }
    }
    if (!source) return 'collect'
    s.message = { lit: { literal: lit.size }, offset: lit.offset, source }
    return 'message'
  }

  private openMessage(s: SideState, lit: Literal): MessageWriter {
    const m = s.message!
    if (!m.writer) {
      const index = ++this.messageCount
      lit.message = index
      m.lit = lit
      // Under COMPRESS=DEFLATE the literal is not a run of the (compressed) capture.
      const wire: MessageWire | undefined = s.deflate ? undefined : { side: s.side, offset: s.base + m.offset, framing: 'raw', length: lit.literal }
      m.writer = this.options.messages ? this.options.messages.open(index, m.source, wire) : NOOP_WRITER
      // Announced once bytes flow: a refused synchronizing literal never starts.
      this.emit(s.side, { kind: 'body', protocol: 'imap', phase: 'start', what: 'literal', size: lit.literal })
    }
    return m.writer
  }

  private literalData(s: SideState, lit: Literal, bytes: Buffer): void {
    if (s.side === 'client') this.awaitingLiteral = undefined
    this.openMessage(s, lit).write(bytes)
  }

  private literalEnd(s: SideState, lit: Literal, complete: boolean, received: number): void {
    const writer = this.openMessage(s, lit)
    writer.close(complete)
    const m = s.message!
    s.message = undefined
    const item: MessageItem = { kind: 'message', protocol: 'imap', phase: 'received', index: lit.message!, source: m.source, size: received, complete }
    s.after.push(decoded(s.side, this.at, item, { raw: this.raw(s, m.offset, received) }))
  }

  // ---------------------------------------------------------------------------
  // Client

  private clientLine(line: LogicalLine, raw: RawRef, lineNotes: Note[]): void {
    const since = this.awaitingLiteral?.at
    this.awaitingLiteral = undefined
    const parts = line.parts
    const only = parts.length === 1 && typeof parts[0] === 'string' ? parts[0] : undefined
    if (this.auth && only !== undefined && !only.trim().includes(' ')) {
      this.authResponse(only, raw, lineNotes)
      return
    }
    if (this.idle && only !== undefined && only.trim().toUpperCase() === 'DONE') {
      // RFC 2177: DONE ends IDLE; the tagged completion of IDLE follows.
      const item: CommandItem = { kind: 'command', protocol: 'imap', verb: 'DONE', args: '', line: only, state: this.state, explain: ['imap.cmd.DONE'] }
      this.emit('client', item, { raw, notes: lineNotes, ref: this.nextRef++ })
      return
    }
    this.command(line, raw, lineNotes, line.literalRefused ? since : undefined)
  }

  /** `sentAt`: when the command's first part went out, for a command cut short by a refusal. */
  private command(line: LogicalLine, raw: RawRef, lineNotes: Note[], sentAt?: number): void {
    const cmd = parseCommand(line.parts)
    const ref = this.nextRef++
    const notes = lineNotes
    if (cmd.error) notes.push(N.malformed(`Malformed command: ${cmd.error}`))
    const base = cmd.verb.startsWith('UID ') ? cmd.verb.slice(4) : cmd.verb
    if (!this.greeted && this.sides.server.total === 0) notes.push(N.commandBeforeGreeting())
    if (cmd.tag && this.pending.has(cmd.tag)) notes.push(N.duplicateTag(cmd.tag))
    if (base && !SELECTED_ONLY.has(base) && !AUTHENTICATED.has(base) && !NOT_AUTHENTICATED.has(base) && !ANY_STATE.has(base) && !KNOWN_OTHER.has(base)) {
      notes.push(N.unknownCommand(cmd.verb))
    }
    this.checkSequence(cmd.verb, base, notes)
    let pipelined = false
    for (const p of this.pending.values()) if (p.verb !== 'IDLE') pipelined = true
    const secrets: Secret[] = [...cmd.secrets]
    const item: CommandItem = {
      kind: 'command',
      protocol: 'imap',
      verb: cmd.verb,
      args: cmd.args,
      line: cmd.line,
      tag: cmd.tag,
      state: this.state,
    }
    if (Object.keys(cmd.params).length) item.params = cmd.params
    if (pipelined) item.pipelined = true
    if (cmd.explain.length) item.explain = cmd.explain
    const extra: Decoded[] = []
    switch (base) {
      case 'LOGIN': {
        if (this.caps.has('LOGINDISABLED')) notes.push(N.loginDisabled())
        else if (!this.tls && this.caps.has('STARTTLS')) notes.push(authCleartextNote('imap', 'STARTTLS'))
        const user = typeof cmd.params.user === 'string' ? cmd.params.user : undefined
        const auth: AuthItem = { kind: 'auth', protocol: 'imap', mechanism: 'IMAP LOGIN', step: 'start', valid: user !== undefined, decoded: `user=${user ?? '?'} password=${MASK}` }
        if (user !== undefined) {
          auth.user = user
          this.loginUser.set(ref, user)
        }
        extra.push(decoded('client', this.at, auth, { raw, attemptRef: ref }))
        break
      }
      case 'AUTHENTICATE': {
        const mech = String(cmd.params.mechanism || 'UNKNOWN')
        const ex = new SaslExchange(mech)
        this.auth = { ex, tag: cmd.tag, ref, lastRef: ref, lastAt: this.at }
        if (!this.tls && this.caps.has('STARTTLS') && exposesSecret(ex.mechanism)) notes.push(authCleartextNote('imap', 'STARTTLS'))
        const ir = cmd.params.initialResponse ? asString(cmd.values[1]) : undefined
        if (ir !== undefined) {
          const step = ex.initial(ir)
          secrets.push(...step.secrets)
          extra.push(decoded('client', this.at, saslAuthItem('imap', ex, 'start', step), { raw, notes: step.notes, attemptRef: ref }))
        } else {
          extra.push(decoded('client', this.at, { kind: 'auth', protocol: 'imap', mechanism: ex.mechanism, step: 'start', valid: true }, { raw, attemptRef: ref }))
        }
        break
      }
      case 'LOGOUT':
        this.logoutSent = true
        break
      case 'IDLE':
        this.idle = { tag: cmd.tag, ref, at: this.at, continued: false }
        break
      case 'STARTTLS':
        this.hold = { kind: 'starttls', tag: cmd.tag }
        break
      case 'COMPRESS':
        this.hold = { kind: 'compress', tag: cmd.tag }
        break
      default:
    }
    if (cmd.tag && this.pending.size >= MAX_PENDING) {
      // A client that never reads its answers: forget the oldest, pairing is lost for it.
      this.pending.dropOldest()
    }
    this.expected = nextState(this.expected, cmd.verb, 'OK')
    if (cmd.tag) this.pending.add({ tag: cmd.tag, verb: cmd.verb, ref, at: sentAt ?? this.at, mechanism: cmd.params.mechanism as string | undefined })
    this.emit('client', item, { raw, notes, secrets, ref })
    this.out.push(...extra)
  }

  /** The state the client can count on once every pending command succeeds. */
  private expectedState(): ImapState {
    // Kept incrementally: recomputing over every pending command would make a long
    // unanswered pipeline quadratic.
    return this.expected
  }

  /** Re-derives `expected` after a completion (pending commands that change state are few). */
  private recomputeExpected(): void {
    let st = this.state
    for (const p of this.pending.values()) if (STATE_CHANGERS.has(p.verb)) st = nextState(st, p.verb, 'OK')
    this.expected = st
  }

  private checkSequence(verb: string, base: string, notes: Note[]): void {
    const st = this.expectedState()
    if (st === 'logout') return
    if ((SELECTED_ONLY.has(base) || verb.startsWith('UID ')) && st !== 'selected') notes.push(N.outOfSequence(verb, st, 'selected'))
    else if (AUTHENTICATED.has(base) && st === 'not-authenticated') notes.push(N.outOfSequence(verb, st, 'authenticated'))
    else if (NOT_AUTHENTICATED.has(base) && st !== 'not-authenticated') notes.push(N.outOfSequence(verb, st, 'not-authenticated'))
  }

  private authResponse(text: string, raw: RawRef, notes: Note[]): void {
    const a = this.auth!
    const step = a.ex.response(text)
    notes.push(...step.notes)
    const ref = this.nextRef++
    this.emit('client', saslAuthItem('imap', a.ex, 'response', step), { raw, notes, secrets: step.secrets, ref, attemptRef: a.ref })
    a.lastRef = ref
    a.lastAt = this.at
  }

  // ---------------------------------------------------------------------------
  // Server

  private serverLine(line: LogicalLine, raw: RawRef, notes: Note[]): void {
    const resp = parseResponse(line.parts)
    if (!this.greeted) {
      this.greeted = true
      if (resp.type === 'untagged' && (resp.name === 'OK' || resp.name === 'PREAUTH' || resp.name === 'BYE')) {
        this.greeting(resp, raw, notes)
        return
      }
      notes.push(N.malformed('The server did not start with a greeting (* OK, * PREAUTH or * BYE)'))
    }
    if (resp.type === 'continuation') this.continuation(resp.text, raw, notes)
    else if (resp.type === 'tagged' && !['OK', 'NO', 'BAD'].includes(resp.status)) {
      // Neither untagged, continuation nor a completion: not IMAP (or a note's ellipsis).
      notes.push(N.malformed(`Not an IMAP response: ${renderLine(line.parts).slice(0, 80)}`))
      this.emit('server', { kind: 'opaque', length: raw.length, reason: 'not an IMAP response' }, { raw, notes })
    } else if (resp.type === 'tagged') this.completion(resp, raw, notes)
    else this.untagged(resp, raw, notes)
  }

  private greeting(resp: Extract<ParsedResponse, { type: 'untagged' }>, raw: RawRef, notes: Note[]): void {
    if (resp.name === 'PREAUTH') this.state = this.expected = 'authenticated'
    if (resp.name === 'BYE') {
      this.state = this.expected = 'logout'
      notes.push(N.bye(resp.statusText ?? ''))
    }
    if (resp.code) this.applyCode(resp.code, resp.statusText ?? '', notes)
    const item = this.untaggedItem(resp)
    item.parsed = { greeting: true, ...item.parsed }
    item.explain = [`imap.greeting.${resp.name}`, ...(item.explain ?? []).filter((k) => k !== `imap.resp.${resp.name}`)]
    this.emit('server', item, { raw, notes })
  }

  private continuation(text: string, raw: RawRef, notes: Note[]): void {
    if (this.awaitingLiteral) {
      // RFC 9051 §4.3: '+' tells the client to send its synchronizing literal.
      this.awaitingLiteral = undefined
      this.emit('server', { kind: 'continuation', protocol: 'imap', text, explain: ['imap.cont.literal'] }, { raw, notes })
      return
    }
    if (this.auth) {
      const a = this.auth
      const step = a.ex.challenge(text)
      notes.push(...step.notes)
      this.emit('server', saslAuthItem('imap', a.ex, 'challenge', step), { raw, notes, attemptRef: a.ref, replyToRef: a.lastRef })
      return
    }
    if (this.idle && !this.idle.continued) {
      this.idle.continued = true
      this.emit(
        'server',
        { kind: 'continuation', protocol: 'imap', text, latencyMs: this.at - this.idle.at, explain: ['imap.cont.idle'] },
        { raw, notes, replyToRef: this.idle.ref },
      )
      return
    }
    const item: Item = { kind: 'continuation', protocol: 'imap', text, explain: ['imap.cont.other'] }
    const bytes = decodeBase64(text)
    const shown = bytes && bytes.length ? printable(bytes) : null
    if (shown !== null) item.decoded = shown
    this.emit('server', item, { raw, notes })
  }

  private completion(resp: Extract<ParsedResponse, { type: 'tagged' }>, raw: RawRef, notes: Note[]): void {
    // A refused synchronizing literal: the client never sends it, its command ends here.
    if (this.awaitingLiteral && this.awaitingLiteral.tag === resp.tag) {
      // clientLine clears awaitingLiteral (and takes its time for the latency).
      const cut = this.sides.client.framer.abortLiteral()
      if (cut) this.onLine(this.sides.client, cut)
      else this.awaitingLiteral = undefined
    }
    // A reused tag pairs with its oldest pending command (imap-pending.ts).
    const p = this.pending.take(resp.tag)
    if (resp.error) notes.push(N.malformed(`Malformed completion: ${resp.error}`))
    if (!p) notes.push(N.unknownTag(resp.tag))
    const status = resp.status
    const codeName = resp.code?.name
    const before = this.state
    if (p) this.state = nextState(this.state, p.verb, status)
    if (p && (STATE_CHANGERS.has(p.verb) || this.pending.size === 0)) this.recomputeExpected()
    const item: ReplyItem = {
      kind: 'reply',
      protocol: 'imap',
      code: status,
      status: status === 'OK' ? 'ok' : codeName === 'UNAVAILABLE' || codeName === 'INUSE' ? 'temp-error' : 'error',
      lines: [resp.text],
      tag: resp.tag,
      state: this.state,
    }
    if (codeName) item.responseCode = codeName
    if (p) item.latencyMs = this.at - p.at
    const explain = [`imap.status.${status}`]
    if (resp.code) {
      explain.push(`imap.code.${resp.code.name}`)
      this.applyCode(resp.code, resp.text, notes)
      if (resp.code.name === 'CAPABILITY') item.capabilities = groupCapabilities(capAtoms(resp.code))
    }
    if (this.state !== before) explain.push(`imap.state.${this.state}`)
    item.explain = explain
    if (status !== 'OK') notes.push(completionNote(p?.verb ?? '', status, codeName, resp.text))
    const extra: Decoded[] = []
    const base = p?.verb.startsWith('UID ') ? p.verb.slice(4) : p?.verb
    if (p && (base === 'LOGIN' || base === 'AUTHENTICATE')) {
      const a = this.auth && this.auth.tag === p.tag ? this.auth : undefined
      const auth: AuthItem = {
        kind: 'auth',
        protocol: 'imap',
        mechanism: a ? a.ex.mechanism : base === 'LOGIN' ? 'IMAP LOGIN' : (p.mechanism ?? 'UNKNOWN'),
        step: 'outcome',
        valid: true,
        outcome: status === 'OK' ? 'success' : 'failure',
      }
      const user = a?.ex.user ?? this.loginUser.get(p.ref)
      if (user !== undefined) auth.user = user
      this.loginUser.delete(p.ref)
      extra.push(decoded('server', this.at, auth, { raw, attemptRef: p.ref }))
      if (a) this.auth = undefined
    }
    if (p && this.idle?.tag === p.tag) this.idle = undefined
    this.emit('server', item, { raw, notes, replyToRef: p?.ref })
    this.out.push(...extra)
    if (p && base === 'STARTTLS') this.startTlsVerdict(status === 'OK', p.ref)
    if (p && base === 'COMPRESS') this.compressVerdict(status === 'OK')
  }

  private readonly loginUser = new Map<number, string>()
  /** The client sent LOGOUT: a BYE from now on is the expected answer. */
  private logoutSent = false

  private untagged(resp: Extract<ParsedResponse, { type: 'untagged' }>, raw: RawRef, notes: Note[]): void {
    if (resp.error) notes.push(N.malformed(`Malformed response: ${resp.error}`))
    if (resp.name === 'CAPABILITY') this.setCaps((resp.parsed.capabilities as string[]) ?? [])
    if (resp.name === 'BYE') {
      // RFC 9051 6.1.3: LOGOUT is answered by BYE, then the tagged OK. The client asked for
      // it (whatever became of the LOGOUT's tag), so it is no finding.
      if (!this.logoutSent) notes.push(N.bye(resp.statusText ?? ''))
      this.state = this.expected = 'logout'
    }
    if ((resp.name === 'NO' || resp.name === 'BAD') && !resp.code) notes.push(N.untaggedStatus(resp.name, resp.statusText ?? ''))
    if (resp.code) this.applyCode(resp.code, resp.statusText ?? '', notes)
    const item = this.untaggedItem(resp)
    if (resp.name === 'BYE' && this.logoutSent) item.explain!.push('imap.bye.logout')
    this.emit('server', item, { raw, notes })
  }

  private untaggedItem(resp: Extract<ParsedResponse, { type: 'untagged' }>): UntaggedItem {
    const item: UntaggedItem = { kind: 'untagged', protocol: 'imap', name: resp.name, text: resp.text, parsed: resp.parsed }
    if (resp.number !== undefined) item.number = resp.number
    const explain = [`imap.resp.${resp.name}`]
    if (resp.code) {
      explain.push(`imap.code.${resp.code.name}`)
      if (resp.code.name === 'CAPABILITY') {
        const atoms = capAtoms(resp.code)
        item.parsed = { ...item.parsed, capabilities: groupCapabilities(atoms) }
        for (const c of groupCapabilities(atoms)) explain.push(`imap.cap.${c.name.toUpperCase()}`)
      }
      if (resp.code.name === 'PERMANENTFLAGS') addFlagKeys(explain, codeDetail(resp.code).PERMANENTFLAGS as string[])
    }
    if (resp.name === 'CAPABILITY') {
      const atoms = (resp.parsed.capabilities as string[]) ?? []
      for (const c of groupCapabilities(atoms)) explain.push(`imap.cap.${c.name.toUpperCase()}`)
    }
    if (resp.name === 'FLAGS') addFlagKeys(explain, resp.parsed.flags as string[])
    if (resp.name === 'FETCH' && Array.isArray(resp.parsed.FLAGS)) addFlagKeys(explain, resp.parsed.FLAGS as string[])
    item.explain = explain
    return item
  }

  /** Response codes that change what the decoder knows. */
  private applyCode(code: ResponseCode, text: string, notes: Note[]): void {
    if (code.name === 'CAPABILITY') this.setCaps(capAtoms(code))
    if (code.name === 'ALERT') notes.push(N.alert(text))
  }

  private setCaps(atoms: string[]): void {
    this.caps = new Set(atoms.map((a) => a.toUpperCase()))
  }

  private startTlsVerdict(ok: boolean, ref: number): void {
    const client = this.sides.client
    const server = this.sides.server
    const held = this.hold?.kind === 'starttls'
    if (held) this.hold = undefined
    if (!ok) {
      this.pump(client)
      return
    }
    this.emit('server', { kind: 'tls', phase: 'go-ahead' }, { replyToRef: ref })
    // Whatever the client sent after STARTTLS in plaintext must never be executed.
    if (!client.opaque && !client.ended) {
      const rest = client.framer.drain()
      if (rest && rest.bytes.length > 0) {
        this.emit(
          'client',
          { kind: 'opaque', length: rest.bytes.length, reason: 'plaintext after STARTTLS' },
          { raw: this.raw(client, rest.offset, rest.bytes.length), notes: [N.starttlsInjection(rest.bytes.length)] },
        )
      }
      client.opaque = 'TLS handshake'
    }
    if (!server.opaque && !server.ended) {
      // A server (or a man in the middle) sending plaintext after its OK: response injection.
      const rest = server.framer.drain()
      if (rest && rest.bytes.length > 0) {
        this.emit(
          'server',
          { kind: 'opaque', length: rest.bytes.length, reason: 'plaintext after the STARTTLS go-ahead' },
          { raw: this.raw(server, rest.offset, rest.bytes.length), notes: [N.starttlsInjection(rest.bytes.length)] },
        )
      }
      server.opaque = 'TLS handshake'
    }
  }

  private compressVerdict(ok: boolean): void {
    const client = this.sides.client
    const held = this.hold?.kind === 'compress'
    if (held) this.hold = undefined
    if (ok) {
      // RFC 4978 §3: compression starts right after the tagged OK in both directions.
      this.startDeflate(this.sides.server)
      this.startDeflate(client)
    }
    this.pump(client)
  }

  private startDeflate(s: SideState): void {
    if (s.opaque || s.ended || s.deflate) return
    const rest = s.framer.drain()
    const wireStart = s.base + (rest ? rest.offset : s.framer.lines.offset)
    s.framer = this.newFramer(s)
    s.base = 0
    s.deflate = new DeflateReader(wireStart)
    if (rest && rest.bytes.length) this.input(s, rest.bytes)
  }
}

/** Unanswered commands remembered for pairing; a client past this never reads replies. */
const MAX_PENDING = 10_000
/** Commands whose success changes the state (RFC 9051 §3). */
const STATE_CHANGERS = new Set(['LOGIN', 'AUTHENTICATE', 'SELECT', 'EXAMINE', 'CLOSE', 'UNSELECT', 'LOGOUT'])

/** Commands that are valid in several states and need no sequence check. */
const KNOWN_OTHER = new Set(['SETQUOTA', 'SORT', 'THREAD', 'ESEARCH', 'XLIST', 'GETMETADATA', 'SETMETADATA', 'UNAUTHENTICATE', 'REPLACE', 'URLFETCH'])

function capAtoms(code: ResponseCode): string[] {
  return code.args.map((x) => (typeof x === 'string' ? x : '')).filter(Boolean)
}

function addFlagKeys(explain: string[], flags: string[] | undefined): void {
  for (const f of flags ?? []) {
    const k = flagKey(f)
    if (k && !explain.includes(k)) explain.push(k)
  }
}

/** RFC 9051 §3 state transitions on a completion. */
function nextState(st: ImapState, verb: string, status: string): ImapState {
  const base = verb.startsWith('UID ') ? verb.slice(4) : verb
  if (st === 'logout') return st
  if (status === 'OK') {
    switch (base) {
      case 'LOGIN':
      case 'AUTHENTICATE':
        return 'authenticated'
      case 'SELECT':
      case 'EXAMINE':
        return 'selected'
      case 'CLOSE':
      case 'UNSELECT':
        return 'authenticated'
      case 'LOGOUT':
        return 'logout'
      default:
        return st
    }
  }
  // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
  if ((base === 'SELECT' || base === 'EXAMINE') && st === 'selected' && status === 'NO') return 'authenticated'
  return st
}
