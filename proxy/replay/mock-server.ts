// The mock server: plays a recording's server side to any client. The greeting first,
// then for each client command the recorded answer to the matching command (same verb,
// next in recorded order); AUTH is accepted as recorded; STARTTLS is performed with
// mailtap's CA where the recording had it. A command the recording lacks gets a
// protocol-correct error and a deviation note. Each connection is recorded as a session.
import net from 'node:net'
import type { Note, Protocol } from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import { now } from '../clock.ts'
import { SessionRecorder } from '../session/recorder.ts'
import type { Store } from '../store/index.ts'
import type { Ca } from '../tls/ca.ts'
import type { KeyLog } from '../tls/keylog.ts'
import { acceptTls } from '../tls/upgrade.ts'
import { describeUnit, ClientFramer, type ClientUnit } from './framing.ts'
import { EndpointError, formatMailUrl, parseMailUrl } from './endpoint.ts'
import { loadScript, type Exchange, type Script } from './script.ts'

export interface MockOptions {
  store: Store
  feed: Feed
  sessionId: string
  /** smtp://127.0.0.1:2526, imaps://127.0.0.1:0 (port 0: any free port). */
  listen: string
  /** mailtap's CA, for STARTTLS and implicit TLS. */
  ca?: Ca
  keylog?: KeyLog
}

export interface MockServer {
  url: string
  port: number
  /** Ids of the sessions recorded so far, one per connection. */
  sessions(): string[]
  close(): Promise<void>
}

export class MockError extends Error {
  override name = 'MockError'
}

/** What a client gets for a command the recording does not have. */
function unexpectedReply(protocol: Protocol, unit: ClientUnit): string {
  switch (protocol) {
    case 'smtp':
      return '502 5.5.1 Command not in the recording (mailtap mock)\r\n'
    case 'pop3':
      return '-ERR command not in the recording (mailtap mock)\r\n'
    case 'imap':
      return `${unit.tag ?? '*'} BAD command not in the recording (mailtap mock)\r\n`
  }
}

/** Generic answers where the recording has the command but not its answer (a hand-written transcript). */
function synthesizedReply(protocol: Protocol, unit: ClientUnit, saslLeft: number | undefined): string {
  const verb = unit.verb ?? ''
  const saslNext = unit.kind === 'sasl' ? saslLeft !== 0 : (verb === 'AUTH' || verb === 'AUTHENTICATE') && !unit.initialResponse
  if (protocol === 'smtp') {
    if (saslNext) {
      const mech = unit.mechanism ?? ''
      if (mech === 'LOGIN') return unit.kind === 'command' ? '334 VXNlcm5hbWU6\r\n' : '334 UGFzc3dvcmQ6\r\n'
      if (mech === 'CRAM-MD5') return `334 ${Buffer.from(`<${Date.now()}.mock@mailtap>`).toString('base64')}\r\n`
      return '334 \r\n'
    }
    if (unit.kind === 'sasl' || verb === 'AUTH') return '235 2.7.0 Authentication successful\r\n'
    if (verb === 'DATA' && unit.kind === 'command') return '354 End data with <CR><LF>.<CR><LF>\r\n'
    if (verb === 'QUIT') return '221 2.0.0 Bye\r\n'
    return '250 2.0.0 Ok\r\n'
  }
  if (protocol === 'pop3') return saslNext ? '+ \r\n' : '+OK\r\n'
  if (saslNext) return '+ \r\n'
  return `${unit.tag ?? '*'} OK ${verb} completed (mailtap mock)\r\n`
}

/** The IMAP capabilities the recording shows (greeting code or a CAPABILITY answer). */
function imapCapabilities(script: Script): string {
  const greeting = /\[CAPABILITY ([^\]]+)\]/i.exec(script.greeting?.lines[0] ?? '')
  if (greeting) return greeting[1]!
  for (const ex of script.exchanges) {
    const line = ex.response?.lines.find((l) => /^\* CAPABILITY /i.test(l))
    if (line) return line.slice('* CAPABILITY '.length)
  }
  return 'IMAP4rev1'
}

function synthesizedGreeting(script: Script): string {
  switch (script.protocol) {
    case 'smtp':
      return '220 mailtap-mock ESMTP (the recording has no greeting)\r\n'
    case 'pop3':
      return '+OK mailtap mock ready (the recording has no greeting)\r\n'
    case 'imap':
      return `* OK [CAPABILITY ${imapCapabilities(script)}] mailtap mock ready (the recording has no greeting)\r\n`
  }
}

/**
 * Commands that change nothing and that clients send on their own (imaplib always asks
 * for CAPABILITY, many clients NOOP): when the recording lacks them they get a plain
 * answer instead of an error, still reported as a deviation.
 */
