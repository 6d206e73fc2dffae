// Settings: route URLs, the config file, defaults. Everything here is pure parsing;
// problems the user must fix are UsageErrors (one line, exit code 2).
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Endpoint, Protocol, Route, TlsMode } from '../shared/schema.ts'

export class UsageError extends Error {}

export type UpstreamVerify = 'strict' | 'warn' | 'off'
export type Lang = 'en' | 'es'

export interface Config {
  routes: Route[]
  http: { host: string; port: number }
  dataDir: string
  idleTimeoutMs: number
  connectTimeoutMs: number
  tlsMode: TlsMode
  upstreamVerify: UpstreamVerify
  keylog?: string
  /** Lab mode: the embedded mail server behind the proxy. */
  lab: boolean
  labFaults?: string
  /** Lab mode's proxy ports (0: ephemeral); undefined: the fixed defaults 2525/1110/1143/2465/1995/1993. */
  labPorts?: LabProxyPorts
  /** Lab users and domain from the config file; undefined: the lab's defaults (alice, bob, the seed's pepe and usuario @ mail.test). */
  labUsers?: { name: string; password: string; aliases?: string[] }[]
  labDomain?: string
  /** Recording retention; undefined = keep everything. */
  retention: { maxSessions?: number; maxBytes?: number; maxAgeMs?: number }
  /** Required for a non-loopback --http bind; generated when absent. */
  token?: string
}

/** Everything a config file or the command line may set, before defaults. */
export interface Settings {
  routes?: string[]
  http?: string
  data?: string
  idleTimeout?: number
  connectTimeout?: number
  tlsMode?: string
  upstreamVerify?: string
  keylog?: string
  lab?: boolean
  labFaults?: string
  /** `auto` or `SMTP,POP3,IMAP[,SMTPS,POP3S,IMAPS]`. */
  labPorts?: string
  /** Config file only: the lab's users, e.g. [{"name": "ana", "password": "anapw"}]. */
  labUsers?: { name: string; password: string; aliases?: string[] }[]
  labDomain?: string
  maxSessions?: number
  maxBytes?: number
  maxAgeDays?: number
  token?: string
}

export const DEFAULT_HTTP_PORT = 8725

export interface LabProxyPorts {
  smtp: number
  pop3: number
  imap: number
  smtps: number
  pop3s: number
  imaps: number
}

const LAB_PORT_NAMES = ['smtp', 'pop3', 'imap', 'smtps', 'pop3s', 'imaps'] as const

/**
 * `--lab-ports auto` (every lab proxy port ephemeral, for tests and a second instance) or
 * `SMTP,POP3,IMAP[,SMTPS,POP3S,IMAPS]`; TLS ports left out are ephemeral, so they never
 * collide with a first instance on the defaults. The banner prints what was bound.
 */
export function parseLabPorts(text: string): LabProxyPorts {
  const value = text.trim().toLowerCase()
  const zero = { smtp: 0, pop3: 0, imap: 0, smtps: 0, pop3s: 0, imaps: 0 }
  if (value === 'auto') return zero
  const parts = value.split(',').map((p) => p.trim())
  const bad = () => new UsageError(`bad value for --lab-ports: '${text}' (expected auto, or SMTP,POP3,IMAP[,SMTPS,POP3S,IMAPS] ports, e.g. 2525,1110,1143)`)
  if (parts.length !== 3 && parts.length !== 6) throw bad()
  const out: LabProxyPorts = { ...zero }
  parts.forEach((p, i) => {
    if (!/^\d+$/.test(p) || Number(p) > 65535) throw bad()
    out[LAB_PORT_NAMES[i]!] = Number(p)
  })
  const used = new Map<number, string>()
  for (const name of LAB_PORT_NAMES) {
    const port = out[name]
    if (port === 0) continue
    if (used.has(port)) throw new UsageError(`bad value for --lab-ports: ${used.get(port)} and ${name} both on port ${port}`)
    used.set(port, name)
  }
  return out
}

