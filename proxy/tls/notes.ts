// TLS findings as Notes with stable codes: a bad upstream certificate (by kind), and the
// "wrong port or TLS mode" cases found by sniffing the first bytes of a leg.
import type { Note, Side, TlsLeg } from '../../shared/schema.ts'
import type { UpstreamVerify } from './upgrade.ts'
import { looksLikeClientHello, looksLikePlaintext, looksLikeTlsRecord } from './sniff.ts'

/** Stable note code for a TlsVerify code. */
export function certNoteCode(verifyCode: string | undefined): string {
  switch (verifyCode) {
    case 'CERT_HAS_EXPIRED':
      return 'TLS_CERT_EXPIRED'
    case 'CERT_NOT_YET_VALID':
      return 'TLS_CERT_NOT_YET_VALID'
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return 'TLS_CERT_HOSTNAME_MISMATCH'
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'TLS_CERT_SELF_SIGNED'
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return 'TLS_CERT_UNKNOWN_CA'
    case 'NO_CERTIFICATE':
      return 'TLS_CERT_MISSING'
    default:
      return 'TLS_CERT_INVALID'
  }
}

/** Notes for a finished upstream handshake: the certificate verdict under --upstream-verify. */
export function upstreamCertNotes(info: TlsLeg, mode: UpstreamVerify): Note[] {
  const v = info.verify
  if (!v || v.ok) return []
  if (mode === 'off') {
    return [{ level: 'info', code: certNoteCode(v.code), text: `upstream certificate not checked (--upstream-verify off): ${v.text}` }]
  }
  return [
    {
      level: 'warn',
      code: certNoteCode(v.code),
      text: `upstream certificate: ${v.text}`,
      hint:
        v.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? 'name the upstream by a host the certificate covers; mailtap continued because --upstream-verify is warn'
          : 'a client talking to this server directly would refuse it; mailtap continued because --upstream-verify is warn',
    },
  ]
}

export type WrongMode =
  /** A ClientHello on a plaintext listener. */
  | 'client-tls-on-plaintext'
  /** Plaintext (a command) on an implicit-TLS listener. */
  | 'client-plaintext-on-tls'
  /** A TLS record from an upstream dialled in plaintext. */
  | 'server-tls-on-plaintext'
  /** A plaintext greeting from an upstream dialled with implicit TLS. */
  | 'server-plaintext-on-tls'

/** "Wrong port or TLS mode", explained for the side that got it wrong. */
export function wrongModeNote(kind: WrongMode): Note {
  switch (kind) {
    case 'client-tls-on-plaintext':
      return {
        level: 'error',
        code: 'TLS_ON_PLAINTEXT_PORT',
        text: 'the client started a TLS handshake on a plaintext listener: wrong port or TLS mode',
        hint: 'set the client to STARTTLS (or none) for this port, or make the listener implicit TLS (smtps://, imaps://, pop3s://)',
      }
    case 'client-plaintext-on-tls':
      return {
        level: 'error',
        code: 'PLAINTEXT_ON_TLS_PORT',
        text: 'the client sent plaintext to an implicit-TLS listener: wrong port or TLS mode',
        hint: 'set the client to SSL/TLS for this port, or make the listener plaintext (smtp://, imap://, pop3://) and use STARTTLS',
      }
    case 'server-tls-on-plaintext':
      return {
        level: 'error',
        code: 'UPSTREAM_SPEAKS_TLS',
        text: 'the upstream answered with TLS on a connection mailtap opened in plaintext: wrong port or TLS mode',
        hint: 'use smtps://, imaps:// or pop3s:// for this upstream (ports 465, 993, 995 speak TLS from the first byte)',
      }
    case 'server-plaintext-on-tls':
      return {
        level: 'error',
        code: 'UPSTREAM_SPEAKS_PLAINTEXT',
        text: 'the upstream answered in plaintext on a connection mailtap opened with implicit TLS: wrong port or TLS mode',
        hint: 'use smtp://, imap:// or pop3:// for this upstream; mailtap follows STARTTLS when the client asks for it',
      }
  }
}

/**
 * Which wrong-mode case the first bytes from `side` show, given whether that leg was
 * configured for implicit TLS; undefined when they fit (or say nothing yet).
 */
export function sniffWrongMode(side: Side, legIsTls: boolean, first: Uint8Array): WrongMode | undefined {
  if (side === 'client') {
    if (!legIsTls && looksLikeClientHello(first)) return 'client-tls-on-plaintext'
    if (legIsTls && looksLikePlaintext(first)) return 'client-plaintext-on-tls'
  } else {
    if (!legIsTls && looksLikeTlsRecord(first)) return 'server-tls-on-plaintext'
    if (legIsTls && looksLikePlaintext(first)) return 'server-plaintext-on-tls'
  }
  return undefined
}
