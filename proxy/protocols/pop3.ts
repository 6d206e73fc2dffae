// The POP3 decoder (RFC 1939, 2449, 2595, 5034): sans-IO and streaming. Responses pair
// with commands through a FIFO (which is how POP3 PIPELINING works); whether a +OK is
// multi-line is decided from the command it answers. RETR/TOP bodies stream to the
// MessageSink with dot-stuffing undone; listings (LIST, UIDL, CAPA) become one reply.
// A capture without the greeting (the client speaks first) pairs from the first command.
//
// Refs as in smtp.ts: `ref` is a counter local to this decoder; replies carry
// `replyToRef`, auth steps `attemptRef`.
import type {
  AuthItem,
  CommandItem,
  ContinuationItem,
  Decoded,
  Decoder,
  DecoderOptions,
  MessageWriter,
  Note,
  RawRef,
  ReplyItem,
  Secret,
  Side,
} from '../../shared/schema.ts'
import { decoded, lineTooLongNote, mkNote, rawOf, rawSpan } from './common.ts'
import { LineDecoder } from './line-decoder.ts'
import { LineLengthCheck, type Line } from './lines.ts'
import {
  AUTHORIZATION_VERBS,
  multilineKind,
  parsePop3Capabilities,
  parsePop3Command,
  parseStatusLine,
  pop3ErrorNote,
  POP3_VERBS,
  TRANSACTION_VERBS,
  type Pop3Command,
  type StatusLine,
} from './pop3-grammar.ts'
import { authCleartextNote, decodeBase64, exposesSecret, MASK, maskIn, SaslExchange, saslAuthItem } from './sasl.ts'

/** RFC 2449 4: commands up to 255 octets, responses up to 512, CRLF included. */
const COMMAND_LINE_LIMIT = 255
const RESPONSE_LINE_LIMIT = 512
/** RFC 5034 4: AUTH initial responses and SASL lines may be longer. */
const AUTH_LINE_LIMIT = 12288
const MAX_LISTING_LINES = 1000
const MAX_HELD_BYTES = 64 * 1024
/** Commands awaiting a reply that we remember; a server that never answers can't grow it further. */
const MAX_PENDING = 50_000
/** RFC 5322 2.1.1: message lines at most 998 characters plus CRLF. RFC 1939 sets no cap. */
const TEXT_LINE_LIMIT = 1000

/** RFC 1939 states; printable in logs and on every command and reply. */
export type Pop3State = 'authorization' | 'transaction' | 'update'

type ClientMode = 'command' | 'auth' | 'stls-wait' | 'tls-handshake' | 'opaque'

interface Pending {
  ref: number
  at: number
  cmd: Pop3Command
  attempt?: number
  /** Sent while earlier commands were unanswered: its sequence is judged when its reply comes. */
  judgeLater?: boolean
}

const NOOP_WRITER: MessageWriter = { write() {}, close() {} }

export function createPop3Decoder(options: DecoderOptions = {}): Decoder {
  return new Pop3Decoder(options)
}

export class Pop3Decoder extends LineDecoder {
  state: Pop3State = 'authorization'
  private clientMode: ClientMode = 'command'
  private greeted = false
  private nextRef = 1
  private readonly pending: Pending[] = []
  private caps = new Map<string, string[]>()
  /** The APOP timestamp of the greeting (RFC 1939 7). */
  private apopBanner: string | undefined
  /** The name given by USER, waiting for PASS. */
  private userName: string | undefined
  private userRef = 0
  /** `owed`: server challenges ('+ ') the client has not answered yet. */
  private auth: { ex: SaslExchange; ref: number; owed: number } | undefined
  /** A multi-line response in progress. */
  private multi:
    | { kind: 'lines'; cmd: Pending; status: StatusLine; statusLine: Line; statusAt: number; lines: string[]; dropped: number; last: Line | undefined; notes: Note[] }
    | { kind: 'message'; cmd: Pending; index: number; writer: MessageWriter; size: number; start: number; source: 'pop3-retr' | 'pop3-top'; octets?: number; lineCheck: LineLengthCheck }
    | undefined
  private messageCount = 0

