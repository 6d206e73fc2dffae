// The lab's POP3 server: the seed's exchange, every RFC 1939 command, STLS, python3's
// poplib, curl, the shared INBOX with IMAP, and the POP3 faults.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseFaults, startLab, type Lab } from '../../proxy/lab/index.ts'
import { b64, python, RawClient, run, testCertificate } from './helpers.ts'

const END = /^\.\r\n/m

describe('lab POP3', () => {
  let lab: Lab
  before(async () => {
    lab = await startLab({ tls: await testCertificate() })
  })
  after(() => lab.stop())

  async function login(user = 'alice', pass = `${user}pw`): Promise<RawClient> {
    const c = await RawClient.connect(lab.ports.pop3)
    await c.until(/^\+OK .*\r\n/m)
    await c.say(`USER ${user}`, /^\+OK.*\r\n/m)
    assert.match(await c.say(`PASS ${pass}`, /^[+-].*\r\n/m), /^\+OK /)
    return c
  }

  test("the seed's POP3 exchange works as written: USER, PASS, LIST, QUIT", async () => {
    const c = await RawClient.connect(lab.ports.pop3)
    assert.match(await c.until(/\r\n/), /^\+OK /)
    assert.match(await c.say('USER pepe', /\r\n/), /^\+OK/)
    assert.match(await c.say('PASS LaContrasenia', /\r\n/), /^\+OK /)
    const list = await c.say('LIST', END)
    const inbox = lab.mailboxes.mailbox('pepe', 'INBOX')!.messages
    const lines = list.split('\r\n')
    assert.match(lines[0], /^\+OK/)
    assert.equal(lines.length - 3, inbox.length, 'one line per message, then "." and the empty tail')
    assert.match(lines[1], /^1 \d+$/)
    assert.equal(lines[inbox.length + 1], '.')
    assert.match(await c.say('QUIT', /\r\n/), /^\+OK/)
    await c.closedByServer()
  })

  test('pipelined POP3 commands (RFC 2449 PIPELINING) are answered in order', async () => {
    const c = await RawClient.connect(lab.ports.pop3)
    await c.until(/\r\n/)
    c.write('USER alice\r\nPASS alicepw\r\nSTAT\r\nNOOP\r\nQUIT\r\n')
    await c.closedByServer()
    const lines = c.text.split('\r\n')
    assert.match(lines[0], /^\+OK send PASS$/)
    assert.match(lines[1], /^\+OK alice's maildrop/)
    assert.match(lines[2], /^\+OK \d+ \d+$/)
    assert.equal(lines[3], '+OK')
    assert.match(lines[4], /^\+OK .*signing off/)
  })

  test('STAT, LIST n, UIDL, TOP, RETR with dot-stuffing, NOOP and CAPA answer as RFC 1939 and 2449 say', async () => {
    const dotted = 'Subject: dots\r\n\r\n.leading dot\r\nplain\r\n'
    lab.mailboxes.deliver('bob', Buffer.from(dotted))
    const c = await login('bob')
    const n = lab.mailboxes.mailbox('bob', 'INBOX')!.messages.length
    const stat = await c.say('STAT', /\r\n/)
    assert.match(stat, new RegExp(`^\\+OK ${n} \\d+\\r\\n$`))
    assert.equal(await c.say(`LIST ${n}`, /\r\n/), `+OK ${n} ${Buffer.byteLength(dotted)}\r\n`)
    const retr = await c.say(`RETR ${n}`, END)
    assert.equal(retr, `+OK ${Buffer.byteLength(dotted)} octets\r\nSubject: dots\r\n\r\n..leading dot\r\nplain\r\n.\r\n`)
    const top = await c.say(`TOP ${n} 0`, END)
    assert.equal(top, '+OK top of message follows\r\nSubject: dots\r\n\r\n.\r\n')
    const uidl = await c.say('UIDL', END)
    assert.match(uidl, new RegExp(`^${n} \\d+-\\d+$`, 'm'))
    assert.equal(await c.say('NOOP', /\r\n/), '+OK\r\n')
    assert.match(await c.say('LIST 999', /\r\n/), /^-ERR/)
    assert.match(await c.say('BOGUS', /\r\n/), /^-ERR/)
    const capa = await c.say('CAPA', END)
    for (const cap of ['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING']) assert.match(capa, new RegExp(`^${cap}\\r$`, 'm'))
    c.send('QUIT')
    await c.closedByServer()
  })

  test('DELE then QUIT removes the message from the INBOX IMAP sees; RSET undoes DELE', async () => {
    const marker = `pop3-dele-${Date.now()}`
    lab.mailboxes.deliver('bob', Buffer.from(`Subject: ${marker}\r\n\r\nbye\r\n`))
    const box = lab.mailboxes.mailbox('bob', 'INBOX')!
    const n = box.messages.length
    let c = await login('bob')
    assert.match(await c.say(`DELE ${n}`, /\r\n/), /^\+OK/)
    assert.match(await c.say(`RETR ${n}`, /\r\n/), /^-ERR/)
    assert.match(await c.say('RSET', /\r\n/), /^\+OK/)
    assert.match(await c.say(`DELE ${n}`, /\r\n/), /^\+OK/)
    // Still there until QUIT (RFC 1939 6: deletions happen in the UPDATE state).
    assert.ok(box.messages.some((m) => m.raw.includes(marker)))
    await c.say('QUIT', /\r\n/)
    await c.closedByServer()
    assert.ok(!lab.mailboxes.mailbox('bob', 'INBOX')!.messages.some((m) => m.raw.includes(marker)))
    // A connection dropped without QUIT deletes nothing.
    lab.mailboxes.deliver('bob', Buffer.from(`Subject: ${marker}-2\r\n\r\nstay\r\n`))
    c = await login('bob')
    await c.say(`DELE ${lab.mailboxes.mailbox('bob', 'INBOX')!.messages.length}`, /\r\n/)
    c.close()
    c = await login('bob')
    assert.ok(lab.mailboxes.mailbox('bob', 'INBOX')!.messages.some((m) => m.raw.includes(`${marker}-2`)))
    c.send('QUIT')
    await c.closedByServer()
  })

  test('a second POP3 login for the same user gets -ERR [IN-USE] while the first holds the lock', async () => {
    const first = await login('alice')
    const second = await RawClient.connect(lab.ports.pop3)
    await second.until(/\r\n/)
    await second.say('USER alice', /\r\n/)
    assert.match(await second.say('PASS alicepw', /\r\n/), /^-ERR \[IN-USE\]/)
    first.send('QUIT')
    await first.closedByServer()
    assert.match(await second.say('USER alice', /\r\n/), /^\+OK/)
    assert.match(await second.say('PASS alicepw', /\r\n/), /^\+OK/)
    second.send('QUIT')
  })

  test('wrong password gets -ERR [AUTH]; AUTH PLAIN with and without initial response logs in', async () => {
    const c = await RawClient.connect(lab.ports.pop3)
    await c.until(/\r\n/)
    await c.say('USER bob', /\r\n/)
    assert.match(await c.say('PASS nope', /\r\n/), /^-ERR \[AUTH\]/)
    assert.equal(await c.say('AUTH PLAIN', /\r\n/), '+ \r\n')
    assert.match(await c.say(b64('\0bob@mail.test\0bobpw'), /\r\n/), /^\+OK/)
    c.send('QUIT')
    await c.closedByServer()
    const d = await RawClient.connect(lab.ports.pop3)
    await d.until(/\r\n/)
    assert.match(await d.say(`AUTH PLAIN ${b64('\0bob\0bobpw')}`, /\r\n/), /^\+OK/)
    d.send('QUIT')
  })

  test('STLS upgrades the connection and the login then works over TLS', async () => {
    const { cert } = await testCertificate()
    const c = await RawClient.connect(lab.ports.pop3)
    await c.until(/\r\n/)
    assert.match(await c.say('CAPA', END), /^STLS\r$/m)
    assert.match(await c.say('STLS', /\r\n/), /^\+OK/)
    await c.startTls(cert)
    assert.doesNotMatch(await c.say('CAPA', END), /^STLS\r$/m)
    await c.say('USER alice', /\r\n/)
    assert.match(await c.say('PASS alicepw', /\r\n/), /^\+OK/)
    c.send('QUIT')
    await c.closedByServer()
  })

  test("python3's poplib lists and retrieves over pop3s", async () => {
    const { cert } = await testCertificate()
    const r = await python(
      `import poplib, ssl, sys
ctx = ssl.create_default_context(cadata=sys.argv[2])
p = poplib.POP3_SSL('127.0.0.1', int(sys.argv[1]), context=ctx)
p.user('bob'); p.pass_('bobpw')
count, size = p.stat()
resp, lines, octets = p.retr(1)
print(count, b'\\r\\n'.join(lines).decode('utf-8', 'replace').count('Subject:'))
p.quit()`,
      [lab.ports.pop3s!, cert],
    )
    assert.equal(r.code, 0, r.stderr)
    const [count, subjects] = r.stdout.trim().split(' ').map(Number)
    assert.ok(count >= 4)
    assert.equal(subjects, 1)
  })

  test('curl lists the inbox and retrieves a message', async () => {
    const list = await run('curl', ['-sS', `pop3://127.0.0.1:${lab.ports.pop3}/`, '--user', 'alice:alicepw'])
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, /^1 \d+\r?$/m)
    const retr = await run('curl', ['-sS', `pop3://127.0.0.1:${lab.ports.pop3}/2`, '--user', 'alice:alicepw'])
    assert.equal(retr.code, 0, retr.stderr)
    assert.match(retr.stdout, /Subject: =\?UTF-8\?Q\?Reuni=C3=B3n/)
  })
})

