// Switching a leg to TLS: mailtap as TLS server towards the client (leaf from its CA),
// as TLS client towards the upstream (chain collected and verified in plain words),
// on a fresh connection (implicit TLS) or on a socket that spoke plaintext (STARTTLS).
//
// Contract for the caller upgrading an existing net.Socket at the STARTTLS boundary:
//   1. Remove every 'data' (and 'readable') listener the plaintext phase added, and call
//      socket.pause() in the same tick as the last plaintext chunk was handled, so no
//      handshake byte is consumed as plaintext.
//   2. If the chunk that held the last plaintext line also held bytes after it (a
//      ClientHello sent hard on the heels of the command), give those bytes back with
//      socket.unshift(rest) before calling acceptTls. Node's TLSSocket drains whatever
//      is buffered in the wrapped socket into the TLS engine first (initRead), so
//      nothing is lost or read twice. (Plaintext a client sent after STARTTLS, before its
//      ClientHello, is a finding for the caller to flag, never something to unshift.)
//   3. Keep 'end'/'close'/'error' handling on the returned TLSSocket from now on: the raw
//      socket's handle now belongs to it. A no-op 'error' listener of ours stays on it so
//      an error emitted in the hop between our resolve and your listener cannot crash the
//      process; attach your own 'error' and 'close' handlers right after the await.
import net from 'node:net'
import tls from 'node:tls'
import type { TlsLeg, TlsMode, TlsVerify } from '../../shared/schema.ts'
import type { Ca } from './ca.ts'
import type { KeyLog } from './keylog.ts'
import { TlsError, explainAcceptError, explainConnectError } from './errors.ts'
import { peerChain, verifyPeer } from './verify.ts'

export { looksLikeClientHello, looksLikeTlsRecord, looksLikePlaintext } from './sniff.ts'
export { TlsError } from './errors.ts'

export type UpstreamVerify = 'strict' | 'warn' | 'off'

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000

export interface AcceptOptions {
  ca: Ca
  /** Names for the leaf when the client sends no SNI: the route's upstream host first.
   *  The address the client dialled and 127.0.0.1, ::1, localhost are always added. */
  fallbackNames: string[]
  alpn?: string[]
  keylog?: KeyLog
  /** Default: 'starttls' when mailtap already wrote to this socket, else 'implicit'. */
  how?: TlsLeg['how']
  handshakeTimeoutMs?: number
}

/** The address a socket was accepted on, without the IPv4-mapped prefix. */
function localName(socket: net.Socket): string | undefined {
  const a = socket.localAddress
  return a?.startsWith('::ffff:') ? a.slice(7) : a
}

// See the contract above, point 3: our handshake listeners report errors until then.
function ignoreError(): void {}

/**
 * True when the peer already closed its side (FIN seen, perhaps not yet emitted as 'end'
 * because the socket is paused). A TLS engine put on such a socket never hears of that
 * EOF and would wait for a handshake that cannot come. Node has no public flag for a
 * pushed-but-unread EOF, hence the internal readable state.
 */
function peerClosed(socket: net.Socket): boolean {
  const state = (socket as unknown as { _readableState?: { ended?: boolean } })._readableState
  return socket.destroyed || socket.readableEnded || state?.ended === true
}

/**
 * Waits for one side's handshake to finish (`done`: 'secure' on a server socket,
 * 'secureConnect' on a client). A timeout, an error or the peer going away (on a
 * half-open socket a FIN mid-handshake emits only 'end') destroy the socket and reject
 * with the caller's explanation of that case.
 */
function awaitHandshake(
  t: tls.TLSSocket,
  done: 'secure' | 'secureConnect',
  timeoutMs: number,
  explain: { timeout(): Error; error(err: Error): Error; closed(): Error },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      settle()
      t.destroy()
      reject(err)
    }
    const timer = setTimeout(() => fail(explain.timeout()), timeoutMs)
    timer.unref?.()
    const onDone = () => {
      settle()
      resolve()
    }
    const onError = (err: Error) => fail(explain.error(err))
    const onClose = () => fail(explain.closed())
    const settle = () => {
      clearTimeout(timer)
      t.removeListener(done, onDone)
      t.removeListener('error', onError)
      t.removeListener('close', onClose)
      t.removeListener('end', onClose)
    }
    t.on(done, onDone)
    t.on('error', onError)
    t.on('close', onClose)
    t.on('end', onClose)
  })
}

