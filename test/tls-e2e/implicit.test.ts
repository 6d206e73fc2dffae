// Implicit TLS through mailtap: smtps/pop3s/imaps listeners ending TLS at mailtap, mixed
// routes (a plaintext client to an implicit-TLS upstream, an smtps client to a plaintext
// upstream), byte-exactness on the plaintext legs, and passthrough of STARTTLS and of
// implicit TLS, where mailtap relays the encrypted bytes untouched and only counts them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { realServers, users, ports as bed } from '../helpers/real-servers.ts'
import { curl, run, swaks } from '../helpers/clients.ts'
import { startWireTap, sha256 } from '../helpers/wire-tap.ts'
import { authUsers, handshakes, noteCodes, sessionFor, startTlsMailtap, tlsItems, verbsAfter } from './helpers.ts'

const { ivan, judy, ken } = users

const imapsLogin = `
import imaplib, ssl, sys, json
ctx = ssl.create_default_context(cafile=sys.argv[2])
m = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[1]), ssl_context=ctx, timeout=10)
m.login(sys.argv[3], sys.argv[4])
typ, _ = m.select('INBOX')
print(json.dumps({'select': typ, 'version': m.sock.version()}))
m.logout()
`

test('an imaps listener ends TLS at mailtap for python IMAP4_SSL and speaks TLS to Dovecot imaps', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`imaps://127.0.0.1:0=imaps://127.0.0.1:${servers.imaps}`])
  t.after(() => h.stop())
  const r = await run('python3', ['-c', imapsLogin, String(h.ports[0]), h.ca.certPath, ivan.user, ivan.password])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout).select, 'OK')
  const { session, events } = await sessionFor(h, undefined, 1)
  assert.deepEqual(handshakes(events).map((l) => [l.leg, l.how]), [['client', 'implicit'], ['server', 'implicit']])
  assert.equal(session.user, ivan.user)
  assert.ok(verbsAfter(events, 0).includes('LOGIN'))
  // Over implicit TLS a LOGIN is not a cleartext password.
  assert.ok(!noteCodes(events).some((c) => /CLEAR|PLAINTEXT_AUTH/.test(c)), String(noteCodes(events)))
})

test('a pop3s listener serves curl with the mailtap CA, and Dovecot pop3s is dialled with TLS', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`pop3s://127.0.0.1:0=pop3s://127.0.0.1:${servers.pop3s}`])
  t.after(() => h.stop())
  const r = await curl(['--cacert', h.ca.certPath, `pop3s://127.0.0.1:${h.ports[0]}/`, '--user', `${judy.user}:${judy.password}`])
  assert.equal(r.code, 0, r.stderr)
  const { session, events } = await sessionFor(h, undefined, 1)
  assert.deepEqual(handshakes(events).map((l) => [l.leg, l.how]), [['client', 'implicit'], ['server', 'implicit']])
  assert.equal(session.user, judy.user)
})

for (const upstream of ['smtps', 'smtp'] as const) {
  test(`an smtps listener in front of Postfix ${upstream} takes a message from swaks --tlsc with AUTH`, async (t) => {
    const servers = await realServers(t)
    if (!servers) return
    const h = await startTlsMailtap([`smtps://127.0.0.1:0=${upstream}://127.0.0.1:${upstream === 'smtps' ? servers.smtps : servers.smtp}`])
    t.after(() => h.stop())
    const r = await swaks([
      '--server', '127.0.0.1', '--port', String(h.ports[0]), '--tlsc', '--tls-verify', '--tls-ca-path', h.ca.certPath,
      '--auth', 'LOGIN', '--auth-user', ken.user, '--auth-password', ken.password,
      '--from', ken.address, '--to', ken.address, '--header', `Subject: smtps-to-${upstream}`,
    ])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const { session, events } = await sessionFor(h, undefined, 1)
    const legs = handshakes(events).map((l) => [l.leg, l.how])
    assert.deepEqual(legs, upstream === 'smtps' ? [['client', 'implicit'], ['server', 'implicit']] : [['client', 'implicit']])
    assert.deepEqual(authUsers(events).slice(0, 1), [ken.user])
    assert.equal(session.totals.messages, 1)
  })
}

