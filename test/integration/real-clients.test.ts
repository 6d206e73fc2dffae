// Real clients through mailtap to real servers (Postfix, Dovecot). Each client must succeed
// exactly as without mailtap, and the bytes mailtap recorded in each direction must equal
// what the client sent and received (an independent wire tap in front of mailtap is the
// witness), compared as SHA-256 digests — both from the live feed and from the store.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { realServers, resetMailbox, type Ports } from '../helpers/real-servers.ts'
import { curl, python, scripts, swaks, loginArgs } from '../helpers/clients.ts'
import { startMailtap, type Harness } from '../helpers/mailtap.ts'
import { startWireTap, sha256, type WireTap } from '../helpers/wire-tap.ts'

// This file owns the mailboxes of dave and erin (files run in parallel).
const DAVE = { user: 'dave', password: 'davepw', address: 'dave@mail.test' }
const ERIN = { user: 'erin', password: 'erinpw', address: 'erin@mail.test' }

let servers: Ports | undefined
let mt: Harness
let taps: { smtp: WireTap; pop3: WireTap; imap: WireTap }

before(async () => {
  servers = await realServers()
  if (!servers) return
  await resetMailbox(DAVE.user)
  await resetMailbox(ERIN.user)
  mt = await startMailtap([
    `smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}`,
    `pop3://127.0.0.1:0=pop3://127.0.0.1:${servers.pop3}`,
    `imap://127.0.0.1:0=imap://127.0.0.1:${servers.imap}`,
  ])
  taps = {
    smtp: await startWireTap(mt.ports[0]!),
    pop3: await startWireTap(mt.ports[1]!),
    imap: await startWireTap(mt.ports[2]!),
  }
})

after(async () => {
  if (!servers) return
  for (const t of Object.values(taps)) t.close()
  await mt.stop()
})

/**
 * Waits for the session that the tap's latest connection became, then checks that both
 * directions were recorded byte for byte (feed and store) and returns it.
 */
async function checkRecorded(tap: WireTap, protocol: string) {
  const conn = tap.connections.at(-1)!
  await conn.closed
  const started = mt.closed.length
  // The session closes just after the tap sees its sockets close.
  const deadline = Date.now() + 10_000
  let session
  const port = conn.localPort()
  while (!(session = mt.closed.find((s) => s.protocol === protocol && s.client.port === port))) {
    if (Date.now() > deadline) throw new Error(`no closed ${protocol} session (had ${started})`)
    await new Promise((r) => setTimeout(r, 20))
  }
  await mt.store.flush()
  const clientRaw = await mt.store.raw(session.id, 'client')
  const serverRaw = await mt.store.raw(session.id, 'server')
  assert.equal(sha256(clientRaw), sha256(conn.sent), 'client → server bytes recorded exactly')
  assert.equal(sha256(serverRaw), sha256(conn.received), 'server → client bytes recorded exactly')
  assert.equal(session.totals.bytesFromClient, Buffer.concat(conn.sent).length)
  assert.equal(session.totals.bytesFromServer, Buffer.concat(conn.received).length)
  return session
}

test('curl sends a mail over SMTP through mailtap', async (t) => {
  if (!servers) return t.skip('no real servers')
  const mail = `From: <${DAVE.address}>\r\nTo: <${DAVE.address}>\r\nSubject: curl through mailtap\r\n\r\nHello from curl.\r\n`
  const r = await curl(
    [`smtp://127.0.0.1:${taps.smtp.port}`, '--mail-from', DAVE.address, '--mail-rcpt', DAVE.address, '--upload-file', '-'],
    { input: mail },
  )
  assert.equal(r.code, 0, r.stderr)
  const s = await checkRecorded(taps.smtp, 'smtp')
  assert.equal(s.status, 'closed')
  assert.ok(s.totals.commands >= 5, `decoded ${s.totals.commands} commands`)
})

test('swaks sends with AUTH LOGIN through mailtap and the user is decoded', async (t) => {
  if (!servers) return t.skip('no real servers')
  const r = await swaks([
    '--server', `127.0.0.1:${taps.smtp.port}`, '--to', DAVE.address, '--from', DAVE.address,
    '--auth', 'LOGIN', '--auth-user', DAVE.user, '--auth-password', DAVE.password,
    '--header', 'Subject: swaks through mailtap',
  ])
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /235 2\.7\.0 Authentication successful/)
  const s = await checkRecorded(taps.smtp, 'smtp')
  assert.equal(s.user, DAVE.user)
})

test('the seed SMTP exchange (auth login in lower case) works with python smtplib', async (t) => {
  if (!servers) return t.skip('no real servers')
  const r = await python(scripts.seedSmtp, [...loginArgs('127.0.0.1', taps.smtp.port, DAVE), '--to', DAVE.address])
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const s = await checkRecorded(taps.smtp, 'smtp')
  assert.equal(s.user, DAVE.user)
  const events = await mt.store.events(s.id)
  const auth = events.find((e) => e.item?.kind === 'command' && e.item.verb === 'AUTH')
  assert.ok(auth, 'the lower-case auth login was decoded as AUTH')
  assert.ok(events.some((e) => e.item?.kind === 'message' && e.item.phase === 'parsed' && e.item.summary?.subject === 'Asunto'))
})