  protected endClient(at: number, out: Decoded[]): void {
    const f = this.framers.client
    if (this.clientMode === 'command' || this.clientMode === 'auth') {
      const line = f.flush()
      if (line) {
        out.push(
          decoded('client', at, { kind: 'opaque', length: line.length, reason: 'unterminated-line' }, {
            raw: rawOf('client', line),
            notes: [mkNote('warn', 'POP3_UNTERMINATED_LINE', `The client closed the connection after an unterminated line: ${JSON.stringify(line.text.slice(0, 80))}`, undefined, 'RFC 1939 §3')],
          }),
        )
      }
    } else {
      const run = f.drain()
      if (run) this.toOpaque('client', run.offset, run.bytes.length, this.clientMode === 'stls-wait' ? 'unanswered' : 'tls-handshake', run.bytes)
    }
    this.flushOpaque('client', at, out)
  }

  protected resetAfterTls(): void {
    // RFC 2595 4: after STLS the client must discard what it knew (CAPA again).
    this.caps = new Map()
    this.clientMode = 'command'
    this.pending.length = 0
    this.auth = undefined
    this.multi = undefined
    this.state = 'authorization'
  }

  // ---------------------------------------------------------------------------
  // Client side

  protected runClient(at: number, out: Decoded[]): void {
    const f = this.framers.client
    for (;;) {
      switch (this.clientMode) {
        case 'opaque':
          this.drainClientOpaque()
          return
        case 'stls-wait':
          if (f.buffered > MAX_HELD_BYTES) {
            const run = f.drain()!
            this.toOpaque('client', run.offset, run.bytes.length, 'held-too-long')
          }
          return
        case 'tls-handshake':
          this.drainClientHandshake()
          return
        case 'command':
        case 'auth': {
          const tls = this.clientStartsWithTls()
          if (tls === undefined) return
          if (tls) {
            this.goOpaque(at, out)
            continue
          }
          const line = f.readLine()
          if (!line) return
          if (this.clientMode === 'auth' && !this.leavesAuth(line)) this.onAuthResponse(line, at, out)
          else this.onCommand(line, at, out)
          continue
        }
      }
    }
  }

  private goOpaque(at: number, out: Decoded[]): void {
    this.clientMode = 'opaque'
    this.goOpaqueBoth(
      at,
      out,
      mkNote('error', 'TLS_ON_PLAINTEXT_PORT', 'The client started a TLS handshake on a plaintext POP3 port', 'The client expects implicit TLS (port 995): use a pop3s:// listener, or set the client to STLS or no encryption.', 'RFC 8314 §3'),
    )
  }