test('a plaintext client on a route to Dovecot imaps sees everything without trusting any CA, byte for byte', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`imap://127.0.0.1:0=imaps://127.0.0.1:${servers.imaps}`])
  t.after(() => h.stop())
  // An independent forwarder in front of mailtap witnesses the plaintext leg.
  const tap = await startWireTap(h.ports[0]!)
  t.after(() => tap.close())
  const r = await run('python3', ['-c', `
import imaplib, sys, json
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]), timeout=10)
m.login(sys.argv[2], sys.argv[3])
typ, _ = m.select('INBOX')
m.noop()
print(json.dumps({'select': typ}))
m.logout()
`, String(tap.port), ivan.user, ivan.password])
  assert.equal(r.code, 0, r.stderr)
  await tap.connections[0]!.closed
  const { session, events } = await sessionFor(h, tap.connections[0]!.localPort(), 1)
  assert.deepEqual(handshakes(events).map((l) => [l.leg, l.how]), [['server', 'implicit']])
  assert.equal(session.user, ivan.user)
  await h.store.flush()
  assert.equal(sha256(await h.store.raw(session.id, 'client')), sha256(tap.connections[0]!.sent), 'client bytes recorded exactly')
  assert.equal(sha256(await h.store.raw(session.id, 'server')), sha256(tap.connections[0]!.received), 'server bytes recorded as the client got them')
})

test('STARTTLS passthrough: curl still sends through Postfix, which presents its own certificate; the session counts encrypted bytes', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}?tls=passthrough`])
  t.after(() => h.stop())
  const tap = await startWireTap(h.ports[0]!)
  t.after(() => tap.close())
  const file = join(h.dataDir, 'pass.eml')
  writeFileSync(file, `From: ${judy.address}\r\nTo: ${judy.address}\r\nSubject: passthrough\r\n\r\nsealed\r\n`)
  // Postfix's own certificate is for mail.test: curl verifies it against the test bed's certificate.
  const r = await curl([
    '--ssl-reqd', '--cacert', bed.certFile, '--connect-to', `mail.test:25:127.0.0.1:${tap.port}`, 'smtp://mail.test:25',
    '--user', `${judy.user}:${judy.password}`, '--mail-from', judy.address, '--mail-rcpt', judy.address, '-T', file,
  ])
  assert.equal(r.code, 0, r.stderr)
  await tap.connections[0]!.closed
  const { session, events } = await sessionFor(h, undefined, 1)
  const items = tlsItems(events)
  assert.deepEqual(items.map((i) => i.phase), ['go-ahead', 'passthrough'])
  assert.equal(handshakes(events).length, 0)
  assert.ok(noteCodes(events).includes('TLS_PASSTHROUGH'))
  // Commands up to STARTTLS are decoded; nothing after it (AUTH, MAIL) is.
  assert.deepEqual(verbsAfter(events, 0), ['EHLO', 'STARTTLS'])
  const sent = Buffer.concat(tap.connections[0]!.sent)
  assert.equal(session.totals.bytesFromClient, sent.length, 'every encrypted byte is counted')
  await h.store.flush()
  assert.ok(sent.equals(await h.store.raw(session.id, 'client')), 'and recorded untouched')
  assert.ok(!sent.includes('MAIL FROM'), 'the envelope went encrypted')
})

test('implicit TLS passthrough: curl pop3s reaches Dovecot through mailtap with Dovecot\'s certificate', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`pop3s://127.0.0.1:0=pop3s://127.0.0.1:${servers.pop3s}?tls=passthrough`])
  t.after(() => h.stop())
  const r = await curl(['--cacert', bed.certFile, '--connect-to', `mail.test:995:127.0.0.1:${h.ports[0]}`, 'pop3s://mail.test/', '--user', `${judy.user}:${judy.password}`])
  assert.equal(r.code, 0, r.stderr)
  const { session, events } = await sessionFor(h, undefined, 1)
  assert.deepEqual(tlsItems(events).map((i) => i.phase), ['passthrough'])
  assert.equal(verbsAfter(events, 0).length, 0)
  assert.ok(session.totals.bytesFromClient > 300 && session.totals.bytesFromServer > 300)
  assert.equal(session.status, 'closed')
  assert.equal(noteCodes(events).filter((c) => c !== 'TLS_PASSTHROUGH').length, 0, String(noteCodes(events)))
})
