// Proves the real-server test bed works on its own, with no proxy in between: curl, swaks and
// the python seed clients talk straight to Dovecot and Postfix.
// Each test owns a user's mailbox (carol, nina, oscar, leo) so other files can run alongside.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { connect as connectTls, type PeerCertificate } from 'node:tls'
import { realServers, resetMailbox, setPassword, users } from '../helpers/real-servers.ts'
import { curl, loginArgs, python, scripts, swaks, type RunResult } from '../helpers/clients.ts'
import { serverFiles, type Ports } from './ports.ts'

const POLL_LIMIT_MS = 8000

/** Repeats `attempt` until it returns a value, for at most POLL_LIMIT_MS (delivery is asynchronous). */
async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + POLL_LIMIT_MS
  for (;;) {
    const value = await attempt()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function ok<R extends RunResult>(result: R, what: string): R {
  assert.equal(result.code, 0, `${what} failed (${result.code}):\n${result.stdout}\n${result.stderr}`)
  return result
}

function token(): string {
  return `tb-${randomBytes(6).toString('hex')}`
}

function peerCertificate(servers: Ports, port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: servers.host, port, rejectUnauthorized: false, servername: 'mail.test' }, () => {
      resolve(socket.getPeerCertificate())
      socket.destroy()
    })
    socket.on('error', reject)
  })
}

test('every TLS port presents the one self-signed mail.test certificate kept in certFile', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const expected = new X509Certificate(await readFile(servers.certFile))
  assert.equal(expected.subject, 'CN=mail.test')
  assert.equal(expected.subjectAltName, 'DNS:mail.test')
  for (const port of [servers.imaps, servers.pop3s, servers.smtps]) {
    const cert = await peerCertificate(servers, port)
    assert.equal(cert.fingerprint256, expected.fingerprint256, `port ${port}`)
  }
})

test('a client trusting certFile accepts the name mail.test and sees a hostname mismatch for 127.0.0.1', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const base = [...loginArgs(servers.host, servers.pop3, users.carol), '--starttls', '--cafile', servers.certFile]
  const good = await python(scripts.seedPop3, [...base, '--servername', 'mail.test'])
  ok(good, 'STLS verified for mail.test')
  const bad = await python<{ ok: boolean; error: string }>(scripts.seedPop3, [...base, '--servername', '127.0.0.1'])
  assert.notEqual(bad.code, 0)
  assert.match(bad.json?.error ?? '', /mismatch|doesn't match|not valid for/i)
})

test('a message curl sends over SMTP is read back over IMAP with STARTTLS and over POP3S', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const carol = users.carol
  await resetMailbox(carol.user)
  const subject = token()
  const message = `From: pepe@pepito.es\r\nTo: ${carol.address}\r\nSubject: ${subject}\r\n\r\nSent by curl.\r\n`
  ok(
    await curl(
      [`smtp://${servers.host}:${servers.smtp}`, '--mail-from', 'pepe@pepito.es', '--mail-rcpt', carol.address, '--upload-file', '-'],
      { input: message },
    ),
    'curl SMTP send',
  )

  const imapUrl = `imap://${servers.host}:${servers.imap}/INBOX`
  const imapLogin = ['--ssl-reqd', '--insecure', '--user', `${carol.user}:${carol.password}`]
  const index = await until('the message to reach IMAP', async () => {
    const search = ok(await curl([imapUrl, ...imapLogin, '--request', `SEARCH SUBJECT "${subject}"`]), 'IMAP SEARCH')
    return /^\* SEARCH (\d+)/m.exec(search.stdout)?.[1]
  })
  const fetched = ok(await curl([`${imapUrl};MAILINDEX=${index}`, ...imapLogin]), 'IMAP FETCH')
  assert.match(fetched.stdout, new RegExp(`^Subject: ${subject}\r?$`, 'm'))
  assert.match(fetched.stdout, /Sent by curl\./)

  const pop3Url = `pop3s://${servers.host}:${servers.pop3s}/`
  const pop3Login = ['--insecure', '--user', `${carol.user}:${carol.password}`]
  const listing = ok(await curl([pop3Url, ...pop3Login]), 'POP3 LIST')
  assert.deepEqual(listing.stdout.trim().split(/\r?\n/).map((line) => line.split(' ')[0]), ['1'])
  const retrieved = ok(await curl([`${pop3Url}1`, ...pop3Login]), 'POP3 RETR')
  assert.match(retrieved.stdout, new RegExp(`^Subject: ${subject}\r?$`, 'm'))
})

test('the MX port offers AUTH in the clear while submission offers it only after STARTTLS', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const mx = ok(await swaks(['--server', servers.host, '--port', String(servers.smtp), '--quit-after', 'EHLO']), 'EHLO on MX')
  assert.match(mx.stdout, /250-STARTTLS/)
  assert.match(mx.stdout, /250-AUTH PLAIN LOGIN CRAM-MD5/)
  assert.match(mx.stdout, /250-CHUNKING|250 CHUNKING/)

  const plain = ok(await swaks(['--server', servers.host, '--port', String(servers.submission), '--quit-after', 'EHLO']), 'EHLO on submission')
  assert.match(plain.stdout, /250-STARTTLS/)
  assert.doesNotMatch(plain.stdout, /AUTH/)

  const secured = ok(
    await swaks(['--server', servers.host, '--port', String(servers.submission), '--tls', '--quit-after', 'EHLO']),
    'EHLO after STARTTLS on submission',
  )
  assert.match(secured.stdout, /250-AUTH PLAIN LOGIN CRAM-MD5/)
})