  private onCommand(line: Line, at: number, out: Decoded[]): void {
    const raw = rawOf('client', line)
    if (line.tooLong) {
      out.push(
        decoded('client', at, { kind: 'opaque', length: line.length, reason: 'line-too-long' }, {
          raw,
          notes: [mkNote('error', 'POP3_LINE_TOO_LONG', `A client line of ${line.contentLength} bytes was not decoded`, 'Treated as opaque up to the next line end.', 'RFC 2449 §4')],
        }),
      )
      return
    }
    const cmd = parsePop3Command(line.text)
    const ref = this.nextRef++
    const notes: Note[] = []
    const shownVerb = !cmd.verb ? '(empty)' : /^[\x21-\x7e]+$/.test(cmd.verb) ? cmd.verb : '(binary)'
    const item: CommandItem = { kind: 'command', protocol: 'pop3', verb: shownVerb, args: cmd.rest, line: line.text, state: this.state }
    if (this.pending.length > 0) item.pipelined = true
    if (POP3_VERBS.has(cmd.verb)) item.explain = [`pop3.cmd.${cmd.verb}`, `pop3.state.${this.state}`]
    else {
      notes.push(mkNote('info', 'POP3_UNKNOWN_COMMAND', `${(cmd.verb || '(empty)').slice(0, 40)} is not a known POP3 command`, 'The server will probably answer -ERR.', 'RFC 1939 §3'))
      if (/[^\x20-\x7e\t]/.test(line.text)) notes.push(mkNote('warn', 'POP3_MALFORMED_COMMAND', 'The command line holds non-printable or non-ASCII bytes', 'Binary or wrong-protocol data on a POP3 port.', 'RFC 1939 §3'))
    }
    if (line.eol === '\n') notes.push(mkNote('info', 'POP3_BARE_LF', 'The command line ended with a bare LF instead of CRLF', 'Most servers accept it; strict ones do not.', 'RFC 1939 §3'))
    const limit = cmd.verb === 'AUTH' ? AUTH_LINE_LIMIT : COMMAND_LINE_LIMIT
    if (line.length > limit) notes.push(lineTooLongNote('POP3_LINE_TOO_LONG', line, limit, 'The command line', 'RFC 2449 §4'))
    if (item.pipelined && this.greeted && this.caps.size > 0 && !this.caps.has('PIPELINING')) {
      notes.push(mkNote('warn', 'POP3_PIPELINING_NOT_OFFERED', `${cmd.verb} was sent before the previous response, but the server did not announce PIPELINING`, undefined, 'RFC 2449 §6.6'))
    }
    // Pipelined behind USER/PASS, LIST runs in the state those replies leave: judge it then.
    const judgeLater = this.pending.length > 0
    if (!judgeLater) this.checkSequence(cmd, notes)
    const params = commandParams(cmd)
    if (params) item.params = params
    let secrets: Secret[] | undefined
    const extra: Decoded[] = []
    switch (cmd.verb) {
      case 'USER': {
        this.userName = cmd.rest
        this.userRef = ref
        this.noteCleartext(notes)
        extra.push(decoded('client', at, { kind: 'auth', protocol: 'pop3', mechanism: 'USER/PASS', step: 'start', user: cmd.rest, valid: true }, { raw, attemptRef: ref }))
        break
      }
      case 'PASS': {
        // RFC 1939 7: the password is the rest of the line, spaces included.
        secrets = [{ kind: 'password', value: cmd.rest }]
        item.args = MASK
        item.line = `${line.text.slice(0, line.text.length - cmd.rest.length)}${MASK}`
        if (this.userName === undefined) notes.push(mkNote('warn', 'POP3_OUT_OF_SEQUENCE', 'PASS without a preceding USER', 'Send USER first.', 'RFC 1939 §7'))
        const a: AuthItem = { kind: 'auth', protocol: 'pop3', mechanism: 'USER/PASS', step: 'response', decoded: `password=${MASK}`, valid: true }
        if (this.userName !== undefined) a.user = this.userName
        extra.push(decoded('client', at, a, { raw, attemptRef: this.userName !== undefined ? this.userRef : ref }))
        break
      }
      case 'APOP': {
        const [name, digest] = cmd.args
        secrets = digest ? [{ kind: 'digest', value: digest }] : undefined
        if (digest) {
          item.args = `${name} ${MASK}`
          item.line = `${line.text.slice(0, line.text.lastIndexOf(digest))}${MASK}`
        }
        if (!this.apopBanner) notes.push(mkNote('warn', 'POP3_APOP_NO_TIMESTAMP', 'APOP, but the greeting had no <timestamp> to digest', 'The server cannot check the digest; it will refuse.', 'RFC 1939 §7'))
        const a: AuthItem = { kind: 'auth', protocol: 'pop3', mechanism: 'APOP', step: 'start', decoded: `user=${name ?? '?'} digest=${MASK}`, valid: !!digest }
        if (name) a.user = name
        extra.push(decoded('client', at, a, { raw, attemptRef: ref }))
        break
      }
      case 'AUTH': {
        if (cmd.args.length === 0) break // lists the mechanisms (multi-line)
        const ex = new SaslExchange(cmd.args[0])
        this.auth = { ex, ref, owed: 0 }
        this.clientMode = 'auth'
        if (exposesSecret(ex.mechanism)) this.noteCleartext(notes)
        const ir = cmd.args[1]
        if (ir !== undefined) {
          const step = ex.initial(ir)
          if (step.secrets.length) {
            secrets = step.secrets
            item.args = `${cmd.args[0]} ${MASK}`
            item.line = maskIn(line.text, ir)
          }
          extra.push(decoded('client', at, saslAuthItem('pop3', ex, 'start', step), { raw, notes: step.notes, attemptRef: ref }))
        } else {
          extra.push(decoded('client', at, { kind: 'auth', protocol: 'pop3', mechanism: ex.mechanism, step: 'start', valid: true }, { raw, attemptRef: ref }))
        }
        break
      }
      case 'STLS':
        this.clientMode = 'stls-wait'
        break
    }
    // The cleartext note belongs on the event that carries the credentials' intent.
    if (this.pending.length >= MAX_PENDING) this.dropOldestPending(notes)
    this.pending.push(judgeLater ? { ref, at, cmd, judgeLater } : { ref, at, cmd })
    out.push(decoded('client', at, item, { raw, notes, secrets, ref }))
    out.push(...extra)
  }