describe('lab POP3 faults', () => {
  async function withLab(spec: string, fn: (lab: Lab) => Promise<void>): Promise<void> {
    const lab = await startLab({ faults: parseFaults(spec) })
    try {
      await fn(lab)
    } finally {
      await lab.stop()
    }
  }

  test('pop3-in-use makes PASS fail with -ERR [IN-USE]', () =>
    withLab('pop3-in-use', async (lab) => {
      const c = await RawClient.connect(lab.ports.pop3)
      await c.until(/\r\n/)
      await c.say('USER alice', /\r\n/)
      assert.match(await c.say('PASS alicepw', /\r\n/), /^-ERR \[IN-USE\] .*lab fault/)
      c.close()
    }))

  test('auth=1 makes PASS fail with -ERR [AUTH]', () =>
    withLab('auth=1', async (lab) => {
      const c = await RawClient.connect(lab.ports.pop3)
      await c.until(/\r\n/)
      await c.say('USER alice', /\r\n/)
      assert.match(await c.say('PASS alicepw', /\r\n/), /^-ERR \[AUTH\] .*lab fault/)
      c.close()
    }))

  test('with slow on, a client that talks first still gets the greeting before any reply', () =>
    withLab('slow=30', async (lab) => {
      const c = await RawClient.connect(lab.ports.pop3)
      c.send('CAPA')
      const out = await c.until(/^\.\r\n/m)
      assert.match(out, /^\+OK mailtap lab POP3 ready\r\n\+OK Capability list follows\r\n/)
      c.close()
    }))

  test('a client that sends its commands and then closes its side still gets every slow reply', () =>
    withLab('slow=20', async (lab) => {
      const c = await RawClient.connect(lab.ports.pop3)
      c.socket.end('USER alice\r\nPASS alicepw\r\nSTAT\r\n')
      await c.closedByServer()
      assert.match(c.text, /^\+OK mailtap lab POP3 ready\r\n\+OK send PASS\r\n\+OK alice's maildrop .*\r\n\+OK \d+ \d+\r\n$/)
    }))

  test('drop=1 answers the first command with -ERR [SYS/TEMP] and closes', () =>
    withLab('drop=1', async (lab) => {
      const c = await RawClient.connect(lab.ports.pop3)
      await c.until(/\r\n/)
      assert.match(await c.say('USER alice', /\r\n/), /^-ERR \[SYS\/TEMP\]/)
      await c.closedByServer()
    }))
})
