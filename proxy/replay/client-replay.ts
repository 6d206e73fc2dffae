// Client replay: re-sends a recording's client side to a server, turn by turn in lockstep
// with the replies (a pipelined group stays one write), upgrades where the recording did
// STARTTLS, substitutes credentials, records the run as a new session linked to the
// original, and compares each reply with the recorded one (diff.ts).
import net from 'node:net'
import type { Note } from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import { now } from '../clock.ts'
import { SessionRecorder } from '../session/recorder.ts'
import type { Store } from '../store/index.ts'
import { connectTls } from '../tls/upgrade.ts'
import { substitute, type Credentials } from './credentials.ts'
import { compareRow, showUnit, verdictOf, type DiffRow, type ReplayResult } from './diff.ts'
import { formatMailUrl, parseMailUrl, type MailUrl } from './endpoint.ts'
import { ServerFramer, type ClientUnit, type ServerResponse } from './framing.ts'
import { DEFAULT_RULES, type NormaliseRule } from './normalise.ts'
import { loadScript, type Exchange, type Script } from './script.ts'

export interface ReplayOptions {
  store: Store
  feed: Feed
  sessionId: string
  /** Where to replay: smtp://host:port, imaps://host:port... Default: the recording's upstream. */
  to?: string
  user?: string
  password?: string
  /** Keep the recorded pauses between turns, divided by this. */
  speed?: number
  /** Send each turn as soon as the previous one is answered (the default). */
  lockstep?: boolean
  tls: { ca?: string | string[]; verify: 'strict' | 'warn' | 'off' }
  onProgress?: (done: number, total: number) => void
  /** Extra normalisation rules, applied after the built-in ones. */
  rules?: NormaliseRule[]
  /** How long to wait for a turn's answers before moving on. Default 15 s. */
  replyTimeoutMs?: number
  connectTimeoutMs?: number
}

/** A usage problem (unknown session, bad URL, protocol mismatch): the CLI exits 2. */
export class ReplayError extends Error {
  override name = 'ReplayError'
}

const DEFAULT_REPLY_TIMEOUT_MS = 15_000
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** A recorded pause longer than this is shortened to it, whatever the speed. */
const MAX_PAUSE_MS = 30_000
/** After the last turn, how long the server gets to close before we do. */
const CLOSE_WAIT_MS = 2_000

/** POP3/IMAP commands that name messages by number (or UID): their answers depend on the mailbox. */
const NUMBERED: Record<string, RegExp> = {
  pop3: /^(RETR|TOP|DELE|LIST|UIDL)$/,
  imap: /^(UID )?(FETCH|STORE|COPY|MOVE|EXPUNGE)$/,
  smtp: /^$/,
}

function isStateDependent(protocol: string, u: ClientUnit): boolean {
  if (u.kind !== 'command' || !u.verb) return false
  if (!NUMBERED[protocol]!.test(u.verb)) return false
  if (protocol === 'pop3' && (u.verb === 'LIST' || u.verb === 'UIDL')) return (u.args ?? '').trim() !== ''
  return true
}

/** Messages in the mailbox as an answer reports them: IMAP `* n EXISTS`, POP3 STAT `+OK n size`. */
function mailboxCount(protocol: string, u: ClientUnit, res: ServerResponse | undefined): number | undefined {
  if (!res) return undefined
  if (protocol === 'imap' && /^(SELECT|EXAMINE)$/.test(u.verb ?? '')) {
    for (const l of res.lines) {
      const m = /^\* (\d+) EXISTS/i.exec(l)
      if (m) return Number(m[1])
    }
  }
  if (protocol === 'pop3' && u.verb === 'STAT') {
    const m = /^\+OK (\d+) /.exec(res.lines[0] ?? '')
    if (m) return Number(m[1])
  }
  return undefined
}

function resolveTarget(script: Script, to: string | undefined): MailUrl {
  let target: MailUrl
  try {
    target = parseMailUrl(to ?? script.session.route.upstreamUrl)
  } catch (err) {
    if (!to) {
      throw new ReplayError(`session '${script.session.id}' has no server to replay against (${script.session.route.upstreamUrl}): give --to URL`)
    }
    throw new ReplayError((err as Error).message)
  }
  if (target.protocol !== script.protocol) {
    throw new ReplayError(`session '${script.session.id}' is ${script.protocol} but ${formatMailUrl(target)} speaks ${target.protocol}`)
  }
  return target
}