  private checkSequence(cmd: Pop3Command, notes: Note[]): void {
    if (this.state === 'authorization' && TRANSACTION_VERBS.has(cmd.verb)) {
      notes.push(mkNote('warn', 'POP3_OUT_OF_SEQUENCE', `${cmd.verb} before logging in (AUTHORIZATION state)`, 'Log in first with USER/PASS, APOP or AUTH; the server answers -ERR.', 'RFC 1939 §4'))
    } else if (this.state === 'transaction' && AUTHORIZATION_VERBS.has(cmd.verb)) {
      notes.push(mkNote('warn', 'POP3_OUT_OF_SEQUENCE', `${cmd.verb} after logging in (TRANSACTION state)`, 'Only valid in the AUTHORIZATION state; the server answers -ERR.', 'RFC 1939 §5'))
    }
  }

  /**
   * Whether a client line in an AUTH exchange is the client's next command rather than a
   * SASL answer: no '+ ' challenge is owed and either the mechanism has all its answers
   * or the line is no base64 but a known command (as in smtp.ts: the capture lacks the
   * server's replies, or the client pipelined). The server's verdict still pairs in order.
   */
  private leavesAuth(line: Line): boolean {
    const a = this.auth
    if (!a || a.owed > 0 || line.tooLong) return false
    const text = line.text.trim()
    if (text === '*') return false
    if (!a.ex.clientDone && (decodeBase64(text) !== null || !POP3_VERBS.has(parsePop3Command(text).verb))) return false
    this.clientMode = 'command'
    return true
  }

  private onAuthResponse(line: Line, at: number, out: Decoded[]): void {
    const a = this.auth!
    if (a.owed > 0) a.owed--
    const ref = this.nextRef++
    const raw = rawOf('client', line)
    if (line.tooLong) {
      out.push(decoded('client', at, { kind: 'auth', protocol: 'pop3', mechanism: a.ex.mechanism, step: 'response', valid: false, decoded: MASK }, { raw, ref, attemptRef: a.ref, notes: [mkNote('error', 'POP3_LINE_TOO_LONG', `An AUTH response of ${line.contentLength} bytes was not decoded`, undefined, 'RFC 5034 §4')] }))
    } else {
      const step = a.ex.response(line.text)
      out.push(decoded('client', at, saslAuthItem('pop3', a.ex, 'response', step), { raw, notes: step.notes, secrets: step.secrets, ref, attemptRef: a.ref }))
    }
    this.pending.push({ ref, at, cmd: { verb: 'AUTH', args: [], rest: '' }, attempt: a.ref })
  }

