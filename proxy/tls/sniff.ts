// Telling TLS from plaintext by the first bytes, to explain "wrong port or TLS mode":
// a ClientHello sent to a plaintext route, or a greeting/command sent to a TLS route.

/**
 * True when `buf` starts like a TLS ClientHello: a handshake record (0x16), protocol
 * major 3, minor 0..4 (SSL 3.0 to TLS 1.3 record versions), and, once six bytes are
 * there, handshake type 1. Also the SSLv2-compatible hello old clients send (0x80 len, 1,
 * 3, x). Needs at least three bytes; fewer is "not yet known", answered false.
 */
export function looksLikeClientHello(buf: Uint8Array): boolean {
  if (buf.length < 3) return false
  if (buf[0] === 0x16 && buf[1] === 0x03 && buf[2]! <= 0x04) return buf.length < 6 || buf[5] === 0x01
  // SSLv2 record header with the high bit set, message type CLIENT-HELLO, version 3.x.
  return (buf[0]! & 0x80) !== 0 && buf.length >= 5 && buf[2] === 0x01 && buf[3] === 0x03 && buf[4]! <= 0x04
}

/**
 * True when `buf` starts like any TLS record: content type change_cipher_spec (20),
 * alert (21), handshake (22), application_data (23) or heartbeat (24), then version 3.0..3.4.
 * What an implicit-TLS server answers a plaintext client with (often an alert).
 */
export function looksLikeTlsRecord(buf: Uint8Array): boolean {
  if (buf.length < 3) return false
  return buf[0]! >= 0x14 && buf[0]! <= 0x18 && buf[1] === 0x03 && buf[2]! <= 0x04
}

/**
 * True when `buf` starts like a line of a text protocol: printable ASCII (or tab) up to
 * the first CRLF or the end of the sample. What a plaintext client or server sends first.
 */
export function looksLikePlaintext(buf: Uint8Array): boolean {
  const n = Math.min(buf.length, 64)
  if (n === 0) return false
  for (let i = 0; i < n; i++) {
    const b = buf[i]!
    if (b === 0x0d || b === 0x0a) return i > 0
    if (b !== 0x09 && (b < 0x20 || b > 0x7e)) return false
  }
  return true
}
