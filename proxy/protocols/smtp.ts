// The SMTP/LMTP decoder (RFC 5321, 3207, 4954, 2920, 3030, 2033): sans-IO and streaming.
// Commands and replies are paired through a FIFO of commands awaiting a reply (which is
// also how PIPELINING works); DATA and BDAT bodies stream to the MessageSink. Captures
// with gaps (a hand-written transcript without the greeting or the AUTH prompts) pair
// around them by reply code: see the greeting in onReply, leavesAuth and takePending.
//
// Refs: every Decoded this decoder emits that something can answer carries `ref`, a
// counter local to this decoder (1, 2, 3...). Replies carry `replyToRef`, AUTH steps
// `attemptRef`; the recorder maps them to event seqs.
import type {
  MessageWire,
  AuthItem,
  CommandItem,
  ContinuationItem,
  Decoded,
  Decoder,
  DecoderOptions,
  MessageWriter,
  Note,
  ReplyItem,
  Secret,
  Side,
} from '../../shared/schema.ts'
import { decoded, lineTooLongNote, mkNote, rawOf, rawSpan } from './common.ts'
import { LineDecoder } from './line-decoder.ts'
import { LineLengthCheck, type Line } from './lines.ts'
import { authCleartextNote, decodeBase64, exposesSecret, MASK, maskIn, SaslExchange, saslAuthItem } from './sasl.ts'
import { parseCapabilities, parseReplyLine, replyStatus, smtpReplyNote, splitEnhanced } from './smtp-reply.ts'
import { parseSmtpCommand, SMTP_VERBS, type ParsedSmtpCommand } from './smtp-command.ts'

/** RFC 5321 4.5.3.1.4 / 4.5.3.1.5: command and reply lines, CRLF included. */
const COMMAND_LINE_LIMIT = 512
const REPLY_LINE_LIMIT = 512
/** RFC 5321 4.5.3.1.6: a line of message text, CRLF included. */
const TEXT_LINE_LIMIT = 1000
/** RFC 4954 4: AUTH lines may be up to 12288 octets. */
const AUTH_LINE_LIMIT = 12288
/** A multi-line reply keeps at most this many lines (the rest are counted). */
const MAX_REPLY_LINES = 1000
/** Bytes a client may send while we wait for a reply that decides how to read them. */
const MAX_HELD_BYTES = 64 * 1024
/** Commands awaiting a reply that we remember; a server that never answers can't grow it further. */
const MAX_PENDING = 50_000

/**
 * Where the session is, as one printable field (shown on every command and reply):
 * greeting: waiting for the 220; helo: EHLO/HELO needed; ready: no mail transaction;
 * mail: MAIL accepted; rcpt: a recipient accepted; data: a body in transit; auth: a SASL
 * exchange; starttls: waiting for the TLS go-ahead or handshake; quit: QUIT accepted;
 * opaque: the bytes are not SMTP (TLS on a plaintext port).
 */
export type SmtpState = 'greeting' | 'helo' | 'ready' | 'mail' | 'rcpt' | 'data' | 'auth' | 'starttls' | 'quit' | 'opaque'

/** How the client's next bytes are read. */
type ClientMode = 'command' | 'auth' | 'data-wait' | 'data' | 'bdat' | 'starttls-wait' | 'tls-handshake' | 'opaque'

interface Pending {
  ref: number
  at: number
  verb: string
  /** For the final reply of an AUTH exchange: the AUTH command's ref. */
  attempt?: number
  /** Positive (2xx/3xx) codes that can answer it (RFC 5321 4.3.2); undefined: any. */
  expects?: readonly string[]
}

/** RFC 5321 4.3.2 command-reply sequences, by the positive codes each command can get. */
const EXPECT_25X: readonly string[] = ['250', '251', '252', '253', '254', '255', '256', '257', '258', '259']
const EXPECT_AUTH: readonly string[] = ['334', '235']
const EXPECTS: Record<string, readonly string[]> = {
  HELO: EXPECT_25X, EHLO: EXPECT_25X, LHLO: EXPECT_25X, MAIL: EXPECT_25X, RCPT: EXPECT_25X, RSET: EXPECT_25X,
  NOOP: EXPECT_25X, VRFY: EXPECT_25X, EXPN: EXPECT_25X, BDAT: EXPECT_25X, ETRN: EXPECT_25X, TURN: EXPECT_25X,
  ATRN: EXPECT_25X, XFORWARD: EXPECT_25X, SEND: EXPECT_25X, SOML: EXPECT_25X, SAML: EXPECT_25X,
  DATA: ['354'], AUTH: EXPECT_AUTH, STARTTLS: ['220'], QUIT: ['221'], HELP: ['211', '214'],
}
/** Codes a server's first words can carry (RFC 5321 3.1, 4.2.3): the greeting, or a refusal. */
const GREETING_CODES = new Set(['220', '421', '554'])
/** How far past the head a reply may look for the command it answers. */
const PAIRING_LOOKAHEAD = 64