  // ---------------------------------------------------------------------------
  // Server side

  protected runServer(at: number, out: Decoded[]): void {
    const f = this.framers.server
    for (;;) {
      if (this.serverOpaque) {
        this.drainServerOpaque()
        return
      }
      const m = this.multi
      if (m?.kind === 'message') {
        const piece = f.readDotBody()
        if (!piece) return
        for (const p of piece.parts) {
          if (p.length === 0) continue
          m.size += p.length
          m.writer.write(p)
          m.lineCheck.scan(p)
        }
        if (piece.done) this.finishMessage(at, piece.offset + piece.length, true, out)
        continue
      }
      const line = f.readLine()
      if (!line) return
      if (m?.kind === 'lines') this.onListingLine(line, at, out)
      else this.onResponseLine(line, at, out)
    }
  }

  private onListingLine(line: Line, at: number, out: Decoded[]): void {
    const m = this.multi as Extract<NonNullable<Pop3Decoder['multi']>, { kind: 'lines' }>
    m.last = line
    if (!line.tooLong && line.text === '.') {
      this.multi = undefined
      this.emitListing(m, at, out)
      return
    }
    // RFC 1939 3: a leading dot on a listing line is stuffing.
    const text = line.tooLong ? `${line.text}…` : line.text.startsWith('.') ? line.text.slice(1) : line.text
    if (m.lines.length < MAX_LISTING_LINES) m.lines.push(text)
    else m.dropped++
  }

  private emitListing(m: Extract<NonNullable<Pop3Decoder['multi']>, { kind: 'lines' }>, at: number, out: Decoded[], cut = false): void {
    const verb = m.cmd.cmd.verb
    const item = this.replyItem(m.status, m.cmd, m.statusAt)
    item.lines = [m.status.text, ...m.lines]
    const notes = m.notes
    if (m.dropped) notes.push(mkNote('info', 'POP3_LISTING_TRUNCATED', `${m.dropped} more listing lines were not kept`))
    if (cut) notes.push(mkNote('warn', 'POP3_RESPONSE_CUT', 'The multi-line response ended without its "." line', undefined, 'RFC 1939 §3'))
    if (verb === 'CAPA') {
      const caps = parsePop3Capabilities(m.lines)
      item.capabilities = caps
      this.caps = new Map(caps.map((c) => [c.name, c.params]))
      for (const c of caps) item.explain!.push(`pop3.cap.${c.name}`)
    }
    const raw = rawSpan('server', m.statusLine, m.last ?? m.statusLine)
    out.push(decoded('server', at, item, { raw, notes, replyToRef: m.cmd.ref }))
  }

  private finishMessage(at: number, end: number, complete: boolean, out: Decoded[]): void {
    const m = this.multi as Extract<NonNullable<Pop3Decoder['multi']>, { kind: 'message' }>
    this.multi = undefined
    m.writer.close(complete)
    const notes = complete ? [] : [mkNote('error', 'POP3_BODY_CUT', `The connection closed in the middle of a message (${m.size} bytes received)`, undefined, 'RFC 1939 §3')]
    // RFC 1939 5: '+OK 120 octets' for RETR is the size of the message as it is sent.
    if (complete && m.octets !== undefined && m.octets !== m.size) {
      notes.push(mkNote('info', 'POP3_SIZE_MISMATCH', `The server announced ${m.octets} octets but sent ${m.size}`, 'Harmless for most clients; some use the count to show progress or to check the download.', 'RFC 1939 §5'))
    }
    // POP3 carries any line length (RFC 1939), but the message itself breaks RFC 5322.
    if (m.lineCheck.tooLong) {
      notes.push(mkNote('info', 'POP3_MESSAGE_LINE_TOO_LONG', `A line of the message is over ${TEXT_LINE_LIMIT} bytes`, 'POP3 carries it, but the message breaks the 998-character line limit: some clients cut or wrap it; long lines need quoted-printable or base64.', 'RFC 5322 §2.1.1'))
    }
    out.push(decoded('server', at, { kind: 'body', protocol: 'pop3', phase: 'end', what: 'multiline', size: m.size }, { raw: { side: 'server', offset: m.start, length: end - m.start }, notes }))
    out.push(decoded('server', at, { kind: 'message', protocol: 'pop3', phase: 'received', index: m.index, source: m.source, size: m.size, complete }))
  }