const SCHEMES: Record<string, { protocol: Protocol; tls: boolean; port: number }> = {
  smtp: { protocol: 'smtp', tls: false, port: 25 },
  smtps: { protocol: 'smtp', tls: true, port: 465 },
  pop3: { protocol: 'pop3', tls: false, port: 110 },
  pop3s: { protocol: 'pop3', tls: true, port: 995 },
  imap: { protocol: 'imap', tls: false, port: 143 },
  imaps: { protocol: 'imap', tls: true, port: 993 },
}

const ROUTE_SPLIT = /^(.+?)=((?:smtps?|pop3s?|imaps?):\/\/.*)$/i

/** `imap://127.0.0.1:1143=imaps://imap.example.com:993[?tls=passthrough]` */
export function parseRoute(spec: string, defaults: { tlsMode: TlsMode } = { tlsMode: 'intercept' }): Route {
  const m = ROUTE_SPLIT.exec(spec.trim())
  if (!m) {
    throw new UsageError(`malformed route '${spec}': expected CLIENT_URL=UPSTREAM_URL, e.g. imap://127.0.0.1:1143=imap://mail.example.com:143`)
  }
  const listen = parseEndpoint(m[1]!, 'client', spec)
  const upstream = parseEndpoint(m[2]!, 'upstream', spec)
  if (listen.protocol !== upstream.protocol) {
    throw new UsageError(`malformed route '${spec}': the client speaks ${listen.protocol} but the upstream ${upstream.protocol}`)
  }
  const tlsOption = listen.options.get('tls') ?? upstream.options.get('tls') ?? undefined
  let tlsMode = defaults.tlsMode
  if (tlsOption !== undefined) {
    if (tlsOption !== 'intercept' && tlsOption !== 'passthrough') {
      throw new UsageError(`malformed route '${spec}': tls=${tlsOption} must be intercept or passthrough`)
    }
    tlsMode = tlsOption
  }
  const listenUrl = formatUrl(listen.scheme, listen.endpoint)
  return {
    id: `${listen.scheme}-${listen.endpoint.port}`,
    protocol: listen.protocol,
    listen: listen.endpoint,
    upstream: upstream.endpoint,
    tlsMode,
    listenUrl,
    upstreamUrl: formatUrl(upstream.scheme, upstream.endpoint),
  }
}

function parseEndpoint(text: string, which: 'client' | 'upstream', spec: string) {
  let url: URL
  try {
    // `imap://:1143` (no host) means the default listening host.
    url = new URL(which === 'client' ? text.replace(/^([a-z0-9]+):\/\/:/i, '$1://127.0.0.1:') : text)
  } catch {
    throw new UsageError(`malformed route '${spec}': '${text}' is not a URL`)
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase()
  const known = SCHEMES[scheme]
  if (!known) {
    throw new UsageError(`malformed route '${spec}': unknown scheme '${scheme}' (use smtp, smtps, pop3, pop3s, imap or imaps)`)
  }
  if (url.pathname && url.pathname !== '/' && url.pathname !== '') {
    throw new UsageError(`malformed route '${spec}': unexpected path '${url.pathname}' in ${which} URL`)
  }
  let host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (!host) {
    if (which === 'upstream') throw new UsageError(`malformed route '${spec}': the upstream URL needs a host`)
    host = '127.0.0.1'
  }
  const port = url.port ? Number(url.port) : known.port
  if (!Number.isInteger(port) || port < 0 || port > 65535 || (which === 'upstream' && port === 0)) {
    throw new UsageError(`malformed route '${spec}': bad port in ${which} URL`)
  }
  return {
    scheme,
    protocol: known.protocol,
    endpoint: { host, port, tls: known.tls } satisfies Endpoint,
    options: url.searchParams,
  }
}

export function formatUrl(scheme: string, e: { host: string; port: number }): string {
  const host = e.host.includes(':') ? `[${e.host}]` : e.host
  return `${scheme}://${host}:${e.port}`
}

export function schemeOf(protocol: Protocol, tls: boolean): string {
  return protocol + (tls ? 's' : '')
}

/** `[HOST:]PORT` for --http. */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))?:?(\d+)$/.exec(text.trim())
  if (!m) throw new UsageError(`bad value for ${flag}: '${text}' (expected [HOST:]PORT, e.g. 127.0.0.1:${DEFAULT_HTTP_PORT})`)
  const port = Number(m[3])
  if (port > 65535) throw new UsageError(`bad value for ${flag}: port ${port} is out of range`)
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port }
}

