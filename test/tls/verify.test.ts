// mailtap as TLS client towards upstreams with bad certificates: the chain is collected,
// the verdict is in plain words, 'warn' goes on and 'strict' refuses with the reason.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { connectTls, TlsError } from '../../proxy/tls/upgrade.ts'
import { upstreamCertNotes } from '../../proxy/tls/notes.ts'
import { listen, makeServerCert, makeTestCa, readUntil, startTlsUpstream, type TestCa } from './helpers.ts'

const DAY = 86_400_000
let testCa: TestCa | undefined
const trustedCa = async () => (testCa ??= await makeTestCa('mailtap test upstream CA'))

async function upstreamWith(t: { after: (fn: () => Promise<void>) => void }, cert: { key: string; cert: string }) {
  const up = await startTlsUpstream({ key: cert.key, cert: cert.cert })
  t.after(up.close)
  return up
}

test('a certificate from a trusted CA for the dialled name verifies as ok, with its chain', async (t) => {
  const ca = await trustedCa()
  const up = await upstreamWith(t, await makeServerCert({ names: ['127.0.0.1'], issuer: ca }))
  const { tls, info } = await connectTls(undefined, { host: '127.0.0.1', port: up.port, verify: 'strict', ca: ca.pem })
  assert.deepEqual(info.verify, { ok: true, text: 'ok' })
  assert.equal(info.how, 'implicit')
  assert.equal(info.leg, 'server')
  assert.equal(info.sni, undefined, 'no SNI is sent for an IP address')
  assert.equal(info.chain?.[0]?.subject, 'CN=127.0.0.1')
  assert.equal(info.chain?.[0]?.issuer, 'CN=mailtap test upstream CA')
  assert.deepEqual(info.chain?.[0]?.sans, ['127.0.0.1'])
  assert.match(info.chain?.[0]?.sha256 ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  assert.equal(info.chain?.[0]?.selfSigned, false)
  assert.ok(Date.parse(info.chain![0]!.notAfter) > Date.now())
  assert.deepEqual(upstreamCertNotes(info, 'warn'), [])
  assert.equal(await readUntil(tls, '\r\n'), '* OK upstream ready\r\n')
  tls.destroy()
})

test('a certificate for mail.test on a route that names 127.0.0.1 is a hostname mismatch: warned, then refused in strict mode', async (t) => {
  const ca = await trustedCa()
  const up = await upstreamWith(t, await makeServerCert({ names: ['mail.test'], issuer: ca }))
  const warn = await connectTls(undefined, { host: '127.0.0.1', port: up.port, verify: 'warn', ca: ca.pem })
  assert.equal(warn.info.verify?.ok, false)
  assert.equal(warn.info.verify?.code, 'ERR_TLS_CERT_ALTNAME_INVALID')
  assert.equal(warn.info.verify?.text, 'hostname mismatch: the certificate is for mail.test, not 127.0.0.1')
  const [note] = upstreamCertNotes(warn.info, 'warn')
  assert.equal(note?.code, 'TLS_CERT_HOSTNAME_MISMATCH')
  assert.equal(note?.level, 'warn')
  // warn goes on: the session still works.
  warn.tls.write('a1 noop\r\n')
  assert.match(await readUntil(warn.tls, 'A1 NOOP\r\n'), /A1 NOOP/)
  warn.tls.destroy()

  await assert.rejects(connectTls(undefined, { host: '127.0.0.1', port: up.port, verify: 'strict', ca: ca.pem }), (err: TlsError) => {
    assert.equal(err.code, 'TLS_UPSTREAM_CERT_REFUSED')
    assert.match(err.message, /refused \(--upstream-verify strict\): hostname mismatch/)
    assert.equal(err.info?.chain?.[0]?.subject, 'CN=mail.test')
    return true
  })
  // Naming the upstream by its certificate's name (SNI and check) makes it fine.
  const named = await connectTls(undefined, { host: '127.0.0.1', servername: 'mail.test', port: up.port, verify: 'strict', ca: ca.pem })
  assert.equal(named.info.verify?.ok, true)
  assert.equal(named.info.sni, 'mail.test')
  named.tls.destroy()
})

test('a self-signed upstream certificate is reported as self-signed', async (t) => {
  const up = await upstreamWith(t, await makeServerCert({ names: ['127.0.0.1'] }))
  const { tls, info } = await connectTls(undefined, { host: '127.0.0.1', port: up.port, verify: 'warn' })
  tls.destroy()
  assert.equal(info.verify?.code, 'DEPTH_ZERO_SELF_SIGNED_CERT')
  assert.match(info.verify?.text ?? '', /^self-signed: "127\.0\.0\.1" is signed by itself/)
  assert.equal(info.chain?.[0]?.selfSigned, true)
  assert.equal(upstreamCertNotes(info, 'warn')[0]?.code, 'TLS_CERT_SELF_SIGNED')
})

test('an upstream certificate from a CA nobody installed is reported as unknown CA', async (t) => {
  const stranger = await makeTestCa('Some Private CA')
  const up = await upstreamWith(t, await makeServerCert({ names: ['127.0.0.1'], issuer: stranger }))
  const { tls, info } = await connectTls(undefined, { host: '127.0.0.1', port: up.port, verify: 'off' })
  tls.destroy()
  assert.equal(info.verify?.ok, false)
  assert.match(info.verify?.text ?? '', /^unknown CA: issuer "Some Private CA" is not trusted here/)
  const [note] = upstreamCertNotes(info, 'off')
  assert.equal(note?.code, 'TLS_CERT_UNKNOWN_CA')
  assert.equal(note?.level, 'info')
})

test('an expired upstream certificate is reported as expired with its end date', async (t) => {
  const ca = await trustedCa()
  const notAfter = new Date(Date.now() - 3 * DAY)
  const up = await upstreamWith(t, await makeServerCert({ names: ['127.0.0.1'], issuer: ca, notBefore: new Date(Date.now() - 30 * DAY), notAfter }))
  const { tls, info } = await connectTls(undefined, { host: '127.0.0.1', port: up.port, verify: 'warn', ca: ca.pem })
  tls.destroy()
  assert.equal(info.verify?.code, 'CERT_HAS_EXPIRED')
  assert.equal(info.verify?.text, `expired: "127.0.0.1" was valid until ${notAfter.toISOString().slice(0, 10)}`)
  await assert.rejects(connectTls(undefined, { host: '127.0.0.1', port: up.port, verify: 'strict', ca: ca.pem }), /refused .*: expired/)
})

test('a certificate that is not yet valid is reported as such', async (t) => {
  const ca = await trustedCa()
  const up = await upstreamWith(t, await makeServerCert({ names: ['127.0.0.1'], issuer: ca, notBefore: new Date(Date.now() + 2 * DAY), notAfter: new Date(Date.now() + 40 * DAY) }))
  const { tls, info } = await connectTls(undefined, { host: '127.0.0.1', port: up.port, verify: 'warn', ca: ca.pem })
  tls.destroy()
  assert.equal(info.verify?.code, 'CERT_NOT_YET_VALID')
  assert.match(info.verify?.text ?? '', /^not yet valid: /)
})

test('an expired self-signed certificate for another host lists every problem', async (t) => {
  const up = await upstreamWith(t, await makeServerCert({ names: ['mail.test'], notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) }))
  const { tls, info } = await connectTls(undefined, { host: '127.0.0.1', port: up.port, verify: 'warn' })
  tls.destroy()
  const text = info.verify?.text ?? ''
  assert.match(text, /^expired: /)
  assert.match(text, /; self-signed: /)
  assert.match(text, /; hostname mismatch: the certificate is for mail.test, not 127.0.0.1$/)
})

test('an upstream that answers in plaintext on an implicit-TLS route is explained as wrong port or TLS mode', async (t) => {
  const srv = await listen(
    net.createServer((s) => {
      s.on('error', () => {})
      s.write('220 mail.test ESMTP ready\r\n')
    }),
  )
  t.after(srv.close)
  await assert.rejects(connectTls(undefined, { host: '127.0.0.1', port: srv.port, verify: 'warn' }), (err: TlsError) => {
    assert.equal(err.code, 'TLS_UPSTREAM_SENT_PLAINTEXT')
    assert.match(err.message, /answered in plaintext, not TLS: wrong port or TLS mode/)
    return true
  })
})

test('an unreachable implicit-TLS upstream is reported as such, not as a handshake failure', async (t) => {
  const srv = await listen(net.createServer())
  const port = srv.port
  await srv.close()
  await assert.rejects(connectTls(undefined, { host: '127.0.0.1', port, verify: 'warn' }), (err: TlsError) => {
    assert.equal(err.code, 'TLS_UPSTREAM_UNREACHABLE')
    assert.match(err.message, /ECONNREFUSED/)
    return true
  })
  void t
})