  private replyItem(status: StatusLine, cmd: Pending | undefined, at: number): ReplyItem {
    const item: ReplyItem = {
      kind: 'reply',
      protocol: 'pop3',
      code: status.ok ? '+OK' : '-ERR',
      status: status.ok ? 'ok' : 'error',
      lines: [status.text],
      state: this.state,
      explain: [status.ok ? 'pop3.code.+OK' : 'pop3.code.-ERR'],
    }
    if (status.responseCode) {
      item.responseCode = status.responseCode
      item.explain!.push(`pop3.resp.${status.responseCode}`)
    }
    if (cmd) item.latencyMs = Math.round((at - cmd.at) * 1000) / 1000
    return item
  }

  private onResponseLine(line: Line, at: number, out: Decoded[]): void {
    const raw = rawOf('server', line)
    if (line.tooLong) {
      out.push(decoded('server', at, { kind: 'opaque', length: line.length, reason: 'line-too-long' }, { raw, notes: [mkNote('error', 'POP3_LINE_TOO_LONG', `A server line of ${line.contentLength} bytes was not decoded`, undefined, 'RFC 2449 §4')] }))
      return
    }
    const notes: Note[] = []
    if (line.length > RESPONSE_LINE_LIMIT) notes.push(lineTooLongNote('POP3_LINE_TOO_LONG', line, RESPONSE_LINE_LIMIT, 'A response line', 'RFC 2449 §4'))

    // RFC 5034 4: during AUTH, '+ base64' is a server challenge.
    if (this.auth && (line.text === '+' || line.text.startsWith('+ '))) {
      const cmd = this.pending.shift()
      const text = line.text.slice(2)
      const step = this.auth.ex.challenge(text)
      this.auth.owed++
      const cont: ContinuationItem = { kind: 'continuation', protocol: 'pop3', text, explain: ['pop3.cont.sasl'] }
      if (step.decoded !== undefined) cont.decoded = step.decoded
      if (cmd) cont.latencyMs = Math.round((at - cmd.at) * 1000) / 1000
      out.push(decoded('server', at, cont, { raw, notes: [...notes, ...step.notes], replyToRef: cmd?.ref, attemptRef: this.auth.ref }))
      return
    }

    const status = parseStatusLine(line.text)
    if (!status) {
      out.push(
        decoded('server', at, { kind: 'untagged', protocol: 'pop3', name: 'MALFORMED', text: line.text }, {
          raw,
          notes: [...notes, mkNote('warn', 'POP3_MALFORMED_RESPONSE', 'A server line that is neither +OK nor -ERR', 'The server may not speak POP3 on this port, or a multi-line response was not expected.', 'RFC 1939 §3')],
        }),
      )
      return
    }

    // The server speaks first (RFC 1939 4). A client command before any server line means
    // the capture lacks the greeting, and this line answers that command; unless it holds
    // an APOP timestamp, which only a greeting carries.
    const ts = /<[^<>]*@[^<>]*>/.exec(status.text)
    if (!this.greeted && this.pending.length > 0 && !ts) {
      this.greeted = true
      notes.push(mkNote('info', 'POP3_NO_GREETING', `The capture starts without the server's greeting: this ${status.ok ? '+OK' : '-ERR'} answers the first command`, 'The transcript or capture left the greeting out; pairing starts with the first command.', 'RFC 1939 §4'))
    }
    if (!this.greeted) {
      this.greeted = true
      const item = this.replyItem(status, undefined, at)
      if (ts) {
        this.apopBanner = ts[0]
        item.explain!.push('pop3.apop-timestamp')
      }
      if (!status.ok) notes.push(pop3ErrorNote(status, undefined))
      out.push(decoded('server', at, item, { raw, notes }))
      return
    }

    const cmd = this.pending.shift()
    if (!cmd) {
      const item = this.replyItem(status, undefined, at)
      notes.push(mkNote('warn', 'POP3_UNSOLICITED_RESPONSE', 'A response that answers no command', 'The server sent more responses than commands, or the capture started mid-session.', 'RFC 1939 §3'))
      out.push(decoded('server', at, item, { raw, notes }))
      return
    }
    const verb = cmd.cmd.verb
    const extra: Decoded[] = []
    // The earlier pipelined commands are answered now: the state is the one this command ran in.
    if (cmd.judgeLater) this.checkSequence(cmd.cmd, notes)
    if (!status.ok) notes.push(pop3ErrorNote(status, verb))

    // Auth outcomes and state changes (RFC 1939 4-6).
    if (this.auth && (cmd.attempt === this.auth.ref || cmd.ref === this.auth.ref)) {
      const a = this.auth
      this.auth = undefined
      // The client may already be past the exchange (leavesAuth): keep what it is doing.
      if (this.clientMode === 'auth') this.clientMode = 'command'
      this.authDone(extra, status, at, raw, a.ex.mechanism, a.ref, a.ex.user)
    } else if (verb === 'PASS') {
      this.authDone(extra, status, at, raw, 'USER/PASS', this.userName !== undefined ? this.userRef : cmd.ref, this.userName)
      this.userName = undefined
    } else if (verb === 'USER' && !status.ok) {
      this.authDone(extra, status, at, raw, 'USER/PASS', cmd.ref, this.userName)
      this.userName = undefined
    } else if (verb === 'APOP') {
      this.authDone(extra, status, at, raw, 'APOP', cmd.ref, cmd.cmd.args[0])
    } else if (verb === 'QUIT' && status.ok && this.state === 'transaction') {
      this.state = 'update'
    } else if (verb === 'STLS') {
      if (status.ok && this.clientMode === 'stls-wait') {
        this.clientMode = 'tls-handshake'
        this.tlsGoAhead(at, raw, extra)
      } else if (this.clientMode === 'stls-wait') this.clientMode = 'command'
    }

    // A SASL step's verdict is one line (the pending entry only borrows the AUTH verb).
    const kind = status.ok && cmd.attempt === undefined ? multilineKind(cmd.cmd) : undefined
    if (kind === 'lines') {
      this.multi = { kind: 'lines', cmd, status, statusLine: line, statusAt: at, lines: [], dropped: 0, last: undefined, notes }
      out.push(...extra)
      return
    }
    const item = this.replyItem(status, cmd, at)
    out.push(decoded('server', at, item, { raw, notes, replyToRef: cmd.ref }))
    out.push(...extra)
    if (kind === 'message') {
      const source = verb === 'TOP' ? 'pop3-top' : 'pop3-retr'
      const index = ++this.messageCount
      const start = this.framers.server.offset
      const writer = this.options.messages ? this.options.messages.open(index, source, { side: 'server', offset: start, framing: 'dot' }) : NOOP_WRITER
      this.framers.server.startDotBody()
      const octets = source === 'pop3-retr' ? /^(\d+) octets\b/i.exec(status.text) : null
      this.multi = { kind: 'message', cmd, index, writer, size: 0, start, source, lineCheck: new LineLengthCheck(TEXT_LINE_LIMIT) }
      if (octets) this.multi.octets = Number(octets[1])
      out.push(decoded('server', at, { kind: 'body', protocol: 'pop3', phase: 'start', what: 'multiline' }))
    }
  }

