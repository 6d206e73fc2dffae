// The web side's guards: Host and Origin checks against DNS rebinding and cross-site
// requests, the token on non-loopback binds (API and /ws alike), and the security
// headers every response carries. No CORS: nothing here ever sends Access-Control-*.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import type { RequestHandler } from 'express'

export interface Guard {
  /** Host header values accepted (lower-case 'host:port'). */
  allowedHosts: () => readonly string[]
  /** The port we listen on: any IP literal with this port is accepted too. */
  port: () => number | undefined
  token?: string
}

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; error: string }

/**
 * DNS rebinding needs a name the attacker controls: a Host that is an IP literal, or
 * one of the names we were told about, cannot be one.
 */
export function isAllowedHost(host: string | undefined, guard: Guard): boolean {
  if (!host) return false
  const h = host.toLowerCase()
  if (guard.allowedHosts().includes(h)) return true
  const m = /^(\[[0-9a-f:.]+\]|[0-9.]+)(?::(\d+))?$/.exec(h)
  if (!m) return false
  const addr = m[1]!.replace(/^\[|\]$/g, '')
  if (isIP(addr) === 0) return false
  const port = m[2] ? Number(m[2]) : 80
  return port === guard.port()
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    const u = new URL(origin)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host.toLowerCase() === host.toLowerCase()
  } catch {
    return false
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false
  return timingSafeEqual(digest(given), digest(token))
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth)
    if (m) return m[1]
  }
  const url = new URL(req.url ?? '/', 'http://x')
  return url.searchParams.get('token') ?? undefined
}

/** One check for HTTP requests and WebSocket upgrades; `dataPath`: the API or the socket. */
export function checkRequest(req: IncomingMessage, guard: Guard, dataPath: boolean): Verdict {
  const host = req.headers.host
  if (!isAllowedHost(host, guard)) {
    return { ok: false, status: 403, error: `Host '${host ?? ''}' is not allowed (DNS rebinding protection); use the address mailtap printed` }
  }
  const origin = req.headers.origin
  if (origin !== undefined && !sameOrigin(origin, host!)) {
    return { ok: false, status: 403, error: `cross-origin request from '${origin}' refused` }
  }
  // Browsers leave Origin off cross-site GETs (<img>, <script>, no-cors fetch); their
  // Fetch Metadata still says where the request came from. Following a link is fine.
  const site = req.headers['sec-fetch-site']
  if (dataPath && (site === 'cross-site' || site === 'same-site') && req.headers['sec-fetch-mode'] !== 'navigate') {
    return { ok: false, status: 403, error: `a ${site} request was refused (Sec-Fetch-Site)` }
  }
  if (dataPath && guard.token !== undefined && !tokenMatches(tokenOf(req), guard.token)) {
    return { ok: false, status: 401, error: 'a token is required: send Authorization: Bearer TOKEN or ?token=TOKEN' }
  }
  return { ok: true }
}

/** Paths that carry data: the API and the socket. The dashboard's static files carry none. */
export function isDataPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/ws' || path.startsWith('/ws/')
}

export function guardMiddleware(guard: Guard): RequestHandler {
  return (req, res, next) => {
    const v = checkRequest(req, guard, isDataPath(req.path))
    if (!v.ok) {
      if (v.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="mailtap"')
      res.status(v.status).json({ error: v.error })
      return
    }
    next()
  }
}

/** The dashboard may load its own scripts and styles, talk to its own socket, and frame its own message view. */
export function dashboardCsp(host: string | undefined): string {
  const ws = host ? ` ws://${host} wss://${host}` : ''
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** Captured mail is hostile: nothing runs, nothing loads from anywhere. */
export const MESSAGE_HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"

export const securityHeaders: RequestHandler = (req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Referrer-Policy', 'no-referrer')
  res.setHeader('X-Frame-Options', 'DENY')
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin')
  res.setHeader('Content-Security-Policy', dashboardCsp(req.headers.host))
  if (isDataPath(req.path)) res.setHeader('Cache-Control', 'no-store')
  next()
}

/** Loopback binds need no token; anything else does. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1'
}