/** Plays TLS server to the client on `socket`; resolves once the handshake completed. */
export async function acceptTls(socket: net.Socket, opts: AcceptOptions): Promise<{ tls: tls.TLSSocket; info: TlsLeg }> {
  const how = opts.how ?? (socket.bytesWritten > 0 ? 'starttls' : 'implicit')
  const names = [...opts.fallbackNames, localName(socket), '127.0.0.1', '::1', 'localhost'].filter((n): n is string => !!n)
  // Issue the default leaf before wrapping; the socket stays paused meanwhile, so bytes
  // that arrive wait in the kernel or in its readable buffer for the TLS engine.
  const secureContext = await opts.ca.contextFor(undefined, names)
  if (peerClosed(socket)) {
    socket.destroy()
    throw new TlsError('TLS_HANDSHAKE_ABORTED', 'the client closed the connection before the TLS handshake', { info: { leg: 'client', mode: 'intercept', how } })
  }
  let sni: string | undefined
  const sniCallback = opts.ca.sniCallback(names)
  const t = new tls.TLSSocket(socket, {
    isServer: true,
    secureContext,
    ALPNProtocols: opts.alpn,
    SNICallback: (servername, cb) => {
      sni = servername
      sniCallback(servername, cb)
    },
  })
  opts.keylog?.attach(t)
  t.on('error', ignoreError)
  const failed = (): TlsLeg => ({ leg: 'client', mode: 'intercept', how, sni })
  const timeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
  await awaitHandshake(t, 'secure', timeoutMs, {
    timeout: () =>
      new TlsError('TLS_CLIENT_NO_HELLO', `no TLS handshake from the client within ${Math.round(timeoutMs / 1000)} s: it may be waiting for a plaintext greeting (wrong port or TLS mode)`, {
        hint: 'set the client to SSL/TLS for this port, or route it to a plaintext/STARTTLS listener',
        info: failed(),
      }),
    error: (err) => explainAcceptError(err, failed()),
    closed: () =>
      new TlsError('TLS_HANDSHAKE_ABORTED', "the client closed the connection during the TLS handshake (it may not trust mailtap's certificate)", {
        hint: "install mailtap's CA in the client (print it with: mailtap ca)",
        info: failed(),
      }),
  })
  return { tls: t, info: describeTls(t, 'client', how, 'intercept', { sni }) }
}

export interface ConnectOptions {
  /** The upstream host as the route names it: dialled for implicit TLS, and the name the
   *  certificate is verified against unless `servername` is given. */
  host: string
  port?: number
  /** SNI to send (never an IP address; defaults to `host` when it is a name). */
  servername?: string
  verify: UpstreamVerify
  keylog?: KeyLog
  /** Extra trusted CAs (PEM) on top of the system's roots, e.g. a lab server's CA. */
  ca?: string | string[]
  alpn?: string[]
  handshakeTimeoutMs?: number
}

/**
 * Plays TLS client to the upstream, over `socket` (STARTTLS) or a new TCP connection
 * (implicit TLS, `socket` undefined). Always resolves with the chain and the verdict in
 * `info`, except in 'strict' mode with a bad certificate, where it rejects with
 * TLS_UPSTREAM_CERT_REFUSED (info attached) after destroying the connection.
 */
export async function connectTls(socket: net.Socket | undefined, opts: ConnectOptions): Promise<{ tls: tls.TLSSocket; info: TlsLeg }> {
  const how: TlsLeg['how'] = socket ? 'starttls' : 'implicit'
  const servername = opts.servername ?? (net.isIP(opts.host) ? undefined : opts.host)
  const verifyName = opts.servername ?? opts.host
  const target = `${opts.host}${opts.port ? `:${opts.port}` : ''}`
  if (socket && peerClosed(socket)) {
    socket.destroy()
    throw new TlsError('TLS_HANDSHAKE_ABORTED', `${target} closed the connection before the TLS handshake`, { info: { leg: 'server', mode: 'intercept', how, sni: servername } })
  }
  const extraCa = opts.ca === undefined ? undefined : [...tls.rootCertificates, ...(Array.isArray(opts.ca) ? opts.ca : [opts.ca])]
  const t = tls.connect({
    socket,
    host: socket ? undefined : opts.host,
    port: socket ? undefined : opts.port,
    servername,
    ca: extraCa,
    ALPNProtocols: opts.alpn,
    // We judge the certificate ourselves after the handshake: see verify.ts.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  })
  opts.keylog?.attach(t)
  t.on('error', ignoreError)
  const failed = (): TlsLeg => ({ leg: 'server', mode: 'intercept', how, sni: servername })
  const timeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
  await awaitHandshake(t, 'secureConnect', timeoutMs, {
    timeout: () => new TlsError('TLS_HANDSHAKE_TIMEOUT', `no TLS handshake answer from ${target} within ${Math.round(timeoutMs / 1000)} s`, { info: failed() }),
    error: (err) => explainConnectError(err, failed(), target),
    closed: () => new TlsError('TLS_HANDSHAKE_ABORTED', `${target} closed the connection during the TLS handshake`, { info: failed() }),
  })
  const chain = peerChain(t)
  const verify: TlsVerify = verifyPeer(t, verifyName, chain, extraCa ?? tls.rootCertificates)
  const info = describeTls(t, 'server', how, 'intercept', { sni: servername, chain, verify })
  if (!verify.ok && opts.verify === 'strict') {
    t.destroy()
    throw new TlsError('TLS_UPSTREAM_CERT_REFUSED', `upstream certificate refused (--upstream-verify strict): ${verify.text}`, {
      hint: 'fix the server certificate, name the route by a host the certificate covers, or run with --upstream-verify warn',
      info,
    })
  }
  return { tls: t, info }
}

/** The facts of a finished handshake: version, cipher, SNI, ALPN. */
export function describeTls(socket: tls.TLSSocket, leg: TlsLeg['leg'], how: TlsLeg['how'], mode: TlsMode, extra: Partial<TlsLeg> = {}): TlsLeg {
  const cipher = socket.getCipher() as (tls.CipherNameAndProtocol & { standardName?: string }) | null
  const servername = (socket as tls.TLSSocket & { servername?: string | false }).servername
  const info: TlsLeg = {
    leg,
    mode,
    how,
    version: socket.getProtocol() ?? undefined,
    cipher: cipher ? (cipher.standardName ?? cipher.name) : undefined,
    sni: extra.sni ?? (servername || undefined),
    alpn: socket.alpnProtocol || undefined,
  }
  if (extra.chain) info.chain = extra.chain
  if (extra.verify) info.verify = extra.verify
  return info
}