  /** The verdict of a login attempt; success moves to the TRANSACTION state. */
  private authDone(extra: Decoded[], status: StatusLine, at: number, raw: RawRef, mechanism: string, attempt: number, user: string | undefined): void {
    const a: AuthItem = { kind: 'auth', protocol: 'pop3', mechanism, step: 'outcome', valid: true, outcome: status.ok ? 'success' : 'failure' }
    if (user !== undefined) a.user = user
    extra.push(decoded('server', at, a, { raw, attemptRef: attempt }))
    if (status.ok) this.state = 'transaction'
  }

  /** Credentials about to go in clear although the server offered STLS. */
  private noteCleartext(notes: Note[]): void {
    if (!this.tls && this.caps.has('STLS')) notes.push(authCleartextNote('pop3', 'STLS'))
  }

  protected endServer(at: number, out: Decoded[]): void {
    const f = this.framers.server
    if (this.serverOpaque) {
      this.drainServerOpaque()
    } else if (this.multi?.kind === 'message') {
      const held = f.drain()
      this.finishMessage(at, held ? held.offset + held.bytes.length : f.offset, false, out)
    } else {
      const line = f.flush()
      if (line) {
        if (this.multi?.kind === 'lines') this.onListingLine(line, at, out)
        else this.onResponseLine(line, at, out)
      }
      if (this.multi?.kind === 'lines') {
        const m = this.multi
        this.multi = undefined
        this.emitListing(m, at, out, true)
      }
    }
    this.flushOpaque('server', at, out)
    if (this.pending.length > 0 && this.clientMode !== 'opaque') {
      const verbs = this.pending.map((p) => p.cmd.verb).join(', ')
      out.push(decoded('proxy', at, undefined, { notes: [mkNote('warn', 'POP3_NO_RESPONSE', `The server closed without answering ${this.pending.length} command(s): ${verbs}`)] }))
      this.pending.length = 0
    }
  }

