// One proxied connection: dial the upstream, forward bytes both ways with backpressure
// and half-close, tap every chunk into the session recorder, switch both legs to TLS at
// the STARTTLS go-ahead, and end with a recorded reason. Forwarding happens first; the
// recorder only ever sees a chunk after it was handed to the other leg.
import net from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { CloseReason, Note, Protocol, Route, Side, TlsLeg } from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import { now } from '../clock.ts'
import { SessionRecorder } from '../session/recorder.ts'
import { sniffWrongMode, wrongModeNote, type WrongMode } from '../tls/notes.ts'
import { looksLikeClientHello } from '../tls/sniff.ts'

/** What the relay needs from the TLS layer (proxy/tls); absent, STARTTLS is passed through. */
export interface TlsSupport {
  /** TLS server towards the client on `socket` (implicit TLS or after the go-ahead). */
  acceptClient(socket: net.Socket, route: Route): Promise<{ tls: TLSSocket; info: TlsLeg }>
  /** TLS client towards the upstream, over `socket` (STARTTLS) or a new connection. */
  connectServer(socket: net.Socket | undefined, route: Route): Promise<{ tls: TLSSocket; info: TlsLeg; notes?: Note[] }>
}

export interface RelayOptions {
  feed: Feed
  /** Close a session when neither side sent anything for this long. 0 = never. */
  idleTimeoutMs: number
  connectTimeoutMs: number
  tls?: TlsSupport
  /** A plaintext upstream silent this long after connecting gets a "may be TLS" note
   *  (all three protocols greet first). Default 3000; 0 = never. */
  greetingWaitMs?: number
  /** Record raw bytes only, without decoding (the benchmark's way to price the decoders). */
  decode?: boolean
}

const DEFAULT_GREETING_WAIT_MS = 3000

/** Accepts one client connection on `route` and relays it until both sides are done. */
export function relayConnection(client: net.Socket, route: Route, opts: RelayOptions): SessionRecorder {
  const rec = new SessionRecorder(opts.feed, {
    protocol: route.protocol,
    route: { id: route.id, listenUrl: route.listenUrl, upstreamUrl: route.upstreamUrl },
    client: { address: client.remoteAddress ?? '?', port: client.remotePort ?? 0 },
    server: { host: route.upstream.host, address: route.upstream.host, port: route.upstream.port },
    implicitTls: route.listen.tls,
    decode: opts.decode,
  })
  new Relay(client, route, opts, rec).start()
  return rec
}

class Relay {
  private server: net.Socket | undefined
  private closeReason: CloseReason | undefined
  private closeDetail: string | undefined
  private lastActivity = now()
  private readonly ended = { client: false, server: false }
  private readonly detach: (() => void)[] = []
  private readonly detachOnFinish: (() => void)[] = []
  private finished = false
  /** Between the go-ahead and both handshakes: the raw sockets now belong to the TLS engines. */
  private upgrading = false
  /** The first bytes of each raw leg, until they tell TLS from plaintext (undefined: done). */
  private readonly head: Record<Side, Buffer | undefined> = { client: Buffer.alloc(0), server: Buffer.alloc(0) }

  constructor(
    private client: net.Socket,
    private readonly route: Route,
    private readonly opts: RelayOptions,
    private readonly rec: SessionRecorder,
  ) {}

  start(): void {
    // The client waits in the kernel buffer until the upstream answers: nothing is read
    // (so nothing is buffered here) before there is somewhere to send it.
    this.client.pause()
    this.client.setNoDelay(true)
    this.client.on('error', (err) => this.fail('client', err))
    this.client.on('close', () => this.onClose('client'))
    void this.connect()
  }

  /** Implicit TLS on both legs in passthrough mode: relay the encrypted bytes untouched. */
  private get implicitPassthrough(): boolean {
    return this.route.tlsMode === 'passthrough' && this.route.listen.tls && this.route.upstream.tls
  }