function housekeepingReply(script: Script, unit: ClientUnit): string | undefined {
  if (unit.kind !== 'command') return undefined
  const p = script.protocol
  if (unit.verb === 'NOOP') return p === 'smtp' ? '250 2.0.0 Ok\r\n' : p === 'pop3' ? '+OK\r\n' : `${unit.tag} OK NOOP completed (mailtap mock)\r\n`
  if (p === 'imap' && unit.verb === 'CAPABILITY') return `* CAPABILITY ${imapCapabilities(script)}\r\n${unit.tag} OK CAPABILITY completed (mailtap mock)\r\n`
  return undefined
}

/** The tagged line of an IMAP answer carries the live client's tag, not the recorded one. */
function retag(bytes: Buffer, recordedTag: string | undefined, liveTag: string | undefined): Buffer {
  if (!recordedTag || !liveTag || recordedTag === liveTag) return bytes
  const text = bytes.toString('latin1')
  const start = text.lastIndexOf('\n', text.length - 2) + 1
  if (!text.startsWith(recordedTag + ' ', start)) return bytes
  return Buffer.concat([bytes.subarray(0, start), Buffer.from(liveTag, 'latin1'), bytes.subarray(start + recordedTag.length)])
}

export async function startMock(opts: MockOptions): Promise<MockServer> {
  let where
  try {
    where = parseMailUrl(opts.listen, { allowPortZero: true })
  } catch (err) {
    throw new MockError((err as EndpointError).message)
  }
  let script: Script
  try {
    script = await loadScript(opts.store, opts.sessionId)
  } catch (err) {
    throw new MockError((err as Error).message)
  }
  if (where.protocol !== script.protocol) {
    throw new MockError(`session '${opts.sessionId}' is ${script.protocol} but ${opts.listen} speaks ${where.protocol}`)
  }
  if (where.tls && !opts.ca) throw new MockError(`${opts.listen} needs TLS, and no CA was given`)
  const ids: string[] = []
  const sockets = new Set<net.Socket>()
  const conns = new Set<MockConnection>()
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    const conn = new MockConnection(socket, script, opts, where.tls, formatMailUrl({ ...where, port: port() }))
    ids.push(conn.rec.id)
    conns.add(conn)
    conn.done.then(() => conns.delete(conn))
    void conn.start()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MockError(`cannot listen on ${opts.listen}: ${(err as Error).message}`)))
    server.listen(where.port, where.host, () => resolve())
  })
  const port = () => (server.address() as net.AddressInfo).port
  return {
    url: formatMailUrl({ ...where, port: port() }),
    port: port(),
    sessions: () => ids.slice(),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
      await Promise.all([...conns].map((c) => c.done))
    },
  }
}

class MockConnection {
  readonly rec: SessionRecorder
  private socket: net.Socket
  private framer: ClientFramer
  /** The next recorded exchange in order. */
  private cursor = 0
  private readonly used = new Set<number>()
  /** SASL lines still expected by the mechanism in progress (undefined: unknown). */
  private saslLeft: number | undefined
  private ending = false
  private upgrading = false
  private resolveDone!: () => void
  readonly done = new Promise<void>((r) => (this.resolveDone = r))

  constructor(
    socket: net.Socket,
    private readonly script: Script,
    private readonly opts: MockOptions,
    private readonly implicitTls: boolean,
    listenUrl: string,
  ) {
    this.socket = socket
    this.framer = new ClientFramer(script.protocol)
    this.rec = new SessionRecorder(opts.feed, {
      protocol: script.protocol,
      route: { id: 'mock', listenUrl, upstreamUrl: `mock:${script.session.id}` },
      client: { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 },
      server: { address: socket.localAddress ?? '127.0.0.1', port: socket.localPort ?? 0, host: 'mailtap-mock' },
      origin: { kind: 'mock', of: script.session.id },
    })
  }

  async start(): Promise<void> {
    this.socket.on('error', () => this.socket.destroy())
    this.socket.on('close', () => void this.end(this.ending ? 'mock-ended' : 'client-closed'))
    // The client is done sending: nothing more can be asked, so the mock closes too.
    this.socket.on('end', () => this.socket.end())
    if (this.implicitTls) {
      this.socket.pause()
      try {
        const { tls, info } = await acceptTls(this.socket, { ca: this.opts.ca!, fallbackNames: ['localhost'], keylog: this.opts.keylog, how: 'implicit' })
        this.rec.tls(info)
        this.adopt(tls)
      } catch (err) {
        this.rec.note({ level: 'error', code: 'TLS_HANDSHAKE_FAILED', text: `TLS with the client failed: ${(err as Error).message}` })
        void this.end('tls-failed', (err as Error).message)
        return
      }
    } else {
      this.socket.on('data', this.onData)
    }
    if (this.script.greeting) this.send(this.script.greeting.bytes)
    else {
      this.deviation({ level: 'info', code: 'MOCK_SYNTHESIZED_GREETING', text: 'the recording has no greeting: the mock sent a generic one' })
      this.send(Buffer.from(synthesizedGreeting(this.script)))
    }
  }