  // ---------------------------------------------------------------------------

  private droppedPending = false

  /** Forgets the oldest command awaiting a reply (noted once): pairing may drift after this. */
  private dropOldestPending(notes: Note[]): void {
    this.pending.shift()
    if (this.droppedPending) return
    this.droppedPending = true
    notes.push(mkNote('warn', 'POP3_TOO_MANY_PENDING', `Over ${MAX_PENDING} commands are waiting for a reply; the oldest are no longer paired`, 'The server reads commands but does not answer them.'))
  }

  protected injectionNote(side: Side): Note {
    return mkNote(
      'error',
      'STARTTLS_INJECTION',
      side === 'client' ? 'The client sent plaintext after STLS, before the TLS handshake' : 'The server sent plaintext after accepting STLS, before the TLS handshake',
      'Those bytes are not commands: a man in the middle may have injected them. A correct peer discards them.',
      'RFC 2595 §4',
    )
  }
}

/** Message numbers and line counts as numbers: `RETR 3` → { msg: 3 }. */
function commandParams(cmd: Pop3Command): CommandItem['params'] | undefined {
  const num = (s: string | undefined): number | string | undefined => (s === undefined ? undefined : /^\d+$/.test(s) ? Number(s) : s)
  switch (cmd.verb) {
    case 'LIST':
    case 'UIDL':
    case 'RETR':
    case 'DELE':
      return cmd.args[0] !== undefined ? { msg: num(cmd.args[0])! } : undefined
    case 'TOP':
      return cmd.args.length >= 2 ? { msg: num(cmd.args[0])!, lines: num(cmd.args[1])! } : undefined
    case 'USER':
      return { user: cmd.rest }
    case 'APOP':
      return cmd.args[0] ? { user: cmd.args[0] } : undefined
    case 'AUTH':
      return cmd.args[0] ? { mechanism: cmd.args[0].toUpperCase() } : undefined
    default:
      return undefined
  }
}