export async function replaySession(opts: ReplayOptions): Promise<ReplayResult> {
  if ((opts.user === undefined) !== (opts.password === undefined)) throw new ReplayError('--user and --password go together')
  if (opts.speed !== undefined && !(opts.speed > 0)) throw new ReplayError('speed must be a number above 0')
  let script: Script
  try {
    script = await loadScript(opts.store, opts.sessionId)
  } catch (err) {
    throw new ReplayError((err as Error).message)
  }
  const target = resolveTarget(script, opts.to)
  const creds: Credentials | undefined = opts.user !== undefined ? { user: opts.user, password: opts.password! } : undefined
  const run = new Replay(script, target, creds, opts)
  return run.start()
}

class Replay {
  private socket: net.Socket | undefined
  private readonly rec: SessionRecorder
  private readonly framer: ServerFramer
  /** Exchanges sent and not yet answered, oldest first. */
  private readonly awaiting: Exchange[] = []
  private readonly live = new Map<Exchange, ServerResponse>()
  /** Answers beyond what was asked (the server read the bytes differently): shown on the last exchange. */
  private readonly surplus = new Map<Exchange, ServerResponse[]>()
  private greeting: ServerResponse | undefined
  private granted = new Map<ClientUnit, number>()
  private closed = false
  private closedDetail: string | undefined
  private wake: (() => void) | undefined
  private lastSent: Exchange | undefined
  private lastChallenge: string | undefined
  private readonly notes: Note[] = []
  private readonly rowNotes = new Map<Exchange, Note[]>()

  constructor(
    private readonly script: Script,
    private readonly target: MailUrl,
    private readonly creds: Credentials | undefined,
    private readonly opts: ReplayOptions,
  ) {
    this.framer = new ServerFramer(script.protocol)
    this.rec = new SessionRecorder(opts.feed, {
      protocol: script.protocol,
      route: { id: 'replay', listenUrl: `replay:${script.session.id}`, upstreamUrl: formatMailUrl(target) },
      client: { address: '127.0.0.1', port: 0 },
      server: { host: target.host, address: target.host, port: target.port },
      origin: { kind: 'replay', of: script.session.id },
    })
  }

  async start(): Promise<ReplayResult> {
    const total = this.script.exchanges.length
    try {
      await this.connect()
    } catch (err) {
      const text = `cannot reach ${formatMailUrl(this.target)}: ${(err as Error).message}`
      this.addNote({ level: 'error', code: 'REPLAY_UNREACHABLE', text })
      await this.rec.close((err as { code?: string }).code?.startsWith('TLS') ? 'tls-failed' : 'upstream-unreachable', text)
      return this.result()
    }
    const timeoutMs = this.opts.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS
    const challenged = this.script.exchanges.find((e) => e.unit.kind === 'command' && /^(CRAM-MD5|DIGEST-MD5|SCRAM-)/.test(e.unit.mechanism ?? ''))
    if (challenged && !this.creds) {
      this.addNote({
        level: 'warn',
        code: 'REPLAY_AUTH_NEEDS_PASSWORD',
        text: `the recording authenticates with ${challenged.unit.mechanism}, whose answer depends on the server's challenge: without --user/--password the recorded answer is sent and will fail`,
      })
    }
    // The server speaks first in all three protocols.
    await this.until(() => this.greeting !== undefined, timeoutMs)
    if (!this.greeting && !this.closed) this.addNote({ level: 'warn', code: 'REPLAY_NO_GREETING', text: `no greeting from the server within ${timeoutMs / 1000} s` })

    let done = 0
    let prevAt: number | undefined
    let prevSentAt = now()
    for (const turn of this.script.turns) {
      if (this.closed) break
      const exchanges = turn.map((i) => this.script.exchanges[i]!)
      const at = exchanges[0]!.at
      if (this.opts.speed && !this.opts.lockstep && prevAt !== undefined) {
        const pause = Math.min(MAX_PAUSE_MS, (at - prevAt) / this.opts.speed) - (now() - prevSentAt)
        if (pause > 0) await new Promise((r) => setTimeout(r, pause))
      }
      prevAt = at
      const bytes: Buffer[] = []
      for (const ex of exchanges) {
        const authUnit = this.authOf(ex)
        const sub = substitute(ex.unit, this.creds, {
          protocol: this.script.protocol,
          auth: authUnit,
          challenge: this.lastChallenge,
          greeting: this.greeting?.lines[0],
        })
        if (sub.note) this.addRowNote(ex, sub.note)
        bytes.push(sub.bytes)
        this.awaiting.push(ex)
        this.lastSent = ex
      }
      prevSentAt = now()
      this.write(Buffer.concat(bytes))
      await this.until(() => exchanges.every((e) => this.live.has(e)), timeoutMs)
      for (const ex of exchanges) {
        if (!this.live.has(ex) && !this.closed) {
          this.addRowNote(ex, { level: 'warn', code: 'REPLAY_NO_RESPONSE', text: `no response within ${timeoutMs / 1000} s` })
        }
      }
      done += exchanges.length
      this.opts.onProgress?.(done, total)
      const tlsAt = exchanges.find((e) => e.startTls)
      if (tlsAt && !this.closed) await this.startTls(tlsAt)
    }
    await this.finish()
    return this.result()
  }

