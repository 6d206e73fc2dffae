// STARTTLS, STLS and IMAP STARTTLS through mailtap to the real Postfix and Dovecot, with
// real clients that trust mailtap's CA: both legs are upgraded, and what follows the
// upgrade (AUTH, the message, the mailbox) is decoded in the clear.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import tls from 'node:tls'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ImapFlow } from 'imapflow'
import { realServers, users } from '../helpers/real-servers.ts'
import { curl, run, swaks } from '../helpers/clients.ts'
import { authUsers, connectPlain, handshakes, noteCodes, readUntil, sessionFor, startTlsMailtap, upgradeSeq, verbsAfter, tlsItems } from './helpers.ts'

const { ivan, judy, ken } = users

test('swaks --tls through mailtap to Postfix: both legs upgrade, then AUTH and the message are decoded', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}`])
  t.after(() => h.stop())
  const subject = `swaks-tls-${Date.now()}`
  const r = await swaks([
    '--server', '127.0.0.1', '--port', String(h.ports[0]),
    '--tls', '--tls-verify', '--tls-ca-path', h.ca.certPath,
    '--auth', 'PLAIN', '--auth-user', ivan.user, '--auth-password', ivan.password,
    '--from', ivan.address, '--to', ivan.address, '--header', `Subject: ${subject}`, '--body', 'through the upgrade',
  ])
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const { session, events } = await sessionFor(h, undefined, 1)
  const legs = handshakes(events)
  assert.deepEqual(legs.map((l) => [l.leg, l.how, l.mode]), [['client', 'starttls', 'intercept'], ['server', 'starttls', 'intercept']])
  assert.match(legs[0]!.version ?? '', /^TLSv1\.[23]$/)
  assert.ok(legs[1]!.chain?.[0]?.sans.includes('mail.test'), 'the upstream chain is recorded')
  const after = verbsAfter(events, upgradeSeq(events))
  for (const verb of ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT']) assert.ok(after.includes(verb), `${verb} decoded after the upgrade: ${after}`)
  assert.deepEqual(authUsers(events).slice(0, 1), [ivan.user])
  assert.equal(session.totals.messages, 1)
  const eml = await h.store.message(session.id, 1)
  assert.match(eml!.toString(), new RegExp(`Subject: ${subject}`))
  // The route names 127.0.0.1, the test bed's certificate is for mail.test: warned, not refused.
  assert.ok(noteCodes(events).includes('TLS_CERT_HOSTNAME_MISMATCH'))
  // After its QUIT got 221, swaks (IO::Socket::SSL) sometimes tears the TLS connection down
  // with a reset instead of a FIN: a normal end of this session either way.
  assert.ok(['client-closed', 'server-closed', 'client-reset'].includes(session.closeReason!), session.closeReason)
})

test('curl --ssl-reqd --cacert with the mailtap CA sends a message over SMTP STARTTLS with AUTH', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}`])
  t.after(() => h.stop())
  const file = join(h.dataDir, 'mail.eml')
  writeFileSync(file, `From: ${judy.address}\r\nTo: ${judy.address}\r\nSubject: curl-starttls\r\n\r\nhello over TLS\r\n`)
  const r = await curl([
    '--ssl-reqd', '--cacert', h.ca.certPath, `smtp://127.0.0.1:${h.ports[0]}`,
    '--user', `${judy.user}:${judy.password}`, '--mail-from', judy.address, '--mail-rcpt', judy.address, '-T', file,
  ])
  assert.equal(r.code, 0, r.stderr)
  const { session, events } = await sessionFor(h, undefined, 1)
  assert.equal(handshakes(events).length, 2)
  const after = verbsAfter(events, upgradeSeq(events))
  assert.ok(after.includes('AUTH') && after.includes('DATA'), String(after))
  assert.deepEqual(authUsers(events).slice(0, 1), [judy.user])
  assert.match((await h.store.message(session.id, 1))!.toString(), /hello over TLS/)
})

test('POP3 STLS through mailtap works for curl --ssl-reqd and python poplib stls() with the mailtap CA', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`pop3://127.0.0.1:0=pop3://127.0.0.1:${servers.pop3}`])
  t.after(() => h.stop())
  const c = await curl(['--ssl-reqd', '--cacert', h.ca.certPath, `pop3://127.0.0.1:${h.ports[0]}/`, '--user', `${ken.user}:${ken.password}`])
  assert.equal(c.code, 0, c.stderr)
  const py = await run('python3', ['-c', `
import poplib, ssl, sys, json
ctx = ssl.create_default_context(cafile=sys.argv[2])
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=10)
p.stls(context=ctx)
p.user(sys.argv[3]); p.pass_(sys.argv[4])
count, size = p.stat()
print(json.dumps({'count': count, 'version': p.sock.version()}))
p.quit()
`, String(h.ports[0]), h.ca.certPath, ken.user, ken.password])
  assert.equal(py.code, 0, py.stderr)
  assert.match(JSON.parse(py.stdout).version, /^TLSv1\.[23]$/)
  const closed = await h.waitClosed(2)
  for (const s of closed) {
    const events = h.events(s.id)
    assert.equal(handshakes(events).length, 2, `session ${s.id} upgraded both legs`)
    const after = verbsAfter(events, upgradeSeq(events))
    assert.ok((after.includes('USER') && after.includes('PASS')) || after.includes('AUTH'), `login decoded after STLS: ${after}`)
    assert.equal(s.user, ken.user)
  }
})

