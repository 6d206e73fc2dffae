// The upstream's certificate chain as facts (CertInfo) and its verification in plain
// words (TlsVerify): expired, not yet valid, hostname mismatch, self-signed, unknown CA.
// We verify ourselves (rejectUnauthorized: false) so 'warn' can go on and 'strict' can
// say exactly why it refused.
import { X509Certificate } from 'node:crypto'
import { checkServerIdentity, rootCertificates, type DetailedPeerCertificate, type PeerCertificate, type TLSSocket } from 'node:tls'
import type { CertInfo, TlsVerify } from '../../shared/schema.ts'

/** The chain the peer presented, leaf first, as CertInfo (the trusted root Node appended included). */
export function peerChain(socket: TLSSocket): CertInfo[] {
  const out: CertInfo[] = []
  const seen = new Set<string>()
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true)
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256)
    out.push(describeCert(cert.raw))
    cert = cert.issuerCertificate
  }
  return out
}

/** One certificate's facts, from its DER or PEM. */
export function describeCert(der: Buffer | string): CertInfo {
  const x = new X509Certificate(der)
  return {
    subject: x.subject.split('\n').join(', '),
    issuer: x.issuer.split('\n').join(', '),
    sans: parseSans(x.subjectAltName),
    notBefore: toIso(x.validFrom),
    notAfter: toIso(x.validTo),
    sha256: x.fingerprint256,
    selfSigned: isSelfSigned(x),
  }
}

function toIso(openSslDate: string): string {
  const t = Date.parse(openSslDate)
  return Number.isNaN(t) ? openSslDate : new Date(t).toISOString()
}

function isSelfSigned(x: X509Certificate): boolean {
  try {
    return x.checkIssued(x) && x.verify(x.publicKey)
  } catch {
    return false
  }
}

/** 'DNS:a, IP Address:1.2.3.4' -> ['a', '1.2.3.4']; other kinds keep their prefix. */
function parseSans(text: string | undefined): string[] {
  if (!text) return []
  return text.split(/,\s*/).map((entry) => {
    const m = /^(DNS|IP Address):(.*)$/.exec(entry)
    return m ? m[2]! : entry
  })
}

/** OpenSSL verify codes (as Node reports them) in plain words. */
function chainProblem(code: string, chain: CertInfo[]): { code: string; text: string } {
  const leaf = chain[0]
  const top = chain[chain.length - 1]
  const cn = (subject?: string) => /CN=([^,]+)/.exec(subject ?? '')?.[1] ?? subject ?? '?'
  switch (code) {
    case 'CERT_HAS_EXPIRED': {
      const expired = chain.find((c) => Date.parse(c.notAfter) < Date.now()) ?? leaf
      return { code, text: `expired: "${cn(expired?.subject)}" was valid until ${expired?.notAfter.slice(0, 10)}` }
    }
    case 'CERT_NOT_YET_VALID': {
      const early = chain.find((c) => Date.parse(c.notBefore) > Date.now()) ?? leaf
      return { code, text: `not yet valid: "${cn(early?.subject)}" is valid from ${early?.notBefore} (check the clocks)` }
    }
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return { code, text: `self-signed: "${cn(leaf?.subject)}" is signed by itself, not by a CA this machine trusts` }
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return { code, text: `unknown CA: the chain ends in "${cn(top?.subject)}", a root this machine does not trust` }
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return {
        code,
        text: `unknown CA: issuer "${cn(top?.issuer)}" is not trusted here (or the server does not send its intermediate certificate)`,
      }
    case 'CERT_REVOKED':
      return { code, text: 'revoked: the certificate was revoked by its CA' }
    case 'CERT_SIGNATURE_FAILURE':
    case 'CERT_CHAIN_TOO_LONG':
    case 'INVALID_CA':
    case 'INVALID_PURPOSE':
      return { code, text: `invalid certificate chain (${code})` }
    default:
      return { code, text: `invalid certificate (${code})` }
  }
}

/**
 * The verdict for `socket` (a client TLSSocket connected with rejectUnauthorized: false
 * and a no-op checkServerIdentity) towards `hostname`: chain trust, validity dates (checked
 * on their own too, since OpenSSL reports one error only) and the name.
 */
export function verifyPeer(socket: TLSSocket, hostname: string, chain: CertInfo[] = peerChain(socket), trusted: readonly string[] = rootCertificates): TlsVerify {
  const peer: PeerCertificate = socket.getPeerCertificate()
  if (!peer || !peer.raw) return { ok: false, code: 'NO_CERTIFICATE', text: 'no certificate: the upstream presented none' }
  const problems: { code: string; text: string }[] = []
  const authError = socket.authorizationError as unknown as Error | string | null | undefined
  const chainCode = authError == null ? undefined : typeof authError === 'string' ? authError : ((authError as NodeJS.ErrnoException).code ?? authError.message)
  if (!socket.authorized && chainCode) problems.push(chainProblem(chainCode, chain))
  const leaf = chain[0]
  if (leaf && chainCode !== 'CERT_HAS_EXPIRED' && Date.parse(leaf.notAfter) < Date.now()) problems.push(chainProblem('CERT_HAS_EXPIRED', chain))
  if (leaf && chainCode !== 'CERT_NOT_YET_VALID' && Date.parse(leaf.notBefore) > Date.now()) problems.push(chainProblem('CERT_NOT_YET_VALID', chain))
  // OpenSSL reports an expired self-signed certificate as expired only; say both.
  if (leaf?.selfSigned && chainCode && chainCode !== 'DEPTH_ZERO_SELF_SIGNED_CERT' && !isTrusted(leaf, trusted)) {
    problems.push(chainProblem('DEPTH_ZERO_SELF_SIGNED_CERT', chain))
  }
  const idError = checkServerIdentity(hostname, peer) as (Error & { code?: string }) | undefined
  if (idError) {
    const names = leaf?.sans.length ? leaf.sans.join(', ') : (/CN=([^,]+)/.exec(leaf?.subject ?? '')?.[1] ?? 'no name')
    problems.push({ code: idError.code ?? 'ERR_TLS_CERT_ALTNAME_INVALID', text: `hostname mismatch: the certificate is for ${names}, not ${hostname}` })
  }
  if (problems.length === 0) return { ok: true, text: 'ok' }
  return { ok: false, code: problems[0]!.code, text: problems.map((p) => p.text).join('; ') }
}

function isTrusted(cert: CertInfo, trusted: readonly string[]): boolean {
  return trusted.some((pem) => {
    try {
      return new X509Certificate(pem).fingerprint256 === cert.sha256
    } catch {
      return false
    }
  })
}
