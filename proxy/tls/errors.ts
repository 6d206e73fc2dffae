// TLS failures in plain words: which side gave up, why (from the OpenSSL reason or alert)
// and what to do about it. Codes are stable SCREAMING_SNAKE strings for notes.
import type { TlsLeg } from '../../shared/schema.ts'

export type TlsErrorCode =
  | 'TLS_CLIENT_REJECTED_CERT' // the client did not accept mailtap's leaf (its CA is not installed)
  | 'TLS_CLIENT_SENT_PLAINTEXT' // plaintext reached mailtap's TLS server: wrong port or TLS mode
  | 'TLS_CLIENT_NO_HELLO' // no ClientHello in time: the client probably waits for a plaintext greeting
  | 'TLS_UPSTREAM_SENT_PLAINTEXT' // the upstream answered our ClientHello in plaintext
  | 'TLS_UPSTREAM_CERT_REFUSED' // --upstream-verify strict and the certificate failed
  | 'TLS_UPSTREAM_UNREACHABLE' // implicit TLS: the TCP connection itself failed
  | 'TLS_NO_COMMON_PARAMETERS' // no TLS version or cipher in common
  | 'TLS_HANDSHAKE_ABORTED' // the peer closed or reset the connection mid-handshake
  | 'TLS_HANDSHAKE_TIMEOUT'
  | 'TLS_HANDSHAKE_FAILED' // anything else, with OpenSSL's words

/** A failed TLS handshake or refused upstream; `message` is the plain-words explanation. */
export class TlsError extends Error {
  override readonly name = 'TlsError'
  readonly code: TlsErrorCode
  /** What to do about it, for the note's hint. */
  readonly hint?: string
  /** OpenSSL's reason, e.g. 'tlsv1 alert unknown ca'. */
  readonly alert?: string
  /** What was known of the leg when it failed (SNI, chain, verify...). */
  readonly info?: TlsLeg
  constructor(code: TlsErrorCode, message: string, opts: { hint?: string; alert?: string; info?: TlsLeg; cause?: unknown } = {}) {
    super(message, { cause: opts.cause })
    this.code = code
    this.hint = opts.hint
    this.alert = opts.alert
    this.info = opts.info
  }
}

export const INSTALL_CA_HINT = "install mailtap's CA in the client (print it with: mailtap ca), or turn off certificate checks in a test client"

/** OpenSSL's reason from a Node TLS error: err.reason, else the text between the last colons. */
export function opensslReason(err: unknown): string | undefined {
  const e = err as { reason?: string; message?: string } | undefined
  if (e?.reason) return e.reason
  const m = /:([^:]+):[^:]*\.c:\d+/.exec(e?.message ?? '')
  return m?.[1]
}

function withAlert(text: string, alert: string | undefined): string {
  return alert ? `${text} [OpenSSL: ${alert}]` : text
}

/** Why the handshake with a client (mailtap as TLS server) failed. */
export function explainAcceptError(err: unknown, info: TlsLeg): TlsError {
  const code = (err as NodeJS.ErrnoException)?.code ?? ''
  const reason = opensslReason(err)
  const r = `${code} ${reason ?? ''}`.toLowerCase()
  if (/unknown.ca|bad.certificate|certificate.unknown|unsupported.certificate|certificate.expired|access.denied|decrypt.error/.test(r)) {
    const what = /unknown.ca/.test(r) ? 'unknown CA' : /bad.certificate/.test(r) ? 'bad certificate' : /certificate.unknown/.test(r) ? 'certificate unknown' : (reason ?? code)
    return new TlsError('TLS_CLIENT_REJECTED_CERT', withAlert(`client rejected mailtap's certificate (${what}) — install the CA: mailtap ca`, reason), {
      hint: INSTALL_CA_HINT,
      alert: reason,
      info,
      cause: err,
    })
  }
  if (/wrong.version.number|http.request|https.proxy.request|unknown.protocol|packet.length.too.long|record.layer.failure|invalid.record|unexpected.record/.test(r)) {
    return new TlsError('TLS_CLIENT_SENT_PLAINTEXT', withAlert('the client sent plaintext where mailtap expected a TLS handshake: wrong port or TLS mode', reason), {
      hint: 'point the client at the plaintext/STARTTLS port, or set its security to SSL/TLS (implicit TLS) for this port',
      alert: reason,
      info,
      cause: err,
    })
  }
  if (/no.shared.cipher|unsupported.protocol|version.too.low|no.protocols.available|no.suitable|inappropriate.fallback/.test(r)) {
    return new TlsError('TLS_NO_COMMON_PARAMETERS', withAlert('the client and mailtap share no TLS version or cipher (the client may offer only TLS 1.0/1.1)', reason), {
      hint: "update the client or enable TLS 1.2 in its settings",
      alert: reason,
      info,
      cause: err,
    })
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new TlsError('TLS_HANDSHAKE_ABORTED', "the client reset the connection during the TLS handshake (it may not trust mailtap's certificate)", {
      hint: INSTALL_CA_HINT,
      info,
      cause: err,
    })
  }
  return new TlsError('TLS_HANDSHAKE_FAILED', withAlert(`TLS handshake with the client failed: ${(err as Error)?.message ?? err}`, reason), { alert: reason, info, cause: err })
}

/** Why the handshake with the upstream (mailtap as TLS client) failed. */
export function explainConnectError(err: unknown, info: TlsLeg, target: string): TlsError {
  const e = err as NodeJS.ErrnoException
  const code = e?.code ?? ''
  const reason = opensslReason(err)
  const r = `${code} ${reason ?? ''}`.toLowerCase()
  if (e?.syscall === 'connect' || e?.syscall === 'getaddrinfo' || code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
    return new TlsError('TLS_UPSTREAM_UNREACHABLE', `cannot connect to ${target}: ${e.message}`, { info, cause: err })
  }
  if (/wrong.version.number|packet.length.too.long|unknown.protocol|record.layer.failure|http.request|invalid.record/.test(r)) {
    return new TlsError('TLS_UPSTREAM_SENT_PLAINTEXT', withAlert(`${target} answered in plaintext, not TLS: wrong port or TLS mode`, reason), {
      hint: 'implicit TLS is usually smtps 465, imaps 993, pop3s 995; on 25/587/143/110 use the plain URL (smtp://, imap://, pop3://) and STARTTLS',
      alert: reason,
      info,
      cause: err,
    })
  }
  if (/certificate.required|handshake.failure.*client|peer.did.not.return.a.certificate/.test(r)) {
    return new TlsError('TLS_HANDSHAKE_FAILED', withAlert(`${target} requires a client certificate`, reason), { alert: reason, info, cause: err })
  }
  if (/handshake.failure|unsupported.protocol|version.too.low|protocol.version|no.protocols.available|insufficient.security|dh.key.too.small|no.shared.cipher/.test(r)) {
    return new TlsError('TLS_NO_COMMON_PARAMETERS', withAlert(`${target} and mailtap share no TLS version or cipher (the upstream may speak only old TLS or weak keys)`, reason), {
      alert: reason,
      info,
      cause: err,
    })
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket disconnected|socket hang up/i.test(e?.message ?? '')) {
    return new TlsError('TLS_HANDSHAKE_ABORTED', `${target} closed the connection during the TLS handshake`, { info, cause: err })
  }
  return new TlsError('TLS_HANDSHAKE_FAILED', withAlert(`TLS handshake with ${target} failed: ${e?.message ?? err}`, reason), { alert: reason, info, cause: err })
}