  private adopt(socket: net.Socket): void {
    this.socket = socket
    socket.on('data', this.onData)
    socket.on('error', () => socket.destroy())
    socket.on('close', () => void this.end(this.ending ? 'mock-ended' : 'client-closed'))
    socket.on('end', () => socket.end())
  }

  private async end(reason: 'mock-ended' | 'client-closed' | 'tls-failed', detail?: string): Promise<void> {
    if (this.upgrading && reason !== 'tls-failed') return
    await this.rec.close(reason, detail)
    this.resolveDone()
  }

  private send(bytes: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return
    this.socket.write(bytes)
    this.rec.chunk('server', bytes)
  }

  private deviation(note: Note): void {
    this.rec.note(note)
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.ending) return
    this.rec.chunk('client', chunk)
    const units = this.framer.push(chunk)
    for (let i = 0; i < units.length; i++) {
      const tls = this.answer(units[i]!)
      if (tls) {
        const rest = units.slice(i + 1)
        if (rest.length) {
          this.deviation({
            level: 'warn',
            code: 'MOCK_PLAINTEXT_AFTER_STARTTLS',
            text: `the client sent ${rest.length} command(s) in plaintext after STARTTLS, before the handshake: ignored`,
          })
        }
        void this.startTls()
        return
      }
      if (this.ending) return
    }
    if (this.framer.waitingForGoAhead) this.goAhead()
  }

  /**
   * RFC 3501 7.5: a synchronizing literal waits for the server's `+`. Where the recording
   * refused the literal instead (a tagged NO, e.g. over quota), the mock refuses it too.
   */
  private goAhead(): void {
    const pending = this.framer.peekLiteralCommand()
    const found = pending && this.match(pending)
    const ex = found ? this.script.exchanges[found.index] : undefined
    if (ex && !ex.goAheads?.length && ex.response?.status === 'error') {
      const unit = this.framer.abandonLiteral()
      if (unit) this.answer(unit)
      return
    }
    this.send(ex?.goAheads?.[0] ?? Buffer.from('+ Ready for literal data\r\n'))
    this.framer.noteLiteralStarted()
  }

  /** Finds the recorded exchange for a live unit: same kind and verb, next in order. */
  private match(unit: ClientUnit): { index: number; skipped: Exchange[] } | undefined {
    const exs = this.script.exchanges
    const fits = (ex: Exchange) => {
      if (ex.unit.kind !== unit.kind) return false
      if (unit.kind === 'sasl') return true
      if (unit.kind === 'data') return (ex.unit.verb ?? '') === (unit.verb ?? '')
      return (ex.unit.verb ?? '') === (unit.verb ?? '')
    }
    if (unit.kind === 'sasl') {
      // A SASL line answers the challenge just sent: only the very next recorded line fits.
      const ex = exs[this.cursor]
      return ex && fits(ex) ? { index: this.cursor, skipped: [] } : undefined
    }
    for (let j = this.cursor; j < exs.length; j++) {
      if (!this.used.has(j) && fits(exs[j]!)) {
        const skipped = exs.slice(this.cursor, j).filter((e, k) => !this.used.has(this.cursor + k) && e.unit.kind === 'command')
        return { index: j, skipped }
      }
    }
    // Asked out of order: an earlier recorded command not yet used.
    for (let j = 0; j < this.cursor; j++) {
      if (!this.used.has(j) && fits(exs[j]!)) return { index: j, skipped: [] }
    }
    return undefined
  }

  /** Answers one unit; returns true when the answer starts TLS. */
  private answer(unit: ClientUnit): boolean {
    const p = this.script.protocol
    if (unit.kind === 'command' && (unit.verb === 'AUTH' || unit.verb === 'AUTHENTICATE')) {
      const m = unit.mechanism ?? ''
      this.saslLeft = m === 'LOGIN' ? (unit.initialResponse ? 1 : 2) : m === 'PLAIN' || m === 'CRAM-MD5' ? (unit.initialResponse ? 0 : 1) : undefined
    } else if (unit.kind === 'sasl' && this.saslLeft !== undefined) this.saslLeft--
    const found = this.match(unit)
    const housekeeping = found ? undefined : housekeepingReply(this.script, unit)
    if (housekeeping) {
      this.deviation({
        level: 'info',
        code: 'MOCK_UNRECORDED_ANSWERED',
        text: `${describeUnit(unit)} is not in the recording; it changes nothing, so the mock answered it: ${housekeeping.trim().split(/\r?\n/).at(-1)}`,
      })
      this.send(Buffer.from(housekeeping))
      return false
    }
    if (!found) {
      const reply = unit.kind === 'sasl' ? synthesizedReply(p, unit, this.saslLeft) : unexpectedReply(p, unit)
      this.deviation({
        level: 'warn',
        code: 'MOCK_UNEXPECTED_COMMAND',
        text: `${describeUnit(unit)} is not in the recording${this.cursor < this.script.exchanges.length ? ` (next recorded: ${describeUnit(this.script.exchanges[this.cursor]!.unit)})` : ' (the recording has ended)'}: answered ${reply.trim()}`,
      })
      this.send(Buffer.from(reply))
      this.framer.answered(unit, { bytes: Buffer.from(reply), lines: [reply.trim()], status: /^(334|\+ )/.test(reply) ? 'continue' : 'error', code: reply.slice(0, 3) })
      return false
    }
    const ex = this.script.exchanges[found.index]!
    if (found.skipped.length) {
      this.deviation({
        level: 'warn',
        code: 'MOCK_SKIPPED_COMMANDS',
        text: `the client skipped ${found.skipped.length} recorded command(s): ${found.skipped.map((e) => describeUnit(e.unit)).join(', ')}`,
      })
    }
    if (unit.kind === 'command' && unit.mechanism && ex.unit.mechanism && unit.mechanism !== ex.unit.mechanism) {
      this.deviation({
        level: 'warn',
        code: 'MOCK_AUTH_MECHANISM_DIFFERS',
        text: `the client authenticates with ${unit.mechanism}, the recording with ${ex.unit.mechanism}: the recorded answers may not fit`,
      })
    }
    this.used.add(found.index)
    this.cursor = Math.max(this.cursor, found.index + 1)
    let bytes: Buffer
    let status: 'ok' | 'error' | 'continue' | 'other'
    if (ex.response) {
      bytes = p === 'imap' ? retag(ex.response.bytes, ex.response.tag, unit.tag) : ex.response.bytes
      status = ex.response.status
    } else {
      const reply = synthesizedReply(p, unit, this.saslLeft)
      this.deviation({ level: 'info', code: 'MOCK_SYNTHESIZED_REPLY', text: `the recording has no answer to ${describeUnit(unit)}: the mock sent ${reply.trim()}` })
      bytes = Buffer.from(reply)
      status = /^(334|354|\+ )/.test(reply) ? 'continue' : 'ok'
    }
    this.send(bytes)
    const res = { bytes, lines: bytes.toString('utf8').split(/\r?\n/).filter(Boolean), status, code: bytes.subarray(0, 3).toString() }
    this.framer.answered(unit, res)
    const verb = unit.verb ?? ''
    if (unit.kind === 'command' && (verb === 'STARTTLS' || verb === 'STLS') && (ex.startTls || status === 'ok')) return true
    if (unit.kind === 'command' && (verb === 'QUIT' || verb === 'LOGOUT')) {
      this.ending = true
      this.socket.end()
    }
    return false
  }

  private async startTls(): Promise<void> {
    const socket = this.socket
    if (!this.opts.ca) {
      this.deviation({ level: 'error', code: 'MOCK_NO_CA', text: 'the recording upgraded to TLS here, but the mock has no CA to do it' })
      this.ending = true
      socket.destroy()
      return
    }
    socket.removeListener('data', this.onData)
    socket.pause()
    // Bytes already read past STARTTLS: a ClientHello sent early goes back to the TLS engine.
    const rest = this.framer.rest()
    if (rest.length) socket.unshift(rest)
    this.framer = new ClientFramer(this.script.protocol)
    this.upgrading = true
    try {
      const { tls, info } = await acceptTls(socket, { ca: this.opts.ca, fallbackNames: ['localhost'], keylog: this.opts.keylog, how: 'starttls' })
      this.upgrading = false
      this.rec.tls(info, now())
      this.rec.upgraded()
      this.adopt(tls)
    } catch (err) {
      this.upgrading = false
      this.rec.note({ level: 'error', code: 'TLS_HANDSHAKE_FAILED', text: `TLS with the client failed: ${(err as Error).message}` })
      socket.destroy()
      void this.end('tls-failed', (err as Error).message)
    }
  }
}
