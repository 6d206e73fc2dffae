// The TLS layer as the relay uses it: one object built in main.ts from the CA, the
// --upstream-verify mode and the key log, with one call per leg and route.
import type net from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Note, Route, TlsLeg } from '../../shared/schema.ts'
import type { Ca } from './ca.ts'
import type { KeyLog } from './keylog.ts'
import { upstreamCertNotes } from './notes.ts'
import { acceptTls, connectTls, type UpstreamVerify } from './upgrade.ts'

export interface TlsSupportOptions {
  ca: Ca
  /** --upstream-verify; the default is 'warn'. */
  verify?: UpstreamVerify
  keylog?: KeyLog
  /** Extra CAs (PEM) trusted for upstreams, e.g. the lab server's. */
  upstreamCa?: string[]
  handshakeTimeoutMs?: number
}

export interface TlsSupport {
  acceptClient(socket: net.Socket, route: Route): Promise<{ tls: TLSSocket; info: TlsLeg }>
  connectServer(socket: net.Socket | undefined, route: Route): Promise<{ tls: TLSSocket; info: TlsLeg; notes?: Note[] }>
}

/** Errors are TlsError (proxy/tls/errors.ts): `message` in plain words, plus `code`, `hint`, `info`. */
export function createTlsSupport(opts: TlsSupportOptions): TlsSupport {
  const verify = opts.verify ?? 'warn'
  return {
    acceptClient(socket, route) {
      return acceptTls(socket, {
        ca: opts.ca,
        fallbackNames: [route.upstream.host],
        keylog: opts.keylog,
        how: route.listen.tls ? 'implicit' : 'starttls',
        handshakeTimeoutMs: opts.handshakeTimeoutMs,
      })
    },
    async connectServer(socket, route) {
      const { tls, info } = await connectTls(socket, {
        host: route.upstream.host,
        port: route.upstream.port,
        verify,
        keylog: opts.keylog,
        ca: opts.upstreamCa,
        handshakeTimeoutMs: opts.handshakeTimeoutMs,
      })
      return { tls, info, notes: upstreamCertNotes(info, verify) }
    },
  }
}