  private async connect(): Promise<void> {
    const { route } = this
    const tlsSupport = this.opts.tls
    const intercept = !this.implicitPassthrough
    if (this.implicitPassthrough) this.rec.passthrough()
    if (intercept && route.listen.tls) {
      try {
        if (!tlsSupport) throw new Error('implicit TLS needs the TLS layer')
        const { tls, info } = await tlsSupport.acceptClient(this.client, route)
        this.client = this.adopt(tls, 'client')
        this.rec.tls(info)
      } catch (err) {
        // The client never got a TLS session: there is nobody to answer in the protocol.
        this.tlsFailed('client', err, 'implicit')
        return
      }
    }
    try {
      if (intercept && route.upstream.tls) {
        if (!tlsSupport) throw new Error('implicit TLS needs the TLS layer')
        const { tls, info, notes } = await this.withConnectTimeout(tlsSupport.connectServer(undefined, route))
        this.server = this.adopt(tls, 'server')
        this.rec.tls(info, now(), notes)
      } else {
        this.server = this.adopt(await this.dial(), 'server')
      }
    } catch (err) {
      const code = (err as { code?: string }).code
      if (err instanceof Error && err.name === 'TlsError' && code !== 'TLS_UPSTREAM_UNREACHABLE') this.tlsFailed('server', err, 'implicit')
      else this.unreachable(err as NodeJS.ErrnoException)
      return
    }
    if (this.finished || this.client.destroyed) {
      this.server?.destroy()
      return
    }
    this.rec.session.server.address = this.server.remoteAddress ?? route.upstream.host
    this.rec.lifecycle({ phase: 'upstream-connected', detail: `${this.server.remoteAddress}:${this.server.remotePort}` })
    this.armIdleTimeout()
    if (!route.upstream.tls) this.watchGreeting()
    this.pipe()
  }

  /**
   * A server that says nothing on a connection mailtap opened in plaintext is most often an
   * implicit-TLS port waiting for a ClientHello (993, 995, 465): the client would hang with
   * no explanation, so say it while the session is still live.
   */
  private watchGreeting(): void {
    const waitMs = this.opts.greetingWaitMs ?? DEFAULT_GREETING_WAIT_MS
    if (!waitMs) return
    const timer = setTimeout(() => {
      if (this.finished || this.rec.session.totals.bytesFromServer > 0) return
      this.rec.note({
        level: 'warn',
        code: 'UPSTREAM_NO_GREETING',
        text: `the upstream sent no greeting within ${waitMs / 1000} s: it may expect TLS from the first byte (wrong port or TLS mode)`,
        hint: 'for ports 465, 993, 995 use smtps://, imaps:// or pop3s:// as the upstream URL',
      })
    }, waitMs)
    timer.unref()
    this.detachOnFinish.push(() => clearTimeout(timer))
  }