  /** The AUTH command a SASL line belongs to: the nearest AUTH before it. */
  private authOf(ex: Exchange): ClientUnit | undefined {
    if (ex.unit.kind !== 'sasl') return undefined
    for (let i = ex.n - 2; i >= 0; i--) {
      const u = this.script.exchanges[i]!.unit
      if (u.kind === 'command') return u.verb === 'AUTH' || u.verb === 'AUTHENTICATE' ? u : undefined
    }
    return undefined
  }

  private addNote(note: Note): void {
    this.notes.push(note)
    this.rec.note(note)
  }

  private addRowNote(ex: Exchange, note: Note): void {
    const list = this.rowNotes.get(ex) ?? []
    if (list.some((n) => n.code === note.code)) return
    list.push(note)
    this.rowNotes.set(ex, list)
    this.rec.note(note)
  }

  private connect(): Promise<void> {
    const { host, port } = this.target
    const connectTimeoutMs = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    if (this.target.tls) {
      return connectTls(undefined, { host, port, verify: this.opts.tls.verify, ca: this.opts.tls.ca, handshakeTimeoutMs: connectTimeoutMs }).then(({ tls, info }) => {
        this.rec.tls({ ...info, leg: 'server' })
        this.adopt(tls)
      })
    }
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`connect timed out after ${connectTimeoutMs / 1000} s`))
      }, connectTimeoutMs)
      socket.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        socket.setNoDelay(true)
        this.adopt(socket)
        resolve()
      })
    })
  }

  private adopt(socket: net.Socket): void {
    this.socket = socket
    this.rec.session.client = { address: socket.localAddress ?? '127.0.0.1', port: socket.localPort ?? 0 }
    this.rec.session.server.address = socket.remoteAddress ?? this.target.host
    this.rec.lifecycle({ phase: 'upstream-connected', detail: `${socket.remoteAddress}:${socket.remotePort}` })
    socket.on('data', this.onData)
    socket.on('error', this.onError)
    socket.on('close', this.onClose)
  }

  private detach(socket: net.Socket): void {
    socket.removeListener('data', this.onData)
    socket.removeListener('error', this.onError)
    socket.removeListener('close', this.onClose)
  }

  private readonly onData = (chunk: Buffer): void => {
    this.rec.chunk('server', chunk)
    const greetingFirst = !this.greeting && this.lastSent === undefined ? 1 : 0
    const responses = this.framer.push(chunk, (i) => this.awaiting[i - greetingFirst]?.unit)
    for (const res of responses) this.onResponse(res)
    this.wake?.()
  }

  private onResponse(res: ServerResponse): void {
    if (res.status === 'continue') this.lastChallenge = res.lines[0]?.replace(/^(334|\+) ?/, '')
    if (!this.greeting && this.live.size === 0 && this.awaiting.length === 0 && this.lastSent === undefined) {
      this.greeting = res
      return
    }
    // An IMAP `+` for a literal we already sent in full is its go-ahead, not its answer.
    const lit = this.awaiting.find((e) => e.unit.syncLiterals && (this.granted.get(e.unit) ?? 0) < e.unit.syncLiterals)
    if (lit && res.status === 'continue') {
      this.granted.set(lit.unit, (this.granted.get(lit.unit) ?? 0) + 1)
      return
    }
    let i = 0
    if (this.script.protocol === 'imap' && res.tag !== undefined) {
      const t = this.awaiting.findIndex((e) => e.unit.tag === res.tag)
      if (t >= 0) i = t
    }
    const ex = this.awaiting.splice(i, 1)[0]
    if (ex) {
      this.live.set(ex, res)
      return
    }
    const last = this.lastSent
    if (last) {
      const list = this.surplus.get(last) ?? []
      list.push(res)
      this.surplus.set(last, list)
    }
  }

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    this.closedDetail = `${err.code ?? ''} ${err.message}`.trim()
  }

  private readonly onClose = (): void => {
    this.closed = true
    const tail = this.framer.flush()
    if (tail) this.onResponse(tail)
    this.wake?.()
  }

  private write(bytes: Buffer): void {
    if (!this.socket || this.closed || this.socket.destroyed) return
    this.socket.write(bytes)
    this.rec.chunk('client', bytes)
  }

  /** Resolves when `done()` holds, the connection closed, or the time is up. */
  private until(done: () => boolean, timeoutMs: number): Promise<void> {
    if (done() || this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(finish, timeoutMs)
      function finish() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = () => {
        if (done() || this.closed) {
          this.wake = undefined
          finish()
        }
      }
    })
  }

  private async startTls(ex: Exchange): Promise<void> {
    const res = this.live.get(ex)
    if (!res || res.status !== 'ok') {
      this.addRowNote(ex, { level: 'warn', code: 'REPLAY_STARTTLS_REFUSED', text: 'the recording upgraded to TLS here; the server did not accept it, so the replay goes on in plaintext' })
      return
    }
    const socket = this.socket!
    this.detach(socket)
    socket.pause()
    try {
      const { tls, info } = await connectTls(socket, {
        host: this.target.host,
        verify: this.opts.tls.verify,
        ca: this.opts.tls.ca,
        handshakeTimeoutMs: this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      })
      const notes: Note[] = []
      if (info.verify && !info.verify.ok) notes.push({ level: 'warn', code: 'TLS_UPSTREAM_CERT_INVALID', text: `the server's certificate: ${info.verify.text}` })
      this.rec.tls(info, now(), notes)
      this.rec.upgraded()
      this.socket = tls
      tls.on('data', this.onData)
      tls.on('error', this.onError)
      tls.on('close', this.onClose)
    } catch (err) {
      this.addRowNote(ex, { level: 'error', code: 'TLS_UPGRADE_FAILED', text: `TLS upgrade failed: ${(err as Error).message}` })
      this.closed = true
      this.closedDetail = (err as Error).message
      socket.destroy()
    }
  }

  private async finish(): Promise<void> {
    const socket = this.socket
    if (socket && !this.closed) {
      // The recording ends here. After QUIT/LOGOUT the server closes: give it a moment to.
      const last = this.script.exchanges.at(-1)?.unit
      const farewell = last?.kind === 'command' && /^(QUIT|LOGOUT)$/.test(last.verb ?? '')
      if (farewell) await this.until(() => false, CLOSE_WAIT_MS)
      if (!this.closed) {
        socket.end()
        await this.until(() => false, CLOSE_WAIT_MS)
        if (!this.closed) socket.destroy()
      }
    }
    const unanswered = this.script.exchanges.filter((e) => !this.live.has(e))
    if (this.closed && unanswered.length && this.lastSent && unanswered.some((e) => e.n > this.lastSent!.n)) {
      const first = unanswered.find((e) => e.n > this.lastSent!.n)!
      this.addNote({
        level: 'warn',
        code: 'REPLAY_SERVER_CLOSED',
        text: `the server closed the connection before exchange ${first.n}${this.closedDetail ? ` (${this.closedDetail})` : ''}; ${unanswered.length} exchange(s) got no answer`,
      })
    }
    await this.rec.close('replay-ended', this.closedDetail)
  }

  private result(): ReplayResult {
    const s = this.script
    const rules = [...DEFAULT_RULES, ...(this.opts.rules ?? [])]
    const rows: DiffRow[] = []
    if (s.greeting || this.greeting) rows.push(compareRow(0, '(greeting)', s.protocol, undefined, s.greeting, this.greeting, rules))
    let recordedCount: number | undefined
    let liveCount: number | undefined
    let stateNoted = false
    for (const ex of s.exchanges) {
      const live = this.live.get(ex)
      const row = compareRow(ex.n, showUnit(ex.unit, s.protocol), s.protocol, ex.unit.verb, ex.response, live, rules)
      const extra = this.surplus.get(ex)
      if (extra?.length) {
        row.replayed.push(...extra.flatMap((r) => r.lines))
        row.equal = false
        this.addRowNote(ex, { level: 'warn', code: 'REPLAY_EXTRA_RESPONSES', text: `the server sent ${extra.length} more response(s) than the recording has for this turn` })
      }
      recordedCount = mailboxCount(s.protocol, ex.unit, ex.response) ?? recordedCount
      liveCount = mailboxCount(s.protocol, ex.unit, live) ?? liveCount
      if (isStateDependent(s.protocol, ex.unit)) {
        row.stateDependent = true
        if (!stateNoted && recordedCount !== undefined && liveCount !== undefined && recordedCount !== liveCount) {
          stateNoted = true
          this.addRowNote(ex, {
            level: 'warn',
            code: 'REPLAY_MAILBOX_STATE',
            text: `the mailbox held ${recordedCount} message(s) when recorded and ${liveCount} now: '${row.command}' and later numbered commands may name other messages`,
          })
        }
      }
      const notes = this.rowNotes.get(ex)
      if (notes?.length) row.notes = notes
      rows.push(row)
    }
    return { ...verdictOf(rows), exchanges: rows, replaySessionId: this.rec.id, notes: this.notes }
  }
}

