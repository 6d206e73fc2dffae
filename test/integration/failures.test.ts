// Failure paths with real peers: nothing may hang, and every session must end up
// recorded with its reason.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { realServers, resetMailbox, type Ports } from '../helpers/real-servers.ts'
import { python } from '../helpers/clients.ts'
import { startMailtap, type Harness } from '../helpers/mailtap.ts'
import { sha256 } from '../helpers/wire-tap.ts'

// This file owns heidi's mailbox.
const HEIDI = { user: 'heidi', password: 'heidipw', address: 'heidi@mail.test' }

let servers: Ports | undefined
let mt: Harness

before(async () => {
  servers = await realServers()
  if (!servers) return
  await resetMailbox(HEIDI.user)
  mt = await startMailtap([`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}`, `pop3://127.0.0.1:0=pop3://127.0.0.1:${servers.pop3}`])
})

after(async () => {
  if (servers) await mt.stop()
})

/** Resolves when `text` has arrived on the socket. */
function waitFor(s: net.Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    const on = (d: Buffer) => {
      got += d.toString('latin1')
      if (pattern.test(got)) {
        s.removeListener('data', on)
        resolve(got)
      }
    }
    s.on('data', on)
    s.once('error', reject)
  })
}

async function sessionOf(socket: { localPort?: number }, timeoutMs = 15_000) {
  const port = socket.localPort
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const s = mt.closed.find((x) => x.client.port === port)
    if (s) return s
    if (Date.now() > deadline) throw new Error(`session of client port ${port} never closed`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('an upstream that closes mid-session ends the session as server-closed and the client sees the close', { timeout: 90_000 }, async (t) => {
  if (!servers) return t.skip('no real servers')
  // A real server that hangs up after the greeting and one command.
  const upstream = net.createServer((s) => {
    s.write('220 flaky.test ESMTP\r\n')
    s.once('data', () => s.destroy())
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  const flaky = await startMailtap([`smtp://127.0.0.1:0=smtp://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`])
  try {
    const r = await python('-', [], {
      input: `
import smtplib, sys
try:
    s = smtplib.SMTP('127.0.0.1', ${flaky.ports[0]}, timeout=10)
    s.ehlo('client.test')
    s.mail('a@b.test')
    print('unexpected success'); sys.exit(1)
except smtplib.SMTPServerDisconnected as e:
    print('disconnected', e)
`,
    })
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /disconnected/)
    const [s] = await flaky.waitClosed(1)
    assert.match(s!.closeReason!, /^server-(closed|reset)$/)
    assert.equal(s!.status, 'closed')
  } finally {
    await flaky.stop()
    upstream.close()
  }
})

test('a client that resets mid-DATA against Postfix is recorded as client-reset', { timeout: 60_000 }, async (t) => {
  if (!servers) return t.skip('no real servers')
  const c = net.connect(mt.ports[0]!, '127.0.0.1')
  await waitFor(c, /^220 .*\r\n/)
  c.write('EHLO client.test\r\n')
  await waitFor(c, /^250 .*\r\n/m)
  c.write(`MAIL FROM:<${HEIDI.address}>\r\n`)
  await waitFor(c, /^250/)
  c.write(`RCPT TO:<${HEIDI.address}>\r\n`)
  await waitFor(c, /^250/)
  c.write('DATA\r\n')
  await waitFor(c, /^354/)
  c.write('Subject: cut short\r\n\r\n' + 'half a body\r\n'.repeat(1000))
  await new Promise((r) => setTimeout(r, 100))
  const port = c.localPort
  c.resetAndDestroy()
  const s = await sessionOf({ localPort: port })
  assert.equal(s.closeReason, 'client-reset')
  const events = await mt.store.events(s.id)
  // The body that did arrive was decoded as the start of a DATA body.
  assert.ok(events.some((e) => e.item?.kind === 'body' && e.item.phase === 'start'))
})

test('a 20 MB message goes through SMTP DATA byte for byte', { timeout: 90_000 }, async (t) => {
  if (!servers) return t.skip('no real servers')
  const line = 'x'.repeat(74) + '\r\n'
  const body = `From: <${HEIDI.address}>\r\nTo: <${HEIDI.address}>\r\nSubject: twenty megabytes\r\n\r\n` + line.repeat(Math.ceil((20 * 1024 * 1024) / line.length))
  const sent: Buffer[] = []
  const received: Buffer[] = []
  const c = net.connect(mt.ports[0]!, '127.0.0.1')
  c.on('data', (d) => received.push(d))
  const write = (text: string) => {
    const b = Buffer.from(text)
    sent.push(b)
    return c.write(b)
  }
  await waitFor(c, /^220 .*\r\n/)
  write('EHLO client.test\r\n')
  await waitFor(c, /^250 .*\r\n/m)
  write(`MAIL FROM:<${HEIDI.address}> SIZE=${body.length}\r\n`)
  await waitFor(c, /^250/)
  write(`RCPT TO:<${HEIDI.address}>\r\n`)
  await waitFor(c, /^250/)
  write('DATA\r\n')
  await waitFor(c, /^354/)
  const done = waitFor(c, /^[245]\d\d .*\r\n/m)
  if (!write(body + '.\r\n')) await new Promise((r) => c.once('drain', r))
  assert.match(await done, /^250 2\.0\.0 Ok: queued/, 'Postfix accepted the 20 MB message')
  write('QUIT\r\n')
  await new Promise((r) => c.once('end', r))
  const s = await sessionOf(c)
  await mt.store.flush()
  assert.equal(sha256(await mt.store.raw(s.id, 'client')), sha256(sent))
  assert.equal(sha256(await mt.store.raw(s.id, 'server')), sha256(received))
  assert.equal(s.totals.messages, 1)
  const message = await mt.store.message(s.id, 1)
  assert.ok(message, 'the message was stored')
  assert.equal(message!.length, Buffer.byteLength(body))
  assert.equal(sha256(message!), sha256(Buffer.from(body)))
})

test('200 concurrent sessions all complete and are all recorded with their reason', { timeout: 90_000 }, async (t) => {
  if (!servers) return t.skip('no real servers')
  const before = mt.closed.length
  const one = async () => {
    const c = net.connect(mt.ports[1]!, '127.0.0.1')
    c.setTimeout(60_000, () => c.destroy(new Error('client timed out')))
    await waitFor(c, /^\+OK.*\r\n/)
    c.write('CAPA\r\n')
    await waitFor(c, /\r\n\.\r\n/)
    c.write('QUIT\r\n')
    await waitFor(c, /^\+OK/)
    await new Promise((r) => c.once('close', r))
  }
  const results = await Promise.allSettled(Array.from({ length: 200 }, one))
  const failed = results.filter((r) => r.status === 'rejected')
  assert.equal(failed.length, 0, String((failed[0] as PromiseRejectedResult | undefined)?.reason))
  const closed = await mt.waitClosed(before + 200, 60_000)
  const ours = closed.slice(before)
  assert.equal(ours.length, 200)
  for (const s of ours) {
    assert.equal(s.status, 'closed')
    assert.match(s.closeReason!, /^(client|server)-closed$/)
    assert.ok(s.totals.commands >= 2)
  }
})

test('python imaplib facing an unreachable upstream gets * BYE naming it, and the session is failed', { timeout: 90_000 }, async (t) => {
  if (!servers) return t.skip('no real servers')
  const probe = net.createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const dead = (probe.address() as net.AddressInfo).port
  await new Promise<void>((r) => probe.close(() => r()))
  const refusing = await startMailtap([`imap://127.0.0.1:0=imap://127.0.0.1:${dead}`])
  try {
    const r = await python('-', [], {
      input: `
import imaplib
try:
    imaplib.IMAP4('127.0.0.1', ${refusing.ports[0]})
    print('connected')
except Exception as e:
    print(type(e).__name__, e)
`,
    })
    assert.match(r.stdout, new RegExp(`unreachable: connection refused`))
    assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${dead}`))
    const [s] = await refusing.waitClosed(1)
    assert.equal(s!.status, 'failed')
    assert.equal(s!.closeReason, 'upstream-unreachable')
  } finally {
    await refusing.stop()
  }
})
