// The URLs replay dials and the mock listens on: smtp://host:port, imaps://host:port...
import type { Protocol } from '../../shared/schema.ts'

export interface MailUrl {
  protocol: Protocol
  host: string
  port: number
  /** Implicit TLS (smtps, pop3s, imaps). */
  tls: boolean
  scheme: string
}

const SCHEMES: Record<string, { protocol: Protocol; tls: boolean; port: number }> = {
  smtp: { protocol: 'smtp', tls: false, port: 25 },
  smtps: { protocol: 'smtp', tls: true, port: 465 },
  submission: { protocol: 'smtp', tls: false, port: 587 },
  pop3: { protocol: 'pop3', tls: false, port: 110 },
  pop3s: { protocol: 'pop3', tls: true, port: 995 },
  imap: { protocol: 'imap', tls: false, port: 143 },
  imaps: { protocol: 'imap', tls: true, port: 993 },
}

export class EndpointError extends Error {
  override name = 'EndpointError'
}

/** Parses a mail URL; `allowPortZero` for listening ('any free port'). */
export function parseMailUrl(text: string, opts: { allowPortZero?: boolean } = {}): MailUrl {
  let url: URL
  try {
    url = new URL(text.replace(/^([a-z0-9]+):\/\/:/i, '$1://127.0.0.1:'))
  } catch {
    throw new EndpointError(`'${text}' is not a URL (expected e.g. smtp://127.0.0.1:2525)`)
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase()
  const known = SCHEMES[scheme]
  if (!known) throw new EndpointError(`unknown scheme '${scheme}' in '${text}' (use smtp, smtps, pop3, pop3s, imap or imaps)`)
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1'
  const port = url.port ? Number(url.port) : known.port
  if (!Number.isInteger(port) || port < 0 || port > 65535 || (port === 0 && !opts.allowPortZero)) {
    throw new EndpointError(`bad port in '${text}'`)
  }
  return { protocol: known.protocol, host, port, tls: known.tls, scheme }
}

export function formatMailUrl(u: Pick<MailUrl, 'scheme' | 'host' | 'port'>): string {
  const host = u.host.includes(':') ? `[${u.host}]` : u.host
  return `${u.scheme}://${host}:${u.port}`
}
