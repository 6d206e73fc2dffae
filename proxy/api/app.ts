// The HTTP side: the JSON API under /api, the dashboard's built files, and the listening
// server that also carries the WebSocket (/ws, attached by the hub). Guards first,
// routes after, one error handler last so no bad request can crash the process.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join, resolve } from 'node:path'
import express, { type Express } from 'express'
import type { Route } from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import type { Store } from '../store/index.ts'
import type { ApiContext } from './context.ts'
import { errorHandler, notFound } from './errors.ts'
import { exportRouter } from './routes/export.ts'
import { importRouter } from './routes/import.ts'
import { messagesRouter } from './routes/messages.ts'
import { miscRouter } from './routes/misc.ts'
import { replayRouter } from './routes/replay.ts'
import { sessionsRouter } from './routes/sessions.ts'
import { checkRequest, guardMiddleware, isLoopback, securityHeaders, type Guard } from './security.ts'

export interface AppOptions {
  store: Store
  feed: Feed
  routes: Route[]
  version: string
  caPem?: () => string | undefined
  /** When set, /api and /ws need it (Bearer or ?token=). */
  token?: string
  /** Host header values accepted besides IP literals on our port ('localhost:8025'). */
  allowedHosts: string[] | (() => readonly string[])
  /** The dashboard's built files (dashboard/dist). */
  staticDir?: string
  lab?: object
  /** For replay and mock started from the API (see ApiContext). */
  ca?: ApiContext['ca']
  upstreamCa?: string[]
  upstreamVerify?: ApiContext['upstreamVerify']
  /** The port we serve on, for the Host check; startHttp fills it in. */
  port?: () => number | undefined
}

export function createApp(opts: AppOptions): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  // Express 5 parses `a[b]=c` into objects only with 'extended'; keep every value a string.
  app.set('query parser', 'simple')

  const hosts = typeof opts.allowedHosts === 'function' ? opts.allowedHosts : () => (opts.allowedHosts as string[]).map((h) => h.toLowerCase())
  const guard: Guard = { allowedHosts: hosts, port: opts.port ?? (() => undefined), token: opts.token }
  app.use(securityHeaders)
  app.use(guardMiddleware(guard))

  const ctx: ApiContext = {
    store: opts.store,
    feed: opts.feed,
    routes: opts.routes,
    version: opts.version,
    startedAt: Date.now(),
    caPem: opts.caPem,
    lab: opts.lab,
    ca: opts.ca,
    upstreamCa: opts.upstreamCa,
    upstreamVerify: opts.upstreamVerify,
  }
  const api = express.Router()
  api.use(miscRouter(ctx))
  api.use(sessionsRouter(ctx))
  api.use(messagesRouter(ctx))
  api.use(exportRouter(ctx))
  api.use(importRouter(ctx))
  api.use(replayRouter(ctx))
  api.use(notFound)
  app.use('/api', api)

  if (opts.staticDir && existsSync(join(opts.staticDir, 'index.html'))) {
    const dir = resolve(opts.staticDir)
    app.use(express.static(dir, { index: 'index.html', fallthrough: true, dotfiles: 'ignore' }))
    // Client-side routes: any other GET that is not the API or the socket gets the app.
    app.get(/^(?!\/(api|ws)(\/|$)).*/, (req, res, next) => {
      if (!req.accepts('html')) return next()
      res.sendFile(join(dir, 'index.html'))
    })
  } else {
    app.get('/', (_req, res) => {
      res.status(404).json({ error: 'the dashboard is not built: run npm run build' })
    })
  }
  app.use(notFound)
  app.use(errorHandler)
  return app
}

export interface HttpOptions extends Omit<AppOptions, 'allowedHosts' | 'port'> {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: any free port. */
  port?: number
  /** More Host names to accept, e.g. the machine's name when binding 0.0.0.0. */
  allowedHosts?: string[]
  /** The hub attaches its WebSocket server here; the Host/Origin/token guard wraps it. */
  attachWs?: (server: http.Server) => void
}

export interface HttpServer {
  url: string
  server: http.Server
  port: number
  /** Set when the bind is not loopback: given, or generated here. Print it. */
  token?: string
  close(): Promise<void>
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

export async function startHttp(opts: HttpOptions): Promise<HttpServer> {
  const host = opts.host ?? '127.0.0.1'
  // A bind others can reach always has a token: given, or generated and printed by main.
  const token = opts.token ?? (isLoopback(host) ? undefined : randomBytes(24).toString('base64url'))
  let port: number | undefined
  const allowed: string[] = []
  const app = createApp({ ...opts, token, allowedHosts: () => allowed, port: () => port })
  const server = http.createServer(app)
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })

  if (opts.attachWs) {
    opts.attachWs(server)
    guardUpgrades(server, { allowedHosts: () => allowed, port: () => port, token })
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolveListen()
    })
  })
  port = (server.address() as AddressInfo).port
  const names = ['127.0.0.1', 'localhost', '[::1]', formatHost(host), ...(opts.allowedHosts ?? [])]
  for (const n of names) allowed.push(`${n.toLowerCase()}:${port}`)
  if (port === 80) allowed.push(...names.map((n) => n.toLowerCase()))

  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : formatHost(host)
  return {
    url: `http://${shown}:${port}`,
    server,
    port,
    token,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done())
        for (const s of sockets) s.destroy()
      }),
  }
}

/**
 * Runs the same Host/Origin/token check before any 'upgrade' listener (the hub's ws
 * server) sees the request; a refused upgrade gets a plain HTTP error and is closed.
 */
function guardUpgrades(server: http.Server, guard: Guard): void {
  const listeners = server.listeners('upgrade') as ((req: http.IncomingMessage, socket: Socket, head: Buffer) => void)[]
  server.removeAllListeners('upgrade')
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const v = checkRequest(req, guard, true)
    if (!v.ok) {
      const body = JSON.stringify({ error: v.error })
      socket.end(
        `HTTP/1.1 ${v.status} ${v.status === 401 ? 'Unauthorized' : 'Forbidden'}\r\n` +
          'Content-Type: application/json\r\nConnection: close\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      )
      return
    }
    for (const l of listeners) l.call(server, req, socket, head)
  })
}