test('IMAP STARTTLS through mailtap works for python imaplib starttls() and for imapflow', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`imap://127.0.0.1:0=imap://127.0.0.1:${servers.imap}`])
  t.after(() => h.stop())
  const py = await run('python3', ['-c', `
import imaplib, ssl, sys, json
ctx = ssl.create_default_context(cafile=sys.argv[2])
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]), timeout=10)
m.starttls(ssl_context=ctx)
m.login(sys.argv[3], sys.argv[4])
typ, data = m.select('INBOX')
print(json.dumps({'select': typ}))
m.logout()
`, String(h.ports[0]), h.ca.certPath, ken.user, ken.password])
  assert.equal(py.code, 0, py.stderr)
  assert.equal(JSON.parse(py.stdout).select, 'OK')

  const client = new ImapFlow({
    host: '127.0.0.1', port: h.ports[0]!, secure: false, doSTARTTLS: true,
    tls: { ca: [readFileSync(h.ca.certPath, 'utf8')], servername: 'localhost' },
    auth: { user: ken.user, pass: ken.password }, logger: false,
  })
  await client.connect()
  const status = await client.status('INBOX', { messages: true })
  assert.ok(status && typeof status.messages === 'number')
  await client.logout()

  const closed = await h.waitClosed(2)
  for (const s of closed) {
    const events = h.events(s.id)
    assert.equal(handshakes(events).length, 2)
    const after = verbsAfter(events, upgradeSeq(events))
    assert.ok(after.includes('LOGIN') || after.includes('AUTHENTICATE'), `login decoded after STARTTLS: ${after}`)
    assert.equal(s.user, ken.user)
  }
})

for (const [protocol, portName] of [['smtp', 'smtp'], ['pop3', 'pop3'], ['imap', 'imap']] as const) {
  test(`openssl s_client -starttls ${protocol} gets a certificate for the requested name issued by the mailtap CA`, async (t) => {
    const servers = await realServers(t)
    if (!servers) return
    const h = await startTlsMailtap([`${protocol}://127.0.0.1:0=${protocol}://127.0.0.1:${servers[portName]}`])
    t.after(() => h.stop())
    const r = await run('openssl', [
      's_client', '-connect', `127.0.0.1:${h.ports[0]}`, '-starttls', protocol, '-servername', 'mx.example.org',
      '-CAfile', h.ca.certPath, '-verify_return_error', '-verify_hostname', 'mx.example.org', '-brief',
    ], { input: protocol === 'smtp' ? 'QUIT\r\n' : protocol === 'pop3' ? 'QUIT\r\n' : 'a1 LOGOUT\r\n', timeoutMs: 15_000 })
    const out = r.stdout + r.stderr
    assert.match(out, /Verification: OK/, out)
    assert.match(out, /Peer certificate: CN ?= ?mx\.example\.org/, out)
    const x = await run('openssl', ['s_client', '-connect', `127.0.0.1:${h.ports[0]}`, '-starttls', protocol, '-servername', 'mx.example.org', '-showcerts'], {
      input: '', timeoutMs: 15_000,
    })
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(x.stdout)?.[0]
    assert.ok(pem, x.stdout + x.stderr)
    const leaf = new (await import('node:crypto')).X509Certificate(pem)
    assert.ok(leaf.checkIssued(new (await import('node:crypto')).X509Certificate(h.ca.certPem)), 'issued by the mailtap CA')
    assert.ok(leaf.checkHost('mx.example.org'))
    const closed = await h.waitClosed(2)
    const sni = closed.map((s) => handshakes(h.events(s.id)).find((l) => l.leg === 'client')?.sni)
    assert.deepEqual(sni, ['mx.example.org', 'mx.example.org'])
  })
}

test('STARTTLS and RSET in one write: Postfix answers STARTTLS only, RSET is flagged and never enters the TLS session', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}`])
  t.after(() => h.stop())
  const raw = await connectPlain(h.ports[0]!)
  await readUntil(raw, /^220 .*\r\n/m)
  raw.write('EHLO injector.test\r\n')
  await readUntil(raw, /^250 .*\r\n/m)
  raw.write('STARTTLS\r\nRSET\r\n')
  const ready = await readUntil(raw, /^220 .*\r\n/m)
  assert.doesNotMatch(ready, /^250 /m, 'no plaintext answer to RSET')
  const secure = tls.connect({ socket: raw, ca: [readFileSync(h.ca.certPath, 'utf8')], servername: 'localhost' })
  await new Promise<void>((resolve, reject) => (secure.once('secureConnect', resolve), secure.once('error', reject)))
  // Had RSET reached the TLS session, its one-line "250 2.0.0 Ok" would come before EHLO's list.
  secure.write('EHLO injector.test\r\n')
  const first = await readUntil(secure, /^250 .*\r\n/m)
  assert.match(first, /^250-mail\.test\r\n/, first)
  secure.write('QUIT\r\n')
  await readUntil(secure, /^221 /m).catch(() => '')
  secure.destroy()
  const { events } = await sessionFor(h, undefined, 1)
  assert.ok(noteCodes(events).includes('STARTTLS_INJECTION'), String(noteCodes(events)))
  const upgrade = upgradeSeq(events)
  assert.ok(upgrade > 0)
  assert.deepEqual(verbsAfter(events, upgrade), ['EHLO', 'QUIT'])
  assert.equal(tlsItems(events).filter((i) => i.phase === 'failed').length, 0)
})