test('curl lists and retrieves over POP3 through mailtap', async (t) => {
  if (!servers) return t.skip('no real servers')
  // Make sure there is a message to retrieve.
  const sent = await python(scripts.smtpSend, [...loginArgs('127.0.0.1', servers.smtp, DAVE), '--to', DAVE.address, '--subject', 'for pop3'])
  assert.equal(sent.code, 0, sent.stdout + sent.stderr)
  await new Promise((r) => setTimeout(r, 300))
  const list = await curl([`pop3://127.0.0.1:${taps.pop3.port}/`, '--user', `${DAVE.user}:${DAVE.password}`])
  assert.equal(list.code, 0, list.stderr)
  assert.match(list.stdout, /^1 \d+/m)
  await checkRecorded(taps.pop3, 'pop3')
  const retr = await curl([`pop3://127.0.0.1:${taps.pop3.port}/1`, '--user', `${DAVE.user}:${DAVE.password}`])
  assert.equal(retr.code, 0, retr.stderr)
  assert.match(retr.stdout, /Subject: /)
  const s = await checkRecorded(taps.pop3, 'pop3')
  assert.equal(s.user, DAVE.user)
  assert.ok(s.totals.messages >= 1, 'the RETR was extracted as a message')
})

test('the seed POP3 exchange (USER, PASS, LIST, QUIT) works with python poplib', async (t) => {
  if (!servers) return t.skip('no real servers')
  const r = await python(scripts.seedPop3, loginArgs('127.0.0.1', taps.pop3.port, DAVE))
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const s = await checkRecorded(taps.pop3, 'pop3')
  const events = await mt.store.events(s.id)
  const verbs = events.flatMap((e) => (e.item?.kind === 'command' ? [e.item.verb] : []))
  assert.deepEqual(verbs.slice(0, 4), ['USER', 'PASS', 'LIST', 'QUIT'])
  // The password never appears in a plain-text field.
  assert.ok(!JSON.stringify(events.map((e) => e.item)).includes(DAVE.password))
})

test('curl fetches over IMAP through mailtap', async (t) => {
  if (!servers) return t.skip('no real servers')
  const sent = await python(scripts.smtpSend, [...loginArgs('127.0.0.1', servers.smtp, ERIN), '--to', ERIN.address, '--subject', 'for imap'])
  assert.equal(sent.code, 0, sent.stdout + sent.stderr)
  await new Promise((r) => setTimeout(r, 300))
  const r = await curl([`imap://127.0.0.1:${taps.imap.port}/INBOX;MAILINDEX=1`, '--user', `${ERIN.user}:${ERIN.password}`])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /Subject: for imap/)
  const s = await checkRecorded(taps.imap, 'imap')
  assert.equal(s.user, ERIN.user)
})

test('the seed IMAP exchange works with python imaplib', async (t) => {
  if (!servers) return t.skip('no real servers')
  const r = await python(scripts.seedImap, loginArgs('127.0.0.1', taps.imap.port, ERIN))
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const s = await checkRecorded(taps.imap, 'imap')
  const events = await mt.store.events(s.id)
  const verbs = events.flatMap((e) => (e.item?.kind === 'command' ? [e.item.verb] : []))
  for (const v of ['LOGIN', 'LIST', 'SELECT', 'FETCH', 'STORE', 'EXPUNGE', 'LOGOUT']) {
    assert.ok(verbs.includes(v), `${v} decoded (got ${verbs.join(' ')})`)
  }
  assert.ok(events.some((e) => e.item?.kind === 'untagged' && e.item.name === 'EXPUNGE'))
})

test('nodemailer sends through mailtap with AUTH PLAIN', async (t) => {
  if (!servers) return t.skip('no real servers')
  const nodemailer = (await import('nodemailer')).default
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: taps.smtp.port,
    secure: false,
    ignoreTLS: true,
    auth: { user: ERIN.user, pass: ERIN.password },
  })
  const info = await transport.sendMail({ from: ERIN.address, to: ERIN.address, subject: 'nodemailer through mailtap', text: 'hi' })
  transport.close()
  assert.match(info.response, /^250 /)
  const s = await checkRecorded(taps.smtp, 'smtp')
  assert.equal(s.user, ERIN.user)
})

test('imapflow lists and fetches through mailtap', async (t) => {
  if (!servers) return t.skip('no real servers')
  const { ImapFlow } = await import('imapflow')
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: taps.imap.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: ERIN.user, pass: ERIN.password },
    logger: false,
  })
  await client.connect()
  const boxes = await client.list()
  assert.ok(boxes.some((b) => b.path === 'INBOX'))
  const lock = await client.getMailboxLock('INBOX')
  try {
    await client.append('INBOX', 'Subject: appended by imapflow\r\n\r\nbody\r\n')
    const msg = await client.fetchOne('*', { envelope: true, source: true })
    assert.ok(msg && msg.source && msg.source.length > 0)
  } finally {
    lock.release()
  }
  await client.logout()
  const s = await checkRecorded(taps.imap, 'imap')
  assert.ok(s.totals.messages >= 1)
})

test('a server-first greeting reaches the client at once', async (t) => {
  if (!servers) return t.skip('no real servers')
  // A raw line client: the greeting reaches the client at once (server-first protocol).
  const socket = net.connect(taps.pop3.port, '127.0.0.1')
  const greeting = await new Promise<string>((r) => socket.once('data', (d) => r(String(d))))
  assert.match(greeting, /^\+OK Dovecot/)
  socket.end('QUIT\r\n')
  await checkRecorded(taps.pop3, 'pop3')
})