interface OpenMessage {
  index: number
  writer: MessageWriter | undefined
  size: number
  /** Client-stream offset where the body (this DATA, or this BDAT chunk) began. */
  start: number
  source: 'smtp-data' | 'smtp-bdat'
  /** DATA: bytes of the current text line so far, or -1 once a line over the limit was seen. */
  lineCheck: LineLengthCheck
}

const NOOP_WRITER: MessageWriter = { write() {}, close() {} }

export function createSmtpDecoder(options: DecoderOptions = {}): Decoder {
  return new SmtpDecoder(options)
}

export class SmtpDecoder extends LineDecoder {
  state: SmtpState = 'greeting'
  private clientMode: ClientMode = 'command'
  private nextRef = 1
  private readonly pending: Pending[] = []
  private greeted = false
  private lmtp = false
  /** The server accepted HELO/EHLO/LHLO (since the last TLS upgrade). */
  private helloed = false
  /** HELO/EHLO/LHLO commands sent and not yet answered. */
  private helloPending = 0
  /** Capabilities of the last EHLO reply (upper-case names). */
  private caps = new Map<string, string[]>()
  private mail: 'none' | 'pending' | 'accepted' = 'none'
  /** SIZE= of the current MAIL FROM (RFC 1870), compared with what the body really was. */
  private declaredSize: number | undefined
  private rcptPending = 0
  private rcptAccepted = 0
  private messageCount = 0
  private message: OpenMessage | undefined
  /** BDAT: bytes of the current chunk still to read, and whether it is the LAST one. */
  private bdatLeft = 0
  private bdatLast = false
  private bdatRef = 0
  /** `owed`: server challenges (334) the client has not answered yet. */
  private auth: { ex: SaslExchange; ref: number; lastRef: number; lastAt: number; owed: number } | undefined
  /** A multi-line reply being collected. */
  private reply: { first: Line; last: Line; code: string; lines: string[]; dropped: number; notes: Note[] } | undefined