export function readConfigFile(file: string): Settings {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(err as Error).message}`)
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new UsageError(`config file ${file} must hold a JSON object`)
  }
  const allowed = new Set<keyof Settings>([
    'routes', 'http', 'data', 'idleTimeout', 'connectTimeout', 'tlsMode', 'upstreamVerify',
    'keylog', 'lab', 'labFaults', 'labPorts', 'labUsers', 'labDomain', 'maxSessions', 'maxBytes', 'maxAgeDays', 'token',
  ])
  for (const key of Object.keys(data)) {
    if (!allowed.has(key as keyof Settings)) {
      throw new UsageError(`config file ${file}: unknown setting '${key}'`)
    }
  }
  const s = data as Settings
  if (s.routes !== undefined && (!Array.isArray(s.routes) || s.routes.some((r) => typeof r !== 'string'))) {
    throw new UsageError(`config file ${file}: 'routes' must be a list of "CLIENT_URL=UPSTREAM_URL" strings`)
  }
  if (s.labUsers !== undefined) {
    const ok =
      Array.isArray(s.labUsers) &&
      s.labUsers.every(
        (u) =>
          u && typeof u === 'object' && typeof u.name === 'string' && typeof u.password === 'string' &&
          (u.aliases === undefined || (Array.isArray(u.aliases) && u.aliases.every((a) => typeof a === 'string'))),
      )
    if (!ok) throw new UsageError(`config file ${file}: 'labUsers' must be a list of {"name": ..., "password": ..., "aliases"?: [...]} objects`)
  }
  if (s.labDomain !== undefined && typeof s.labDomain !== 'string') throw new UsageError(`config file ${file}: 'labDomain' must be a string`)
  return s
}

export function defaultDataDir(): string {
  return process.env.MAILTAP_DATA ?? path.join(os.homedir(), '.mailtap')
}

/** Settings (file first, then flags over it) to a complete Config. */
export function resolveConfig(s: Settings): Config {
  const tlsMode = oneOf(s.tlsMode ?? 'intercept', ['intercept', 'passthrough'] as const, '--tls-mode')
  const routes = (s.routes ?? []).map((r) => parseRoute(r, { tlsMode }))
  const seen = new Map<string, string>()
  for (const r of routes) {
    const key = `${r.listen.host}:${r.listen.port}`
    if (r.listen.port !== 0 && seen.has(key)) {
      throw new UsageError(`two routes listen on ${key}: ${seen.get(key)} and ${r.listenUrl}`)
    }
    seen.set(key, r.listenUrl)
  }
  return {
    routes,
    http: s.http !== undefined ? parseHostPort(String(s.http), '--http') : { host: '127.0.0.1', port: DEFAULT_HTTP_PORT },
    dataDir: path.resolve(s.data ?? defaultDataDir()),
    idleTimeoutMs: seconds(s.idleTimeout ?? 1800, '--idle-timeout') * 1000,
    connectTimeoutMs: seconds(s.connectTimeout ?? 10, '--connect-timeout') * 1000,
    tlsMode,
    upstreamVerify: oneOf(s.upstreamVerify ?? 'warn', ['strict', 'warn', 'off'] as const, '--upstream-verify'),
    keylog: s.keylog ?? process.env.SSLKEYLOGFILE,
    lab: s.lab ?? routes.length === 0,
    labFaults: s.labFaults,
    labPorts: s.labPorts !== undefined ? parseLabPorts(String(s.labPorts)) : undefined,
    labUsers: s.labUsers,
    labDomain: s.labDomain,
    retention: {
      maxSessions: s.maxSessions,
      maxBytes: s.maxBytes,
      maxAgeMs: s.maxAgeDays !== undefined ? s.maxAgeDays * 86_400_000 : undefined,
    },
    token: s.token,
  }
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`bad value for ${flag}: '${value}' (expected ${allowed.join(', ')})`)
  }
  return value as T
}

function seconds(value: unknown, flag: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`bad value for ${flag}: '${value}' (expected seconds, 0 or more)`)
  return n
}
