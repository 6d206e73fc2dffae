// TLS failures through mailtap, each explained in plain words: an upstream certificate for
// another name (warned, or refused in strict mode with the client told why), a client that
// does not trust mailtap's CA, and the wrong port or TLS mode on either leg.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { realServers, users } from '../helpers/real-servers.ts'
import { curl, run, swaks } from '../helpers/clients.ts'
import { connectPlain, handshakes, notes, noteCodes, readUntil, sessionFor, startTlsMailtap, tlsItems, verbsAfter, upgradeSeq } from './helpers.ts'

const { ivan, judy } = users

test('an upstream certificate for mail.test on a route naming 127.0.0.1 is a warning in warn mode and the session goes on', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.submission}`], { verify: 'warn' })
  t.after(() => h.stop())
  const r = await swaks([
    '--server', '127.0.0.1', '--port', String(h.ports[0]), '--tls', '--tls-verify', '--tls-ca-path', h.ca.certPath,
    '--auth', 'PLAIN', '--auth-user', ivan.user, '--auth-password', ivan.password, '--from', ivan.address, '--to', ivan.address,
  ])
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const { session, events } = await sessionFor(h, undefined, 1)
  const server = handshakes(events).find((l) => l.leg === 'server')!
  assert.equal(server.verify?.ok, false)
  assert.match(server.verify!.text, /hostname mismatch: the certificate is for mail\.test, not 127\.0\.0\.1/)
  assert.equal(server.chain?.[0]?.sha256.length, 95, 'the chain carries SHA-256 fingerprints')
  const warning = notes(events).find((n) => n.code === 'TLS_CERT_HOSTNAME_MISMATCH')
  assert.equal(warning?.level, 'warn')
  assert.ok(verbsAfter(events, upgradeSeq(events)).includes('AUTH'))
  assert.equal(session.status, 'closed')
})

test('in strict mode the same upstream is refused after STARTTLS and the client is told why with a 421 over TLS', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.submission}`], { verify: 'strict' })
  t.after(() => h.stop())
  const r = await swaks(['--server', '127.0.0.1', '--port', String(h.ports[0]), '--tls', '--tls-verify', '--tls-ca-path', h.ca.certPath, '--quit-after', 'EHLO'])
  assert.notEqual(r.code, 0)
  assert.match(r.stdout + r.stderr, /421 4\.4\.1 mailtap: TLS to upstream 127\.0\.0\.1:\d+ failed: upstream certificate refused/)
  const { session, events } = await sessionFor(h, undefined, 1)
  assert.equal(session.status, 'failed')
  assert.equal(session.closeReason, 'tls-failed')
  const failed = tlsItems(events).find((i) => i.phase === 'failed')
  assert.equal(failed?.leg, 'server')
  assert.match(failed!.info!.verify!.text, /hostname mismatch/)
  assert.ok(noteCodes(events).includes('TLS_UPSTREAM_CERT_REFUSED'))
})

test('in strict mode an implicit-TLS upstream with the wrong name is refused and a plaintext IMAP client gets a BYE naming it', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`imap://127.0.0.1:0=imaps://127.0.0.1:${servers.imaps}`], { verify: 'strict' })
  t.after(() => h.stop())
  const socket = await connectPlain(h.ports[0]!)
  const bye = await readUntil(socket, /\r\n/)
  socket.destroy()
  assert.match(bye, /^\* BYE \[UNAVAILABLE\] mailtap: TLS to upstream 127\.0\.0\.1:\d+ failed: upstream certificate refused \(--upstream-verify strict\): hostname mismatch/)
  const { session, events } = await sessionFor(h, undefined, 1)
  assert.equal(session.closeReason, 'tls-failed')
  assert.deepEqual(tlsItems(events).map((i) => [i.phase, i.leg]), [['failed', 'server']])
})

