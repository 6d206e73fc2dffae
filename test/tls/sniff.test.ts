// Telling TLS from plaintext by the first bytes, on bytes real TLS stacks sent.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import tls from 'node:tls'
import { looksLikeClientHello, looksLikePlaintext, looksLikeTlsRecord } from '../../proxy/tls/sniff.ts'
import { sniffWrongMode, wrongModeNote } from '../../proxy/tls/notes.ts'
import { listen, makeServerCert } from './helpers.ts'

/** The first chunk a Node TLS client sends to a plain TCP listener: its ClientHello. */
async function captureClientHello(t: { after: (fn: () => Promise<void>) => void }, options: tls.ConnectionOptions = {}): Promise<Buffer> {
  let got!: (b: Buffer) => void
  const first = new Promise<Buffer>((r) => (got = r))
  const srv = await listen(net.createServer((s) => s.once('data', (d: Buffer) => (got(d), s.destroy()))))
  t.after(srv.close)
  const c = tls.connect({ host: '127.0.0.1', port: srv.port, ...options })
  c.on('error', () => {})
  return first
}

/** The first chunk a TLS server answers a ClientHello with: a handshake record. */
async function captureServerHello(t: { after: (fn: () => Promise<void>) => void }): Promise<Buffer> {
  const cert = await makeServerCert({ names: ['127.0.0.1'] })
  const srv = await listen(tls.createServer(cert, (s) => s.on('error', () => {})))
  srv.server.on('tlsClientError', () => {})
  t.after(srv.close)
  const hello = await captureClientHello(t)
  const raw = net.connect(srv.port, '127.0.0.1')
  raw.write(hello)
  const answer = await new Promise<Buffer>((r) => raw.once('data', r))
  raw.destroy()
  return answer
}

test('a real ClientHello, TLS 1.3 or capped at 1.2, looks like a ClientHello and a TLS record', async (t) => {
  for (const options of [{}, { maxVersion: 'TLSv1.2' as const }, { servername: 'mail.test' }]) {
    const hello = await captureClientHello(t, options)
    assert.equal(looksLikeClientHello(hello), true)
    assert.equal(looksLikeTlsRecord(hello), true)
    assert.equal(looksLikePlaintext(hello), false)
    // The first three bytes are already enough to tell.
    assert.equal(looksLikeClientHello(hello.subarray(0, 3)), true)
  }
})

test('a server answer is a TLS record but not a ClientHello', async (t) => {
  const answer = await captureServerHello(t)
  assert.equal(looksLikeTlsRecord(answer), true)
  assert.equal(looksLikeClientHello(answer), false)
})

test('greetings and commands of the three protocols look like plaintext, not TLS', () => {
  for (const line of ['220 mail.test ESMTP Postfix\r\n', '+OK Dovecot ready.\r\n', '* OK [CAPABILITY IMAP4rev1] ready\r\n', 'EHLO client\r\n', 'a1 LOGIN', 'QUIT\n']) {
    const buf = Buffer.from(line)
    assert.equal(looksLikePlaintext(buf), true, line)
    assert.equal(looksLikeClientHello(buf), false, line)
    assert.equal(looksLikeTlsRecord(buf), false, line)
  }
})

test('too few bytes, binary noise and an SSLv2-style hello are told apart', () => {
  assert.equal(looksLikeClientHello(Buffer.from([0x16, 0x03])), false)
  assert.equal(looksLikeTlsRecord(Buffer.from([])), false)
  assert.equal(looksLikePlaintext(Buffer.from([])), false)
  assert.equal(looksLikePlaintext(Buffer.from([0x00, 0x01, 0x02])), false)
  assert.equal(looksLikePlaintext(Buffer.from('\r\n')), false)
  // A handshake record whose first message is not a ClientHello (type 2 = ServerHello).
  assert.equal(looksLikeClientHello(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x40, 0x02])), false)
  // SSLv2-compatible ClientHello header announcing TLS 1.0.
  assert.equal(looksLikeClientHello(Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01])), true)
})

test('each wrong-mode case is named for the side that got it wrong', async (t) => {
  const hello = await captureClientHello(t)
  const greeting = Buffer.from('220 mail.test ESMTP\r\n')
  const record = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])
  assert.equal(sniffWrongMode('client', false, hello), 'client-tls-on-plaintext')
  assert.equal(sniffWrongMode('client', true, Buffer.from('EHLO x\r\n')), 'client-plaintext-on-tls')
  assert.equal(sniffWrongMode('server', false, record), 'server-tls-on-plaintext')
  assert.equal(sniffWrongMode('server', true, greeting), 'server-plaintext-on-tls')
  assert.equal(sniffWrongMode('client', true, hello), undefined)
  assert.equal(sniffWrongMode('server', false, greeting), undefined)
  const note = wrongModeNote('client-tls-on-plaintext')
  assert.equal(note.code, 'TLS_ON_PLAINTEXT_PORT')
  assert.match(note.text, /wrong port or TLS mode/)
})