  private dial(): Promise<net.Socket> {
    const { host, port } = this.route.upstream
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, allowHalfOpen: true })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(Object.assign(new Error(`connect timed out after ${this.opts.connectTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' }))
      }, this.opts.connectTimeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeListener('error', reject)
        socket.setNoDelay(true)
        resolve(socket)
      })
      socket.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
  }

  private withConnectTimeout<T>(p: Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(Object.assign(new Error(`connect timed out after ${this.opts.connectTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' })),
        this.opts.connectTimeoutMs,
      )
      p.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e) => (clearTimeout(timer), reject(e)),
      )
    })
  }

  /** Takes a (possibly new, TLS) socket as one leg: error and close handling. */
  private adopt<T extends net.Socket>(socket: T, side: Side): T {
    if (side === 'server' || socket !== this.client) {
      socket.on('error', (err) => this.fail(side, err))
      socket.on('close', () => this.onClose(side))
      // A TLS socket can die between its handshake and this call (a peer that closes
      // right after the handshake while the other leg still negotiates): its 'close' is
      // gone by now, so replay it once the caller has installed the socket as a leg.
      if (socket.destroyed) setImmediate(() => this.onClose(side))
    }
    return socket
  }

  /** Forward both ways. Each direction pauses its source while the sink is full. */
  private pipe(): void {
    this.pump(this.client, this.server!, 'client')
    this.pump(this.server!, this.client, 'server')
    this.client.resume()
    this.server!.resume()
  }

  private pump(src: net.Socket, dst: net.Socket, side: Side): void {
    const onData = (chunk: Buffer) => {
      this.lastActivity = now()
      if (!dst.write(chunk)) src.pause()
      // Tap after the write: the recorder never delays a forwarded byte.
      if (this.head[side] !== undefined) this.sniff(side, chunk)
      if (this.rec.chunk(side, chunk, this.lastActivity)) this.startTls()
    }
    const onDrain = () => src.resume()
    const onEnd = () => {
      this.ended[side] = true
      this.closeReason ??= side === 'client' ? 'client-closed' : 'server-closed'
      this.rec.lifecycle({ phase: 'half-close', side })
      // end() flushes what is still queued for dst before sending FIN.
      if (!dst.destroyed) dst.end()
    }
    src.on('data', onData)
    src.on('end', onEnd)
    dst.on('drain', onDrain)
    // A TLS socket whose peer said goodbye right after the handshake, while the other leg
    // was still negotiating, has emitted its 'end' already (Node ends an empty stream on
    // EOF without a reader): carry it over now, or the session would wait forever.
    if (src.readableEnded) setImmediate(onEnd)
    this.detach.push(() => {
      src.removeListener('data', onData)
      src.removeListener('end', onEnd)
      dst.removeListener('drain', onDrain)
    })
  }

  /**
   * "Wrong port or TLS mode" from the first bytes of a leg mailtap does not decrypt: a TLS
   * record from an upstream dialled in plaintext, plaintext on an implicit-TLS passthrough.
   * A ClientHello on a plaintext listener is left to the decoder (TLS_ON_PLAINTEXT_PORT),
   * which already says so; a second note would only repeat it.
   */
  private sniff(side: Side, chunk: Buffer): void {
    const head = Buffer.concat([this.head[side]!, chunk.subarray(0, 16)])
    const legIsTls = side === 'client' ? this.route.listen.tls : this.route.upstream.tls
    const raw = !legIsTls || this.implicitPassthrough
    // Six bytes tell a ClientHello; a line end tells plaintext. Fewer: wait for more.
    if (raw && head.length < 6 && !head.includes(0x0a)) {
      this.head[side] = head
      return
    }
    this.head[side] = undefined
    if (!raw) return
    const kind: WrongMode | undefined = sniffWrongMode(side, legIsTls, head)
    if (kind && kind !== 'client-tls-on-plaintext') this.rec.note(wrongModeNote(kind))
  }

  /** The server accepted STARTTLS/STLS: upgrade both legs at this exact byte boundary. */
  private startTls(): void {
    const tlsSupport = this.opts.tls
    if (!tlsSupport || this.route.tlsMode === 'passthrough') {
      this.rec.passthrough()
      return
    }
    const client = this.client
    const server = this.server!
    // Stop reading plaintext now: whatever the client sends next is its ClientHello, and
    // it must reach the TLS server we are about to put on this socket, not the upstream.
    for (const undo of this.detach.splice(0)) undo()
    client.pause()
    server.pause()
    this.upgrading = true
    // Plaintext already read past the go-ahead (sent before the handshake, the CVE-2011-0411
    // class) must never reach a TLS engine: it goes to the recorder, which flags it, and no
    // further. A ClientHello right behind it is handed back to the socket.
    this.dropInjected(client, 'client')
    this.dropInjected(server, 'server')
    const at = now()
    void (async () => {
      const [c, s] = await Promise.allSettled([
        tlsSupport.acceptClient(client, this.route),
        this.withConnectTimeout(tlsSupport.connectServer(server, this.route)),
      ])
      this.upgrading = false
      if (c.status === 'fulfilled' && s.status === 'fulfilled') {
        this.client = this.adopt(c.value.tls, 'client')
        this.server = this.adopt(s.value.tls, 'server')
        this.rec.tls(c.value.info)
        this.rec.tls(s.value.info, now(), s.value.notes)
        this.rec.upgraded()
        this.pipe()
        return
      }
      if (c.status === 'fulfilled') {
        // The client is in TLS with us but the upstream is not: tell it why, in its protocol.
        this.client = this.adopt(c.value.tls, 'client')
        this.rec.tls(c.value.info)
        this.tlsFailed('server', (s as PromiseRejectedResult).reason, 'starttls', at)
        server.destroy()
        return
      }
      if (s.status === 'fulfilled') s.value.tls.destroy()
      else server.destroy()
      this.tlsFailed('client', c.reason, 'starttls', at)
      // An upstream failure as well is worth its own event.
      if (s.status === 'rejected') this.recordTlsFailure('server', s.reason, 'starttls', at)
    })()
  }

  /** Takes plaintext bytes already buffered on `socket` out of the way of the handshake. */
  private dropInjected(socket: net.Socket, side: Side): void {
    if (socket.readableLength === 0) return
    const chunks: Buffer[] = []
    for (let b: Buffer | null; (b = socket.read() as Buffer | null) !== null; ) chunks.push(b)
    const pending = Buffer.concat(chunks)
    // Only a client speaks first in TLS: whatever the upstream sent before our ClientHello is plaintext.
    let keep = pending.length
    if (side === 'client') {
      for (let i = 0; i < pending.length; i++) {
        if (pending[i] === 0x16 && looksLikeClientHello(pending.subarray(i))) {
          keep = i
          break
        }
      }
    }
    if (keep < pending.length) socket.unshift(pending.subarray(keep))
    if (keep > 0) this.rec.chunk(side, pending.subarray(0, keep))
  }

  /** A TLS handshake failed on `leg`: the event, the note in plain words, the close. */
  private tlsFailed(leg: Side, err: unknown, how: TlsLeg['how'], at: number = now()): void {
    const { text } = this.recordTlsFailure(leg, err, how, at)
    this.closeReason = 'tls-failed'
    this.closeDetail = `${leg}: ${text}`
    this.finished = true
    for (const undo of this.detachOnFinish.splice(0)) undo()
    void this.rec.close('tls-failed', this.closeDetail)
    if (leg === 'server' && !this.client.destroyed) {
      // The client still speaks the protocol with us (plaintext, or TLS with mailtap): answer it.
      const upstream = `${this.route.upstream.host}:${this.route.upstream.port}`
      this.client.end(unavailableReply(this.route.protocol, `mailtap: TLS to upstream ${upstream} failed: ${text}`))
      setTimeout(() => this.client.destroy(), 5000).unref()
    } else {
      this.client.destroy()
    }
  }

  private recordTlsFailure(leg: Side, err: unknown, how: TlsLeg['how'], at: number): { text: string } {
    const e = err as { code?: string; message?: string; hint?: string; alert?: string; info?: TlsLeg }
    const text = e?.message ?? String(err)
    const info: TlsLeg = e?.info ?? { leg, mode: 'intercept', how }
    const wrongMode: Record<string, WrongMode> = {
      TLS_CLIENT_SENT_PLAINTEXT: 'client-plaintext-on-tls',
      TLS_UPSTREAM_SENT_PLAINTEXT: 'server-plaintext-on-tls',
    }
    const kind = e?.code ? wrongMode[e.code] : undefined
    // Plaintext on a leg that was meant to be TLS from its first byte is the wrong-port case;
    // after STARTTLS it is a broken client or server, and keeps the handshake's own code.
    const note: Note =
      kind && how === 'implicit'
        ? { ...wrongModeNote(kind), text: `${wrongModeNote(kind).text}${e.alert ? ` [OpenSSL: ${e.alert}]` : ''}` }
        : {
            level: 'error',
            code: e?.code && e.code !== 'ERR_TLS' ? e.code : 'TLS_HANDSHAKE_FAILED',
            text: `TLS with the ${leg} failed: ${text}`,
            hint: e?.hint,
          }
    this.rec.note(note, at, { kind: 'tls', phase: 'failed', leg, info, error: text })
    return { text }
  }

  /**
   * One timer per session, rescheduled from the last byte either side sent. (The sockets'
   * own setTimeout used the event loop's cached clock: checked against now(), a timeout
   * could look a hair early, and returning then left it dead, as the listener was a once:
   * the session never timed out. Seen as a hung test under load.)
   */
  private armIdleTimeout(): void {
    const idle = this.opts.idleTimeoutMs
    if (!idle) return
    let timer: NodeJS.Timeout
    const check = () => {
      if (this.finished) return
      const quiet = now() - this.lastActivity
      if (quiet < idle) {
        timer = setTimeout(check, Math.ceil(idle - quiet))
        return
      }
      this.closeReason = 'idle-timeout'
      this.closeDetail = `no traffic for ${Math.round(idle / 1000)} s`
      this.client.destroy()
      this.server?.destroy()
    }
    timer = setTimeout(check, idle)
    this.detachOnFinish.push(() => clearTimeout(timer))
  }

  private fail(side: Side, err: NodeJS.ErrnoException): void {
    // Mid-upgrade the TLS engines own the sockets and report their failures themselves.
    if (this.upgrading) return
    if (!this.closeReason || this.closeReason.endsWith('-closed')) {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        this.closeReason = side === 'client' ? 'client-reset' : 'server-reset'
      } else if (!this.closeReason) {
        this.closeReason = 'error'
      }
      this.closeDetail = `${side}: ${err.code ?? ''} ${err.message}`.trim()
    }
    this.client.destroy()
    this.server?.destroy()
  }

  private onClose(side: Side): void {
    // One leg's handshake failing must not end the other leg while it still handshakes:
    // the client may yet be told why, in its protocol.
    if (this.upgrading) return
    const other = side === 'client' ? this.server : this.client
    if (other && !other.destroyed) {
      // The peer is gone; let the other side drain what it has, then close it.
      this.closeReason ??= side === 'client' ? 'client-closed' : 'server-closed'
      if (!other.writableEnded) other.end()
      // A peer that never closes its side after our FIN must not hold the session open.
      setTimeout(() => other.destroy(), 5000).unref()
      return
    }
    if (side === 'server' && this.server === undefined) return
    this.closeReason ??= side === 'client' ? 'client-closed' : 'server-closed'
    this.finish()
  }

  private finish(): void {
    if (this.finished) return
    this.finished = true
    for (const undo of this.detachOnFinish.splice(0)) undo()
    void this.rec.close(this.closeReason ?? 'error', this.closeDetail)
  }

  /** The upstream could not be reached: answer in the protocol's own words, then close. */
  private unreachable(err: NodeJS.ErrnoException): void {
    const { host, port } = this.route.upstream
    const cause = describeConnectError(err)
    const upstream = `${host}:${port}`
    const reply = unreachableReply(this.route.protocol, upstream, cause)
    this.rec.note({
      level: 'error',
      code: 'UPSTREAM_UNREACHABLE',
      text: `upstream ${upstream} unreachable: ${cause}; mailtap answered the client: ${reply.trimEnd()}`,
      hint: 'Check the route\'s upstream host and port, and that the server is running and reachable from here.',
    })
    this.closeReason = 'upstream-unreachable'
    this.closeDetail = `${upstream}: ${cause}`
    this.finished = true
    for (const undo of this.detachOnFinish.splice(0)) undo()
    void this.rec.close('upstream-unreachable', this.closeDetail)
    if (!this.client.destroyed) this.client.end(reply)
  }
}

/** Plain words for a failed dial. */
export function describeConnectError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `DNS lookup failed (${err.code})`
    case 'ETIMEDOUT':
      return err.message.startsWith('connect timed out') ? err.message : 'connection timed out'
    case 'EHOSTUNREACH':
      return 'host unreachable'
    case 'ENETUNREACH':
      return 'network unreachable'
    case 'ECONNRESET':
      return 'connection reset by the upstream'
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message
  }
}

/** The protocol's own way of saying "service not available" (RFC 5321, 1939/2449, 9051). */
export function unreachableReply(protocol: Protocol, upstream: string, cause: string): string {
  return unavailableReply(protocol, `mailtap: upstream ${upstream} unreachable: ${cause}`)
}

/** A one-line "service not available, closing" in the protocol's words. */
export function unavailableReply(protocol: Protocol, text: string): string {
  text = text.replace(/[\r\n]+/g, ' ')
  switch (protocol) {
    case 'smtp':
      return `421 4.4.1 ${text}\r\n`
    case 'pop3':
      return `-ERR [SYS/TEMP] ${text}\r\n`
    case 'imap':
      return `* BYE [UNAVAILABLE] ${text}\r\n`
  }
}
