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
}

/** Accepts one client connection on `route` and relays it until both sides are done. */
export function relayConnection(client: net.Socket, route: Route, opts: RelayOptions): SessionRecorder {
  const rec = new SessionRecorder(opts.feed, {
    protocol: route.protocol,
    route: { id: route.id, listenUrl: route.listenUrl, upstreamUrl: route.upstreamUrl },
    client: { address: client.remoteAddress ?? '?', port: client.remotePort ?? 0 },
    server: { host: route.upstream.host, address: route.upstream.host, port: route.upstream.port },
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
  private finished = false

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

  private async connect(): Promise<void> {
    const { route } = this
    try {
      if (route.listen.tls) {
        if (!this.opts.tls) throw new Error('implicit TLS needs the TLS layer')
        const { tls, info } = await this.opts.tls.acceptClient(this.client, route)
        this.client = this.adopt(tls, 'client')
        this.rec.tls(info)
      }
      if (route.upstream.tls) {
        if (!this.opts.tls) throw new Error('implicit TLS needs the TLS layer')
        const { tls, info, notes } = await this.withConnectTimeout(this.opts.tls.connectServer(undefined, route))
        this.server = this.adopt(tls, 'server')
        this.rec.tls(info, now(), notes)
      } else {
        this.server = this.adopt(await this.dial(), 'server')
      }
    } catch (err) {
      this.unreachable(err as NodeJS.ErrnoException)
      return
    }
    if (this.finished || this.client.destroyed) {
      this.server?.destroy()
      return
    }
    this.rec.session.server.address = this.server.remoteAddress ?? route.upstream.host
    this.rec.lifecycle({ phase: 'upstream-connected', detail: `${this.server.remoteAddress}:${this.server.remotePort}` })
    this.armIdleTimeout()
    this.pipe()
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
    if (side === 'server') {
      socket.on('error', (err) => this.fail('server', err))
      socket.on('close', () => this.onClose('server'))
    } else if (socket !== this.client) {
      socket.on('error', (err) => this.fail('client', err))
      socket.on('close', () => this.onClose('client'))
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
    this.detach.push(() => {
      src.removeListener('data', onData)
      src.removeListener('end', onEnd)
      dst.removeListener('drain', onDrain)
    })
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
    const at = now()
    void (async () => {
      try {
        const [c, s] = await Promise.all([
          tlsSupport.acceptClient(client, this.route),
          this.withConnectTimeout(tlsSupport.connectServer(server, this.route)),
        ])
        this.client = this.adopt(c.tls, 'client')
        this.server = this.adopt(s.tls, 'server')
        this.rec.tls(c.info)
        this.rec.tls(s.info, now(), s.notes)
        this.rec.upgraded()
        this.pipe()
      } catch (err) {
        this.closeReason = 'tls-failed'
        this.closeDetail = (err as Error).message
        this.rec.note(
          {
            level: 'error',
            code: 'TLS_UPGRADE_FAILED',
            text: `TLS upgrade failed: ${(err as Error).message}`,
            hint: (err as { hint?: string }).hint,
          },
          at,
        )
        client.destroy()
        server.destroy()
      }
    })()
  }

  private armIdleTimeout(): void {
    const idle = this.opts.idleTimeoutMs
    if (!idle) return
    const onTimeout = () => {
      if (now() - this.lastActivity < idle) return
      this.closeReason = 'idle-timeout'
      this.closeDetail = `no traffic for ${Math.round(idle / 1000)} s`
      this.client.destroy()
      this.server?.destroy()
    }
    this.client.setTimeout(idle, onTimeout)
    this.server!.setTimeout(idle, onTimeout)
  }

  private fail(side: Side, err: NodeJS.ErrnoException): void {
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
  const text = `mailtap: upstream ${upstream} unreachable: ${cause}`
  switch (protocol) {
    case 'smtp':
      return `421 4.4.1 ${text}\r\n`
    case 'pop3':
      return `-ERR [SYS/TEMP] ${text}\r\n`
    case 'imap':
      return `* BYE [UNAVAILABLE] ${text}\r\n`
  }
}