test('a client that rejects mailtap\'s certificate is recorded with the hint to install the CA, after STARTTLS and on implicit TLS', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`pop3://127.0.0.1:0=pop3://127.0.0.1:${servers.pop3}`, `pop3s://127.0.0.1:0=pop3s://127.0.0.1:${servers.pop3s}`])
  t.after(() => h.stop())
  // curl trusts the system store only: mailtap's CA is not in it.
  const stls = await curl(['--ssl-reqd', `pop3://127.0.0.1:${h.ports[0]}/`, '--user', `${judy.user}:${judy.password}`])
  assert.equal(stls.code, 60, stls.stderr)
  const implicit = await curl([`pop3s://127.0.0.1:${h.ports[1]}/`, '--user', `${judy.user}:${judy.password}`])
  assert.equal(implicit.code, 60, implicit.stderr)
  const closed = await h.waitClosed(2)
  for (const [how, s] of [['starttls', closed.find((c) => c.route?.listenUrl.startsWith('pop3:'))], ['implicit', closed.find((c) => c.route?.listenUrl.startsWith('pop3s:'))]] as const) {
    assert.ok(s)
    const events = h.events(s.id)
    assert.equal(s.closeReason, 'tls-failed')
    const failed = tlsItems(events).find((i) => i.phase === 'failed')
    assert.equal(failed?.leg, 'client')
    assert.equal(failed?.info?.how, how)
    const note = notes(events).find((n) => n.code === 'TLS_CLIENT_REJECTED_CERT')
    assert.ok(note, `${how}: ${noteCodes(events)}`)
    assert.match(note.text, /unknown CA/)
    assert.match(note.hint ?? '', /mailtap ca/)
    // No credentials ever left the client.
    assert.equal(s.user, undefined)
  }
})

test('a TLS handshake sent to a plaintext port is explained once, as the client expecting implicit TLS', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`imap://127.0.0.1:0=imap://127.0.0.1:${servers.imap}`])
  t.after(() => h.stop())
  const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${h.ports[0]}`, '-brief'], { input: '', timeoutMs: 15_000 })
  assert.notEqual(r.code, 0)
  const { events } = await sessionFor(h, undefined, 1)
  assert.deepEqual(noteCodes(events).filter((c) => /TLS_ON_PLAINTEXT|WRONG_MODE|PLAINTEXT_ON_TLS/.test(c)), ['TLS_ON_PLAINTEXT_PORT'])
})

test('plaintext sent to an implicit-TLS listener fails the session as wrong port or TLS mode', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`imaps://127.0.0.1:0=imaps://127.0.0.1:${servers.imaps}`])
  t.after(() => h.stop())
  const socket = await connectPlain(h.ports[0]!)
  socket.write('a1 CAPABILITY\r\n')
  await new Promise((resolve) => socket.on('close', resolve).resume())
  const { session, events } = await sessionFor(h, undefined, 1)
  assert.equal(session.closeReason, 'tls-failed')
  const note = notes(events).find((n) => n.code === 'PLAINTEXT_ON_TLS_PORT')
  assert.ok(note, String(noteCodes(events)))
  assert.match(note.text, /wrong port or TLS mode/)
  assert.deepEqual(tlsItems(events).map((i) => [i.phase, i.leg]), [['failed', 'client']])
})

test('an upstream dialled with implicit TLS that answers in plaintext is named to the client as wrong port or TLS mode', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const h = await startTlsMailtap([`pop3://127.0.0.1:0=pop3s://127.0.0.1:${servers.pop3}`])
  t.after(() => h.stop())
  const socket = await connectPlain(h.ports[0]!)
  const reply = await readUntil(socket, /\r\n/)
  socket.destroy()
  assert.match(reply, /^-ERR \[SYS\/TEMP\] mailtap: TLS to upstream 127\.0\.0\.1:\d+ failed: .*wrong port or TLS mode/)
  const { events } = await sessionFor(h, undefined, 1)
  assert.ok(noteCodes(events).includes('UPSTREAM_SPEAKS_PLAINTEXT'), String(noteCodes(events)))
})

test('an upstream dialled in plaintext that stays silent is named, while the session is live, as maybe wrong port or TLS mode', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  // Dovecot's imaps port waits for a ClientHello: a plaintext client would wait for a greeting forever.
  const h = await startTlsMailtap([`imap://127.0.0.1:0=imap://127.0.0.1:${servers.imaps}`])
  t.after(() => h.stop())
  const noted = new Promise<string>((resolve) =>
    h.feed.on('event', (_id, ev) => {
      const n = ev.notes?.find((x) => x.code === 'UPSTREAM_NO_GREETING')
      if (n) resolve(n.text)
    }),
  )
  const socket = await connectPlain(h.ports[0]!)
  assert.match(await noted, /no greeting.*wrong port or TLS mode/)
  assert.equal(h.closed.length, 0, 'said while the session is still open')
  socket.destroy()
  await sessionFor(h, undefined, 1)
})