  protected resetAfterTls(): void {
    // RFC 3207 4.2: forget everything learnt before TLS; the client must EHLO again.
    this.caps = new Map()
    this.helloed = false
    this.helloPending = 0
    this.state = 'helo'
    this.clientMode = 'command'
    this.pending.length = 0
    this.resetTransaction()
    this.auth = undefined
    this.reply = undefined
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
        case 'data-wait':
        case 'starttls-wait':
          // Held until the server's reply says how to read them; bounded.
          if (f.buffered > MAX_HELD_BYTES) {
            const run = f.drain()!
            this.toOpaque('client', run.offset, run.bytes.length, 'held-too-long')
            this.opaqueNotes.client.push(
              mkNote('warn', 'SMTP_CLIENT_DID_NOT_WAIT', `The client sent over ${MAX_HELD_BYTES} bytes without waiting for the server's reply`, undefined, 'RFC 2920 §3.1'),
            )
          }
          return
        case 'tls-handshake':
          this.drainClientHandshake()
          return
        case 'data': {
          const piece = f.readDotBody()
          if (!piece) return
          const msg = this.message!
          for (const p of piece.parts) {
            if (p.length === 0) continue
            msg.size += p.length
            msg.writer?.write(p)
            msg.lineCheck.scan(p)
          }
          if (piece.done) this.finishData(at, piece.offset + piece.length, piece.bareLf === true, out)
          continue
        }
        case 'bdat': {
          if (this.bdatLeft > 0) {
            const run = f.readBytes(this.bdatLeft)
            if (!run) return
            this.bdatLeft -= run.bytes.length
            const msg = this.message!
            msg.size += run.bytes.length
            msg.writer?.write(run.bytes)
            if (this.bdatLeft > 0) return
          }
          this.finishBdatChunk(at, out)
          continue
        }
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
          if (this.clientMode !== 'auth') this.onCommand(line, at, out, false)
          else if (this.leavesAuth(line)) this.onCommand(line, at, out, true)
          else this.onAuthResponse(line, at, out)
          continue
        }
      }
    }
  }

  private goOpaque(at: number, out: Decoded[]): void {
    this.clientMode = 'opaque'
    this.state = 'opaque'
    this.goOpaqueBoth(
      at,
      out,
      mkNote(
        'error',
        'TLS_ON_PLAINTEXT_PORT',
        'The client started a TLS handshake on a plaintext SMTP port',
        'The client expects implicit TLS (port 465): use an smtps:// listener, or set the client to STARTTLS or no encryption.',
        'RFC 8314 §3',
      ),
    )
  }

  /** `afterAuth`: the line ended an AUTH exchange whose verdict has not been seen. */
  private onCommand(line: Line, at: number, out: Decoded[], afterAuth: boolean): void {
    const raw = rawOf('client', line)
    if (line.tooLong) {
      out.push(
        decoded('client', at, { kind: 'opaque', length: line.length, reason: 'line-too-long' }, {
          raw,
          notes: [
            mkNote('error', 'SMTP_LINE_TOO_LONG', `A client line of ${line.contentLength} bytes was not decoded (over ${this.framers.client.maxLineBytes})`, 'Treated as opaque up to the next line end.', 'RFC 5321 §4.5.3.1.4'),
          ],
        }),
      )
      return
    }
    const cmd = parseSmtpCommand(line.text)
    const notes: Note[] = [...cmd.notes]
    const ref = this.nextRef++
    const pipelined = this.pending.length > 0
    const item: CommandItem = {
      kind: 'command',
      protocol: 'smtp',
      verb: cmd.verb,
      args: cmd.args,
      line: line.text,
      state: this.state,
      explain: cmd.explain,
    }
    if (cmd.params) item.params = cmd.params
    if (pipelined) {
      item.pipelined = true
      // Not after an AUTH exchange without a verdict: its replies are more likely missing
      // from the capture than skipped by the client (takePending tells later).
      if (this.greeted && !this.caps.has('PIPELINING') && cmd.verb !== 'QUIT' && !afterAuth) {
        notes.push(mkNote('warn', 'SMTP_PIPELINING_NOT_OFFERED', `${cmd.verb} was sent before the previous reply, but the server did not announce PIPELINING`, 'Some servers drop the connection for this (protocol synchronization error).', 'RFC 2920 §3.1'))
      }
    }
    if (line.eol === '\n') {
      notes.push(mkNote('info', 'SMTP_BARE_LF', 'The command line ended with a bare LF instead of CRLF', 'Lenient servers accept it; strict ones (Postfix with smtpd_forbid_bare_newline) refuse.', 'RFC 5321 §2.3.8'))
    }
    const limit = cmd.verb === 'AUTH' ? AUTH_LINE_LIMIT : COMMAND_LINE_LIMIT
    if (line.length > limit) notes.push(lineTooLongNote('SMTP_LINE_TOO_LONG', line, limit, 'The command line', 'RFC 5321 §4.5.3.1.4'))
    this.checkSequence(cmd, notes)
    let secrets: Secret[] | undefined
    const extra: Decoded[] = []
    switch (cmd.verb) {
      case 'HELO':
      case 'EHLO':
      case 'LHLO':
        this.lmtp = cmd.verb === 'LHLO'
        this.helloPending++
        this.resetTransaction()
        break
      case 'MAIL':
        this.mail = 'pending'
        this.declaredSize = typeof cmd.params?.SIZE === 'number' ? cmd.params.SIZE : undefined
        break
      case 'RCPT':
        this.rcptPending++
        break
      case 'RSET':
        this.resetTransaction()
        break
      case 'DATA':
        this.clientMode = 'data-wait'
        break
      case 'BDAT':
        if (cmd.bdat) {
          this.bdatLeft = cmd.bdat.size
          this.bdatLast = cmd.bdat.last
          this.bdatRef = ref
          if (!this.message) this.openMessage('smtp-bdat', line.offset + line.length)
          else this.message.start = line.offset + line.length
          this.clientMode = 'bdat'
          extra.push(decoded('client', at, { kind: 'body', protocol: 'smtp', phase: 'start', what: 'bdat', size: cmd.bdat.size }))
          if (!this.caps.has('CHUNKING') && this.greeted && this.caps.size > 0) {
            notes.push(mkNote('warn', 'SMTP_CHUNKING_NOT_OFFERED', 'BDAT was used but the server did not announce CHUNKING', undefined, 'RFC 3030 §2'))
          }
        }
        break
      case 'STARTTLS':
        this.clientMode = 'starttls-wait'
        this.state = 'starttls'
        if (this.tls) notes.push(mkNote('warn', 'SMTP_STARTTLS_TWICE', 'STARTTLS inside a session that is already TLS', undefined, 'RFC 3207 §4'))
        break
      case 'AUTH': {
        const mech = (cmd.args.split(/\s+/)[0] ?? '').toUpperCase()
        const ir = cmd.args.split(/\s+/)[1]
        const ex = new SaslExchange(mech || 'UNKNOWN')
        this.auth = { ex, ref, lastRef: ref, lastAt: at, owed: 0 }
        this.clientMode = 'auth'
        this.state = 'auth'
        const authNotes: Note[] = []
        if (!this.tls && this.caps.has('STARTTLS') && exposesSecret(ex.mechanism)) authNotes.push(authCleartextNote('smtp', 'STARTTLS'))
        const authItem = { kind: 'auth' as const, protocol: 'smtp' as const, mechanism: ex.mechanism, step: 'start' as const, valid: true }
        if (ir !== undefined) {
          const step = ex.initial(ir)
          authNotes.push(...step.notes)
          if (step.secrets.length) {
            secrets = step.secrets
            item.line = maskIn(line.text, ir)
            item.args = `${mech} ${MASK}`
          }
          extra.push(decoded('client', at, { ...saslAuthItem('smtp', ex, 'start', step) }, { raw, notes: authNotes, attemptRef: ref }))
        } else {
          extra.push(decoded('client', at, authItem, { raw, notes: authNotes, attemptRef: ref }))
        }
        break
      }
      case 'QUIT':
        break
    }
    if (this.pending.length >= MAX_PENDING) this.dropOldestPending(notes)
    this.pending.push({ ref, at, verb: cmd.verb, expects: EXPECTS[cmd.verb] })
    out.push(decoded('client', at, item, { raw, notes, secrets, ref }))
    out.push(...extra)
  }

  /** RFC 5321 4.1.4 ordering, judged on what the client could know when it sent. */
  private checkSequence(cmd: ParsedSmtpCommand, notes: Note[]): void {
    // A HELO/EHLO still in flight counts: pipelining EHLO then MAIL is legal-ish.
    const needHelo = !this.helloed && this.helloPending === 0
    switch (cmd.verb) {
      case 'MAIL':
        if (needHelo) outOfSequence(notes, 'MAIL before EHLO/HELO', 'Send EHLO first (again after STARTTLS).')
        else if (this.mail !== 'none') outOfSequence(notes, 'MAIL inside an open transaction', 'Finish with DATA or RSET before a new MAIL.')
        break
      case 'RCPT':
        if (this.mail === 'none') outOfSequence(notes, 'RCPT before an accepted MAIL FROM', 'The server answers 503 5.5.1: send MAIL FROM first.')
        break
      case 'DATA':
        if (this.mail === 'none') outOfSequence(notes, 'DATA before MAIL FROM', 'A transaction is MAIL FROM, at least one RCPT TO, then DATA.')
        else if (this.rcptAccepted === 0 && this.rcptPending === 0) outOfSequence(notes, 'DATA without an accepted recipient', 'Every RCPT TO was refused; the server answers 503 or 554.')
        break
      case 'BDAT':
        if (this.mail === 'none') outOfSequence(notes, 'BDAT before MAIL FROM')
        break
      case 'AUTH':
        if (needHelo) outOfSequence(notes, 'AUTH before EHLO', 'AUTH is an ESMTP extension: send EHLO first.')
        break
      case 'STARTTLS':
        if (needHelo) outOfSequence(notes, 'STARTTLS before EHLO', 'Send EHLO, check STARTTLS is offered, then STARTTLS.')
        break
    }
  }

  /**
   * Whether a client line in an AUTH exchange is no SASL answer but the client's next
   * command: nothing the server asked for is owed (no unanswered 334) and either the
   * mechanism has all its answers (LOGIN's two) or the line is no base64 but a known
   * command. Either the capture lacks the server's replies (a hand-written transcript)
   * or the client pipelined after a one-round-trip AUTH (RFC 4954 4 allows it after
   * PLAIN with an initial response). The exchange stays open on the server side: its
   * verdict, or a reply that skips it (takePending), closes it.
   */
  private leavesAuth(line: Line): boolean {
    const a = this.auth
    if (!a || a.owed > 0 || line.tooLong) return false
    const text = line.text.trim()
    if (text === '*') return false
    const command = a.ex.clientDone || (decodeBase64(text) === null && SMTP_VERBS.has(parseSmtpCommand(text).verb))
    if (!command) return false
    this.clientMode = 'command'
    if (this.state === 'auth') this.state = this.helloed ? 'ready' : 'helo'
    return true
  }

  private onAuthResponse(line: Line, at: number, out: Decoded[]): void {
    const a = this.auth!
    if (a.owed > 0) a.owed--
    const raw = rawOf('client', line)
    const ref = this.nextRef++
    const notes: Note[] = []
    if (line.tooLong) {
      notes.push(mkNote('error', 'SMTP_LINE_TOO_LONG', `An AUTH response of ${line.contentLength} bytes was not decoded`, undefined, 'RFC 4954 §4'))
      out.push(decoded('client', at, { kind: 'auth', protocol: 'smtp', mechanism: a.ex.mechanism, step: 'response', valid: false, decoded: MASK }, { raw, notes, ref, attemptRef: a.ref }))
    } else {
      if (line.length > AUTH_LINE_LIMIT) notes.push(lineTooLongNote('SMTP_LINE_TOO_LONG', line, AUTH_LINE_LIMIT, 'The AUTH response', 'RFC 4954 §4'))
      const step = a.ex.response(line.text)
      notes.push(...step.notes)
      out.push(decoded('client', at, saslAuthItem('smtp', a.ex, 'response', step), { raw, notes, secrets: step.secrets, ref, attemptRef: a.ref }))
    }
    a.lastRef = ref
    a.lastAt = at
    this.pending.push({ ref, at, verb: 'AUTH', attempt: a.ref, expects: EXPECT_AUTH })
  }

  private openMessage(source: OpenMessage['source'], start: number): void {
    const index = ++this.messageCount
    // A DATA body is one dot-terminated run of the client's stream; BDAT chunks are not.
    const wire: MessageWire | undefined = source === 'smtp-data' ? { side: 'client', offset: start, framing: 'dot' } : undefined
    const writer = this.options.messages ? this.options.messages.open(index, source, wire) : NOOP_WRITER
    this.message = { index, writer, size: 0, start, source, lineCheck: new LineLengthCheck(TEXT_LINE_LIMIT) }
  }

  private finishData(at: number, end: number, bareLf: boolean, out: Decoded[]): void {
    const msg = this.message!
    this.message = undefined
    msg.writer?.close(true)
    this.clientMode = 'command'
    this.state = 'ready'
    const ref = this.nextRef++
    const notes: Note[] = []
    this.checkSize(0, msg.size, notes)
    if (msg.lineCheck.tooLong) {
      notes.push(mkNote('warn', 'SMTP_LINE_TOO_LONG', `A line of the message is over ${TEXT_LINE_LIMIT} bytes`, 'Servers may refuse the message or break the line; long lines need quoted-printable or base64.', 'RFC 5321 §4.5.3.1.6'))
    }
    if (bareLf) {
      notes.push(
        mkNote('warn', 'SMTP_BARE_LF_TERMINATOR', 'The end of data was not a strict CRLF.CRLF (a bare LF was involved)', 'Servers disagree on such terminators: this is the SMTP smuggling pattern.', 'RFC 5321 §4.1.1.4'),
      )
    }
    const raw = { side: 'client' as const, offset: msg.start, length: end - msg.start }
    out.push(decoded('client', at, { kind: 'body', protocol: 'smtp', phase: 'end', what: 'data', size: msg.size }, { raw, notes, ref }))
    out.push(decoded('client', at, { kind: 'message', protocol: 'smtp', phase: 'received', index: msg.index, source: 'smtp-data', size: msg.size, complete: true }))
    // LMTP (RFC 2033 4.2): one reply per accepted recipient after the data.
    const replies = this.lmtp ? Math.max(1, this.rcptAccepted) : 1
    for (let i = 0; i < replies; i++) this.pending.push({ ref, at, verb: 'DATA', expects: EXPECT_25X })
    this.resetTransaction()
  }

  /**
   * RFC 1870 6: the message against the server's EHLO SIZE and the client's MAIL FROM
   * SIZE=. `before` is what was already checked (earlier BDAT chunks), so a message that
   * grows past a limit chunk by chunk is noted once, on the chunk that crossed it.
   */
  private checkSize(before: number, size: number, notes: Note[]): void {
    const limit = Number(this.caps.get('SIZE')?.[0])
    if (limit > 0 && size > limit && before <= limit) {
      notes.push(mkNote('warn', 'SMTP_MESSAGE_OVER_SIZE', `The message is ${size} bytes, over the ${limit} the server announced (EHLO SIZE)`, 'Expect 552 5.3.4: shrink the attachments or send a link.', 'RFC 1870 §6'))
    }
    const declared = this.declaredSize
    if (declared !== undefined && size > declared && before <= declared) {
      notes.push(mkNote('info', 'SMTP_SIZE_UNDERSTATED', `The client declared SIZE=${declared} but sent ${size} bytes`, 'Servers may refuse a message larger than declared.', 'RFC 1870 §6'))
    }
  }

  private finishBdatChunk(at: number, out: Decoded[]): void {
    const msg = this.message!
    const f = this.framers.client
    const chunkLen = f.offset - msg.start
    const last = this.bdatLast
    this.clientMode = 'command'
    // BDAT chunks add up to the message: the sum so far is what SIZE is about (RFC 3030 3).
    const notes: Note[] = []
    this.checkSize(msg.size - chunkLen, msg.size, notes)
    out.push(decoded('client', at, { kind: 'body', protocol: 'smtp', phase: 'end', what: 'bdat', size: chunkLen }, { raw: { side: 'client', offset: msg.start, length: chunkLen }, notes }))
    if (last) {
      this.message = undefined
      msg.writer?.close(true)
      out.push(decoded('client', at, { kind: 'message', protocol: 'smtp', phase: 'received', index: msg.index, source: 'smtp-bdat', size: msg.size, complete: true }))
      this.state = 'ready'
      // The transaction state resets when the server answers the LAST chunk.
    }
  }

  private resetTransaction(): void {
    this.mail = 'none'
    this.rcptPending = 0
    this.rcptAccepted = 0
    if (this.state === 'mail' || this.state === 'rcpt') this.state = 'ready'
  }

  protected endClient(at: number, out: Decoded[]): void {
    const f = this.framers.client
    if (this.clientMode === 'data' || this.clientMode === 'bdat') {
      const msg = this.message
      if (msg) {
        this.message = undefined
        msg.writer?.close(false)
        const held = f.drain()
        const end = held ? held.offset + held.bytes.length : f.offset
        out.push(
          decoded('client', at, { kind: 'body', protocol: 'smtp', phase: 'end', what: msg.source === 'smtp-data' ? 'data' : 'bdat', size: msg.size }, {
            raw: { side: 'client', offset: msg.start, length: end - msg.start },
            notes: [mkNote('error', 'SMTP_BODY_CUT', `The client closed the connection in the middle of a message (${msg.size} bytes received)`, 'The message was not delivered.', 'RFC 5321 §4.1.1.4')],
          }),
        )
        out.push(decoded('client', at, { kind: 'message', protocol: 'smtp', phase: 'received', index: msg.index, source: msg.source, size: msg.size, complete: false }))
      }
      this.clientMode = 'command'
    } else if (this.clientMode === 'command' || this.clientMode === 'auth') {
      const line = f.flush()
      if (line) {
        out.push(
          decoded('client', at, { kind: 'opaque', length: line.length, reason: 'unterminated-line' }, {
            raw: rawOf('client', line),
            notes: [mkNote('warn', 'SMTP_UNTERMINATED_LINE', `The client closed the connection after an unterminated line: ${JSON.stringify(line.text.slice(0, 80))}`, 'The server never saw a complete command.', 'RFC 5321 §2.3.8')],
          }),
        )
      }
    } else {
      const run = f.drain()
      if (run) this.toOpaque('client', run.offset, run.bytes.length, this.clientMode === 'tls-handshake' ? 'tls-handshake' : 'unanswered', run.bytes)
    }
    this.flushOpaque('client', at, out)
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
      const line = f.readLine()
      if (!line) return
      this.onReplyLine(line, at, out)
    }
  }

  private onReplyLine(line: Line, at: number, out: Decoded[]): void {
    if (line.tooLong) {
      this.flushPartialReply(at, out)
      out.push(
        decoded('server', at, { kind: 'opaque', length: line.length, reason: 'line-too-long' }, {
          raw: rawOf('server', line),
          notes: [mkNote('error', 'SMTP_LINE_TOO_LONG', `A server line of ${line.contentLength} bytes was not decoded`, undefined, 'RFC 5321 §4.5.3.1.5')],
        }),
      )
      return
    }
    const parsed = parseReplyLine(line.text)
    if (!parsed || (this.reply && parsed.code !== this.reply.code)) {
      this.flushPartialReply(at, out)
      if (!parsed) {
        out.push(
          decoded('server', at, { kind: 'untagged', protocol: 'smtp', name: 'MALFORMED', text: line.text }, {
            raw: rawOf('server', line),
            notes: [mkNote('warn', 'SMTP_MALFORMED_REPLY', 'A server line that is not an SMTP reply (no 3-digit code)', 'The server may not speak SMTP on this port (or this is the wrong protocol).', 'RFC 5321 §4.2')],
          }),
        )
        return
      }
    }
    if (!this.reply) this.reply = { first: line, last: line, code: parsed.code, lines: [], dropped: 0, notes: [] }
    const r = this.reply
    r.last = line
    if (r.lines.length < MAX_REPLY_LINES) r.lines.push(parsed.text)
    else r.dropped++
    if (line.length > REPLY_LINE_LIMIT && r.notes.length === 0) {
      r.notes.push(lineTooLongNote('SMTP_LINE_TOO_LONG', line, REPLY_LINE_LIMIT, 'A reply line', 'RFC 5321 §4.5.3.1.5'))
    }
    if (parsed.more) return
    this.reply = undefined
    this.onReply(r, at, out)
  }

  /** A reply cut by a malformed line or the end of the stream: decode what we have. */
  private flushPartialReply(at: number, out: Decoded[]): void {
    const r = this.reply
    if (!r) return
    this.reply = undefined
    r.notes.push(mkNote('warn', 'SMTP_INCOMPLETE_REPLY', 'A multi-line reply did not finish with a "code SP" line', undefined, 'RFC 5321 §4.2.1'))
    this.onReply(r, at, out)
  }

  private onReply(r: NonNullable<SmtpDecoder['reply']>, at: number, out: Decoded[]): void {
    const raw = rawSpan('server', r.first, r.last)
    const notes = r.notes
    if (r.dropped) notes.push(mkNote('info', 'SMTP_REPLY_TRUNCATED', `${r.dropped} more reply lines were not kept`))
    // Enhanced codes: split off every line that carries the same one.
    const esc = splitEnhanced(r.code, r.lines[0] ?? '')
    const lines = esc.enhanced ? r.lines.map((l) => (l.startsWith(esc.enhanced!) ? splitEnhanced(r.code, l).text : l)) : r.lines
    const item: ReplyItem = { kind: 'reply', protocol: 'smtp', code: r.code, status: replyStatus(r.code), lines, explain: [`smtp.code.${r.code}`] }
    if (esc.enhanced) {
      item.enhanced = esc.enhanced
      item.explain!.push(`esc.${esc.enhanced}`)
    }

    if (!this.greeted) {
      // The server speaks first (RFC 5321 3.1). When the client already sent commands,
      // the code decides: a greeting code is the greeting (the client talked first);
      // anything else answers the first command, and the greeting is not in the capture.
      this.greeted = true
      if (this.pending.length === 0 || GREETING_CODES.has(r.code)) {
        this.state = r.code === '220' ? 'helo' : this.state
        item.state = this.state
        if (r.code !== '220') {
          const n = smtpReplyNote(item, undefined)
          if (n) notes.push(n)
        }
        if (this.pending.length > 0) {
          const verbs = this.pending.map((p) => p.verb).join(', ')
          notes.push(mkNote('warn', 'SMTP_EARLY_TALKER', `The client sent ${verbs} before this greeting`, 'Servers such as Postfix reject clients that talk first (554 5.5.1 protocol synchronization).', 'RFC 5321 §3.1'))
        }
        // Commands sent before the greeting (early talkers) wait for the next replies.
        out.push(decoded('server', at, item, { raw, notes }))
        return
      }
      if (this.state === 'greeting') this.state = 'helo'
      notes.push(mkNote('info', 'SMTP_NO_GREETING', `The capture starts without the server's 220 greeting: this ${r.code} answers the first command`, 'The transcript or capture left the greeting out; pairing starts with the first command.', 'RFC 5321 §3.1'))
    }

    const cmd = this.takePending(r.code, at, out)
    if (!cmd) {
      if (r.code === '421') {
        const n = smtpReplyNote(item, undefined)
        if (n) notes.push(n)
      } else {
        notes.push(mkNote('warn', 'SMTP_UNSOLICITED_REPLY', 'A reply that answers no command', 'The server sent more replies than commands were sent, or the capture started mid-session.', 'RFC 5321 §4.2'))
      }
      item.state = this.state
      out.push(decoded('server', at, item, { raw, notes }))
      return
    }
    item.latencyMs = round(at - cmd.at)
    const extra: Decoded[] = []
    const ok = r.code[0] === '2'

    // Only the open exchange's steps: a stale attempt's reply is an ordinary reply.
    const isAuth = this.auth !== undefined && (cmd.attempt === this.auth.ref || cmd.ref === this.auth.ref)
    if (isAuth && r.code === '334' && this.auth) {
      // RFC 4954 4: a server challenge, answered by the client's next line.
      const step = this.auth.ex.challenge(lines[0] ?? '')
      this.auth.owed++
      const cont: ContinuationItem = { kind: 'continuation', protocol: 'smtp', text: lines[0] ?? '', latencyMs: item.latencyMs, explain: ['smtp.code.334'] }
      if (step.decoded !== undefined) cont.decoded = step.decoded
      out.push(decoded('server', at, cont, { raw, notes: [...notes, ...step.notes], replyToRef: cmd.ref, attemptRef: this.auth.ref }))
      return
    }
    if (isAuth) {
      this.onAuthReply(r.code, item, raw, at, extra)
    } else {
      if (cmd.verb === 'EHLO' || cmd.verb === 'LHLO' || cmd.verb === 'HELO') this.helloPending = Math.max(0, this.helloPending - 1)
      switch (cmd.verb) {
        case 'EHLO':
        case 'LHLO':
          if (ok) {
            const caps = parseCapabilities(lines.slice(1))
            item.capabilities = caps
            this.caps = new Map(caps.map((c) => [c.name, c.params]))
            for (const c of caps) item.explain!.push(`smtp.cap.${c.name}`)
            this.state = 'ready'
            this.helloed = true
          }
          break
        case 'HELO':
          if (ok) {
            this.caps = new Map()
            this.state = 'ready'
            this.helloed = true
          }
          break
        case 'MAIL':
          this.mail = ok ? 'accepted' : 'none'
          if (ok) this.state = 'mail'
          break
        case 'RCPT':
          this.rcptPending = Math.max(0, this.rcptPending - 1)
          if (ok) {
            this.rcptAccepted++
            this.state = 'rcpt'
          }
          break
        case 'DATA':
          if (r.code === '354' && this.clientMode === 'data-wait') {
            this.clientMode = 'data'
            this.state = 'data'
            this.framers.client.startDotBody()
            this.openMessage('smtp-data', this.framers.client.offset)
            extra.push(decoded('client', at, { kind: 'body', protocol: 'smtp', phase: 'start', what: 'data' }))
          } else if (this.clientMode === 'data-wait') {
            this.clientMode = 'command'
          }
          break
        case 'BDAT':
          if (cmd.ref === this.bdatRef && this.bdatLast) this.resetTransaction()
          break
        case 'RSET':
          this.resetTransaction()
          break
        case 'STARTTLS':
          if (r.code === '220' && this.clientMode === 'starttls-wait') {
            this.clientMode = 'tls-handshake'
            this.tlsGoAhead(at, raw, extra)
          } else {
            if (this.clientMode === 'starttls-wait') this.clientMode = 'command'
            this.state = this.helloed ? 'ready' : 'helo'
          }
          break
        case 'QUIT':
          if (ok) this.state = 'quit'
          break
      }
    }
    if (!item.state) item.state = this.state
    const n = r.code[0] === '4' || r.code[0] === '5' ? smtpReplyNote(item, cmd.verb) : undefined
    if (n) notes.unshift(n)
    out.push(decoded('server', at, item, { raw, notes, replyToRef: cmd.ref }))
    out.push(...extra)
  }

  private onAuthReply(code: string, item: ReplyItem, raw: Decoded['raw'], at: number, extra: Decoded[]): void {
    const a = this.auth
    if (!a) return
    const success = code[0] === '2'
    this.auth = undefined
    // The client may already be past the exchange (leavesAuth): keep what it is doing.
    if (this.clientMode === 'auth') this.clientMode = 'command'
    if (this.state === 'auth') this.state = this.helloed ? 'ready' : 'helo'
    item.state = this.state
    const outcome: AuthItem = { kind: 'auth', protocol: 'smtp', mechanism: a.ex.mechanism, step: 'outcome', valid: true, outcome: success ? 'success' : 'failure' }
    if (a.ex.user !== undefined) outcome.user = a.ex.user
    extra.push(decoded('server', at, outcome, { raw, attemptRef: a.ref }))
  }

  protected endServer(at: number, out: Decoded[]): void {
    const f = this.framers.server
    if (!this.serverOpaque) {
      const line = f.flush()
      if (line) this.onReplyLine(line, at, out)
      this.flushPartialReply(at, out)
    } else {
      this.drainServerOpaque()
    }
    this.flushOpaque('server', at, out)
    if (this.pending.length > 0 && this.state !== 'opaque') {
      const verbs = this.pending.map((p) => p.verb).join(', ')
      out.push(decoded('proxy', at, undefined, { notes: [mkNote('warn', 'SMTP_NO_REPLY', `The server closed without answering ${this.pending.length} command(s): ${verbs}`)] }))
      this.pending.length = 0
    }
  }

  // ---------------------------------------------------------------------------

  private droppedPending = false

  /**
   * The command a reply answers. Normally the head of the queue; but a positive code the
   * head cannot get (a 250 when AUTH waits for 334/235, a 354 when MAIL waits for 250)
   * that a later command can get means the replies in between are missing from the
   * capture: those commands are dropped with a note instead of every later reply pairing
   * one step late. Errors (4xx/5xx) can answer anything and never skip.
   */
  private takePending(code: string, at: number, out: Decoded[]): Pending | undefined {
    const head = this.pending[0]
    if (!head || code[0] === '4' || code[0] === '5' || !head.expects || head.expects.includes(code)) return this.pending.shift()
    const n = Math.min(this.pending.length, PAIRING_LOOKAHEAD)
    for (let i = 1; i < n; i++) {
      if (!this.pending[i].expects?.includes(code)) continue
      this.onUnanswered(this.pending.splice(0, i), code, at, out)
      return this.pending.shift()
    }
    return this.pending.shift()
  }

  /** Commands whose replies the capture lacks: undo what waiting for them implied. */
  private onUnanswered(skipped: Pending[], code: string, at: number, out: Decoded[]): void {
    const a = this.auth
    const notes: Note[] = []
    const others: string[] = []
    let authLines = 0
    for (const p of skipped) {
      if (a && (p.ref === a.ref || p.attempt === a.ref)) {
        authLines++
        continue
      }
      if (p.verb === 'EHLO' || p.verb === 'LHLO' || p.verb === 'HELO') this.helloPending = Math.max(0, this.helloPending - 1)
      else if (p.verb === 'RCPT') this.rcptPending = Math.max(0, this.rcptPending - 1)
      others.push(p.verb)
    }
    if (a && authLines > 0) {
      this.auth = undefined
      if (this.clientMode === 'auth') this.clientMode = 'command'
      if (this.state === 'auth') this.state = this.helloed ? 'ready' : 'helo'
      notes.push(
        mkNote(
          'warn',
          'SMTP_AUTH_UNANSWERED',
          `The server's replies to AUTH ${a.ex.mechanism} are missing (${authLines} line${authLines === 1 ? '' : 's'} unanswered before this ${code}): the outcome of the login is unknown`,
          'The capture or transcript leaves out the 334 prompts and the 235/535 verdict.',
          'RFC 4954 §4',
        ),
      )
    }
    if (others.length) {
      notes.push(mkNote('warn', 'SMTP_REPLY_MISSING', `No reply to ${others.join(', ')} is in the capture: this ${code} answers a later command`, 'The capture or transcript leaves out some server replies.', 'RFC 5321 §4.3.2'))
    }
    out.push(decoded('proxy', at, undefined, { notes }))
  }

  /** Forgets the oldest command awaiting a reply (noted once): pairing may drift after this. */
  private dropOldestPending(notes: Note[]): void {
    this.pending.shift()
    if (this.droppedPending) return
    this.droppedPending = true
    notes.push(mkNote('warn', 'SMTP_TOO_MANY_PENDING', `Over ${MAX_PENDING} commands are waiting for a reply; the oldest are no longer paired`, 'The server reads commands but does not answer them.'))
  }

  protected injectionNote(side: Side): Note {
    return mkNote(
      'error',
      'STARTTLS_INJECTION',
      side === 'client'
        ? 'The client sent plaintext after STARTTLS, before the TLS handshake'
        : 'The server sent plaintext after accepting STARTTLS, before the TLS handshake',
      'Those bytes are not commands: a man in the middle may have injected them (CVE-2011-0411). A correct peer discards them.',
      'RFC 3207 §5',
    )
  }

}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

function outOfSequence(notes: Note[], text: string, hint?: string): void {
  notes.push(mkNote('warn', 'SMTP_OUT_OF_SEQUENCE', text, hint, 'RFC 5321 §4.1.4'))
}
