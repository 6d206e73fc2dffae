// The lab's SMTP side against the seed's exchange (typed exactly as written), nodemailer,
// swaks, curl and python3's smtplib, and each SMTP fault.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import nodemailer from 'nodemailer'
import { startLab, parseFaults, type Lab } from '../../proxy/lab/index.ts'
import { bracketAddress } from '../../proxy/lab/smtp-lenient.ts'
import { b64, python, RawClient, run, testCertificate } from './helpers.ts'

function inboxText(lab: Lab, user: string): string[] {
  return lab.mailboxes.mailbox(user, 'INBOX')!.messages.map((m) => m.raw.toString('utf8'))
}

describe('lab SMTP', () => {
  let lab: Lab
  before(async () => {
    lab = await startLab({ tls: await testCertificate() })
  })
  after(() => lab.stop())

  test("the seed's SMTP exchange works exactly as written, lower-case auth login and bare addresses included", async () => {
    const c = await RawClient.connect(lab.ports.smtp)
    assert.match(await c.until(/^220 .*\r\n/m), /^220 /)
    assert.match(await c.say('HELO pepito.es', /^250 .*\r\n/m), /^250 /)
    assert.equal(await c.say('auth login', /^334 .*\r\n/m), '334 VXNlcm5hbWU6\r\n')
    // The seed's placeholders [nombre_usuario_base64] [password_usuario_base64]: the seed's lab user.
    assert.equal(await c.say(b64('pepe'), /^334 .*\r\n/m), '334 UGFzc3dvcmQ6\r\n')
    assert.match(await c.say(b64('LaContrasenia'), /^\d{3} .*\r\n/m), /^235 /)
    assert.match(await c.say('MAIL FROM: pepe@pepito.es', /^\d{3} .*\r\n/m), /^250 /)
    assert.match(await c.say('RCPT TO: usuario@servidor.es', /^\d{3} .*\r\n/m), /^250 /)
    assert.match(await c.say('DATA', /^\d{3} .*\r\n/m), /^354 /)
    c.send('subject: Asunto')
    c.send('Este mensaje es de prueba.')
    c.send('Probamos el protocolo SMTP.')
    assert.match(await c.say('.', /^\d{3} .*\r\n/m), /^250 .*queued as [0-9A-F]+/)
    assert.match(await c.say('QUIT', /^221 .*\r\n/m), /^221 /)
    // usuario@servidor.es is the default lab user usuario's alias: the seed's IMAP login reads it.
    const mail = inboxText(lab, 'usuario').find((t) => t.includes('Este mensaje es de prueba.'))
    assert.ok(mail, 'the message is in usuario\'s INBOX')
    assert.match(mail, /^Return-Path: <pepe@pepito\.es>\r\n/)
    assert.match(mail, /subject: Asunto\r\nEste mensaje es de prueba\.\r\nProbamos el protocolo SMTP\.\r\n$/)
  })

  test('EHLO advertises AUTH PLAIN LOGIN, STARTTLS, SIZE and PIPELINING', async () => {
    const c = await RawClient.connect(lab.ports.smtp)
    await c.until(/^220 /m)
    const ehlo = await c.say('EHLO client.test', /^250 .*\r\n/m)
    for (const ext of ['AUTH PLAIN LOGIN', 'STARTTLS', 'SIZE', 'PIPELINING']) assert.match(ehlo, new RegExp(`^250[- ]${ext}`, 'm'))
    c.close()
  })

  test('an unauthenticated client may send to a lab user but not relay elsewhere', async () => {
    const c = await RawClient.connect(lab.ports.smtp)
    await c.until(/^220 /m)
    await c.say('EHLO client.test', /^250 .*\r\n/m)
    await c.say('MAIL FROM:<someone@example.org>', /^250 .*\r\n/m)
    assert.match(await c.say('RCPT TO:<bob@mail.test>', /^\d{3} .*\r\n/m), /^250 /)
    assert.match(await c.say('RCPT TO:<nobody@mail.test>', /^\d{3} .*\r\n/m), /^550 5\.1\.1 /)
    assert.match(await c.say('RCPT TO:<usuario@servidor.es>', /^\d{3} .*\r\n/m), /^250 /, 'a lab user\'s alias is local')
    assert.match(await c.say('RCPT TO:<friend@elsewhere.example>', /^\d{3} .*\r\n/m), /^554 5\.7\.1 /)
    c.close()
  })

  test('a logged-in user\'s mail to an outside address comes back to their own INBOX (the lab never relays)', async () => {
    const c = await RawClient.connect(lab.ports.smtp)
    await c.until(/^220 /m)
    await c.say('EHLO client.test', /^250 .*\r\n/m)
    assert.match(await c.say(`AUTH PLAIN ${b64('\0alice\0alicepw')}`, /^\d{3} .*\r\n/m), /^235 /)
    await c.say('MAIL FROM:<alice@mail.test>', /^250 .*\r\n/m)
    assert.match(await c.say('RCPT TO:<friend@elsewhere.example>', /^\d{3} .*\r\n/m), /^250 /)
    await c.say('DATA', /^354 .*\r\n/m)
    assert.match(await c.say('Subject: catch-all\r\n\r\nhello\r\n.', /^\d{3} .*\r\n/m), /^250 /)
    c.send('QUIT')
    assert.ok(inboxText(lab, 'alice').some((t) => t.includes('Subject: catch-all')))
  })

  test('nodemailer sends over STARTTLS with AUTH PLAIN and the mail reaches both recipients', async () => {
    const { cert } = await testCertificate()
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: lab.ports.smtp,
      requireTLS: true,
      tls: { ca: cert, servername: 'localhost' },
      auth: { user: 'alice@mail.test', pass: 'alicepw', method: 'PLAIN' },
    })
    const info = await transport.sendMail({
      from: 'alice@mail.test',
      to: ['bob@mail.test', 'alice@mail.test'],
      subject: 'Prueba con acentos: canción',
      text: 'Hola Bob, ¿qué tal?',
    })
    transport.close()
    assert.deepEqual(info.accepted, ['bob@mail.test', 'alice@mail.test'])
    for (const user of ['bob', 'alice']) {
      const mail = inboxText(lab, user).find((t) => t.includes(info.messageId))
      assert.ok(mail, `${user} got it`)
      assert.match(mail, /with ESMTPSA id/)
    }
  })

  test('swaks sends with AUTH LOGIN', async () => {
    const r = await run('swaks', [
      '--server', `127.0.0.1:${lab.ports.smtp}`, '--auth', 'LOGIN', '--auth-user', 'bob', '--auth-password', 'bobpw',
      '--from', 'bob@mail.test', '--to', 'alice@mail.test', '--header', 'Subject: swaks lab test',
    ])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /AUTH LOGIN/)
    assert.ok(inboxText(lab, 'alice').some((t) => t.includes('Subject: swaks lab test')))
  })

  test('curl sends a mail read from stdin', async () => {
    const r = await run(
      'curl',
      ['-sS', `smtp://127.0.0.1:${lab.ports.smtp}`, '--user', 'alice:alicepw', '--mail-from', 'alice@mail.test', '--mail-rcpt', 'bob@mail.test', '-T', '-'],
      { input: 'Subject: curl lab test\r\n\r\nHi from curl\r\n' },
    )
    assert.equal(r.code, 0, r.stderr)
    assert.ok(inboxText(lab, 'bob').some((t) => t.includes('Subject: curl lab test')))
  })

  test("python3's smtplib logs in and sends", async () => {
    const r = await python(
      `import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.ehlo()
s.login('bob', 'bobpw')
s.sendmail('bob@mail.test', ['alice@mail.test'], 'Subject: smtplib lab test\\r\\n\\r\\nhello\\r\\n')
s.quit()
print('sent')`,
      [lab.ports.smtp],
    )
    assert.equal(r.code, 0, r.stderr)
    assert.ok(inboxText(lab, 'alice').some((t) => t.includes('Subject: smtplib lab test')))
  })

  test('wrong credentials get 535 5.7.8', async () => {
    const c = await RawClient.connect(lab.ports.smtp)
    await c.until(/^220 /m)
    await c.say('EHLO x', /^250 .*\r\n/m)
    assert.match(await c.say(`AUTH PLAIN ${b64('\0alice\0wrong')}`, /^\d{3} .*\r\n/m), /^535 5\.7\.8 /)
    c.close()
  })

  test('smtps (implicit TLS) accepts a login', async () => {
    const { cert } = await testCertificate()
    const c = await RawClient.connectTls(lab.ports.smtps!, cert)
    await c.until(/^220 /m)
    await c.say('EHLO x', /^250 .*\r\n/m)
    assert.match(await c.say(`AUTH PLAIN ${b64('\0bob\0bobpw')}`, /^\d{3} .*\r\n/m), /^235 /)
    c.close()
  })
})