test('swaks sends with AUTH LOGIN after STARTTLS on submission and with AUTH PLAIN over SMTPS', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const { alice, carol } = users
  const common = ['--from', alice.address, '--to', carol.address, '--auth-user', alice.user, '--auth-password', alice.password]
  const login = ok(
    await swaks(['--server', servers.host, '--port', String(servers.submission), '--tls', '--auth', 'LOGIN', ...common]),
    'swaks AUTH LOGIN',
  )
  assert.match(login.stdout, /AUTH LOGIN/)
  assert.match(login.stdout, /235 2\.7\.0 Authentication successful/)
  assert.match(login.stdout, /250 2\.0\.0 Ok: queued as/)

  const smtps = ok(
    await swaks(['--server', servers.host, '--port', String(servers.smtps), '--tls-on-connect', '--auth', 'PLAIN', ...common]),
    'swaks over SMTPS',
  )
  assert.match(smtps.stdout, /235 2\.7\.0 Authentication successful/)
})

test('relaying off mail.test is refused with 554 unless authenticated, and authenticated relay bounces locally', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const outsider = `${token()}@example.com`
  // An outside sender: the bounce then goes nowhere either, instead of into alice's INBOX.
  const base = ['--server', servers.host, '--port', String(servers.smtp), '--from', 'pepe@pepito.es', '--to', outsider]
  const refused = await swaks(base)
  assert.notEqual(refused.code, 0)
  assert.match(refused.stdout, /554 5\.7\.1 .*Relay access denied/)

  const accepted = ok(
    await swaks([...base, '--auth', 'CRAM-MD5', '--auth-user', users.alice.user, '--auth-password', users.alice.password]),
    'authenticated relay',
  )
  assert.match(accepted.stdout, /250 2\.0\.0 Ok: queued as/)
  // The error: transport bounces it instead of sending it anywhere.
  await until('the relay attempt to bounce', async () => {
    const log = await readFile(serverFiles.postfixLog, 'utf8')
    return log.split('\n').find((line) => line.includes(`to=<${outsider}>`) && line.includes('status=bounced'))
  })
})

test('the seed SMTP exchange, with "auth login" in lower case, is accepted and read back by the seed POP3 exchange', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const dave = users.nina
  await resetMailbox(dave.user)
  const sent = ok(await python<{ steps: { command: string; code: number }[] }>(scripts.seedSmtp, [...loginArgs(servers.host, servers.smtp, users.alice), '--to', dave.address]), 'seed SMTP')
  assert.deepEqual(
    sent.json?.steps.map((s) => `${s.command} ${s.code}`),
    [
      'HELO pepito.es 250',
      'auth login 334',
      '[user in base64] 334',
      '[password in base64] 235',
      'MAIL FROM: pepe@pepito.es 250',
      `RCPT TO: ${dave.address} 250`,
      'DATA 354',
      '[message] 250',
      'QUIT 221',
    ],
  )
  await until('the seed message to be delivered', async () => {
    const found = await python(scripts.imapFetch, [...loginArgs(servers.host, servers.imap, dave), '--subject', 'Asunto', '--wait', '0'])
    return found.code === 0 ? true : undefined
  })
  const read = ok(await python<{ list: number[][]; retr: string }>(scripts.seedPop3, [...loginArgs(servers.host, servers.pop3, dave), '--retr', '1']), 'seed POP3')
  assert.equal(read.json?.list.length, 1)
  assert.match(read.json?.retr ?? '', /^subject: Asunto$/m)
  assert.match(read.json?.retr ?? '', /Este mensaje es de prueba\.\r\nProbamos el protocolo SMTP\./)
})

test('the seed IMAP exchange works on an empty INBOX and leaves it empty after its EXPUNGE', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const erin = users.oscar
  await resetMailbox(erin.user)
  const seed = ok(
    await python<{ appended: boolean; exists: number; body: string; expunged: string[]; list: string[] }>(
      scripts.seedImap,
      [...loginArgs(servers.host, servers.imap, erin), '--starttls'],
    ),
    'seed IMAP',
  )
  assert.equal(seed.json?.appended, true)
  assert.equal(seed.json?.exists, 1)
  assert.match(seed.json?.body ?? '', /Subject: Asunto/)
  assert.deepEqual(seed.json?.expunged, ['1'])
  assert.ok(seed.json?.list.some((line) => line.endsWith('"/" INBOX')))
  const after = await python<{ error: string }>(scripts.imapFetch, [...loginArgs(servers.host, servers.imaps, erin), '--tls', '--wait', '0'])
  assert.notEqual(after.code, 0)
  assert.equal(after.json?.error, 'no matching message')
})

test('a changed password applies at the next login and the old one is refused', async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const frank = users.leo
  const login = (password: string) => python(scripts.seedPop3, loginArgs(servers.host, servers.pop3, { user: frank.user, password }))
  try {
    await setPassword(frank.user, 'changed')
    assert.notEqual((await login(frank.password)).code, 0, 'the old password still worked')
    ok(await login('changed'), 'login with the new password')
  } finally {
    await setPassword(frank.user, frank.password)
  }
  // Same length as before the change: this also proves Dovecot notices a change of mtime alone.
  assert.notEqual((await login('changed')).code, 0, 'the changed password still worked after restoring')
  ok(await login(frank.password), 'login after restoring the password')
})