describe('lab SMTP faults', () => {
  async function session(spec: string, steps: (c: RawClient) => Promise<void>): Promise<void> {
    const lab = await startLab({ faults: parseFaults(spec), seed: false })
    try {
      const c = await RawClient.connect(lab.ports.smtp)
      await steps(c)
      c.close()
    } finally {
      await lab.stop()
    }
  }

  test('auth=1 makes every AUTH fail with 535 5.7.8 even with the right password', () =>
    session('auth=1', async (c) => {
      await c.until(/^220 /m)
      await c.say('EHLO x', /^250 .*\r\n/m)
      assert.match(await c.say(`AUTH PLAIN ${b64('\0alice\0alicepw')}`, /^\d{3} .*\r\n/m), /^535 5\.7\.8 .*lab fault/)
    }))

  test('rcpt=452 refuses recipients with 452 4.5.3', () =>
    session('rcpt=452', async (c) => {
      await c.until(/^220 /m)
      await c.say('EHLO x', /^250 .*\r\n/m)
      await c.say('MAIL FROM:<a@b.c>', /^250 .*\r\n/m)
      assert.match(await c.say('RCPT TO:<bob@mail.test>', /^\d{3} .*\r\n/m), /^452 4\.5\.3 /)
    }))

  test('mail=421 answers MAIL FROM with 421 4.7.0 and closes the connection', () =>
    session('mail=421', async (c) => {
      await c.until(/^220 /m)
      await c.say('EHLO x', /^250 .*\r\n/m)
      assert.match(await c.say('MAIL FROM:<a@b.c>', /^\d{3} .*\r\n/m), /^421 4\.7\.0 /)
      await c.closedByServer()
    }))

  test('drop=1 disconnects with 421 at the first hooked command', () =>
    session('drop=1', async (c) => {
      await c.until(/^220 /m)
      await c.say('EHLO x', /^250 .*\r\n/m)
      assert.match(await c.say('MAIL FROM:<a@b.c>', /^\d{3} .*\r\n/m), /^421 4\.7\.0 /)
      await c.closedByServer()
    }))

  test('connect=554 refuses the greeting', () =>
    session('connect=554', async (c) => {
      assert.match(await c.until(/^\d{3} .*\r\n/m), /^554 /)
    }))

  test('data=554 rejects the message after the final dot', () =>
    session('data', async (c) => {
      await c.until(/^220 /m)
      await c.say('EHLO x', /^250 .*\r\n/m)
      await c.say('MAIL FROM:<a@b.c>', /^250 .*\r\n/m)
      await c.say('RCPT TO:<bob@mail.test>', /^250 .*\r\n/m)
      await c.say('DATA', /^354 .*\r\n/m)
      assert.match(await c.say('x\r\n.', /^\d{3} .*\r\n/m), /^554 5\.6\.0 /)
    }))

  test('slow delays replies but still answers them', () =>
    session('slow=20', async (c) => {
      await c.until(/^220 /m)
      await c.say('EHLO x', /^250 .*\r\n/m)
      assert.match(await c.say('MAIL FROM:<a@b.c>', /^\d{3} .*\r\n/m), /^250 /)
    }))
})

test('bracketAddress adds angle brackets only where they are missing', () => {
  assert.equal(bracketAddress('MAIL FROM: pepe@pepito.es'), 'MAIL FROM: <pepe@pepito.es>')
  assert.equal(bracketAddress('rcpt to:u@s.es SIZE=10'), 'rcpt to:<u@s.es> SIZE=10')
  assert.equal(bracketAddress('MAIL FROM:<a@b>'), 'MAIL FROM:<a@b>')
  assert.equal(bracketAddress('MAIL FROM:<>'), 'MAIL FROM:<>')
})
