// The lab banner: it names every port, user and example, and each printed example works
// as pasted (here against the lab's own ports; main.ts prints the proxy's).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { banner, startLab, type Lab } from '../../proxy/lab/index.ts'
import { labMailboxFile } from '../../proxy/lab/index.ts'
import { labExamples } from '../../proxy/lab/banner.ts'
import { run, testCertificate } from './helpers.ts'

function which(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => existsSync(path.join(dir, cmd)))
}

describe('lab banner', () => {
  let lab: Lab
  before(async () => {
    lab = await startLab({ tls: await testCertificate(), users: [{ name: 'alice', password: 'alicepw' }, { name: 'bob', password: 'bobpw' }] })
  })
  after(() => lab.stop())

  test('the banner shows the dashboard URL, every port, the users and the examples', () => {
    const proxyPorts = { smtp: 2525, pop3: 1110, imap: 1143, smtps: 2465, pop3s: 1995, imaps: 1993 }
    const text = banner(lab, proxyPorts, 'http://127.0.0.1:8025/')
    for (const needle of ['http://127.0.0.1:8025/', '127.0.0.1:2525', '127.0.0.1:1110', '127.0.0.1:1143', 'smtps 127.0.0.1:2465', 'pop3s 127.0.0.1:1995', 'imaps 127.0.0.1:1993', 'alice / alicepw', 'bob / bobpw', 'mail.test']) {
      assert.ok(text.includes(needle), needle)
    }
    assert.match(text, /swaks --server 127\.0\.0\.1:2525 /)
    assert.match(text, /curl -sS pop3:\/\/127\.0\.0\.1:1110\//)
    assert.match(text, /openssl s_client -starttls smtp -crlf -ign_eof -connect 127\.0\.0\.1:2525/)
    assert.match(text, /nc 127\.0\.0\.1 1110/)
    // The lab's own ports are an implementation detail: users connect through mailtap.
    assert.ok(!text.includes(`:${lab.ports.smtp}`))
  })

  test('the swaks and curl send examples deliver as pasted', async () => {
    const ex = labExamples(lab, lab.ports)
    const before = lab.mailboxes.mailbox('bob', 'INBOX')!.messages.length
    const swaks = await run('bash', ['-c', ex.swaks])
    assert.equal(swaks.code, 0, swaks.stdout + swaks.stderr)
    const curl = await run('bash', ['-c', ex.curlSend])
    assert.equal(curl.code, 0, curl.stderr)
    const inbox = lab.mailboxes.mailbox('bob', 'INBOX')!.messages
    assert.equal(inbox.length, before + 2)
    assert.match(inbox.at(-2)!.raw.toString(), /Subject: Hello from swaks/)
    assert.match(inbox.at(-1)!.raw.toString(), /Subject: Hello from curl\r\n\r\nHi bob!\r\n/)
  })

  test('the curl inbox examples list, search and read as pasted', async () => {
    const ex = labExamples(lab, lab.ports)
    const list = await run('bash', ['-c', ex.curlListPop3])
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, /^1 \d+\r$/m)
    const search = await run('bash', ['-c', ex.curlSearchImap])
    assert.equal(search.code, 0, search.stderr)
    assert.match(search.stdout, /^\* SEARCH 1 2 3 4/)
    const read = await run('bash', ['-c', ex.curlFetchImap])
    assert.equal(read.code, 0, read.stderr)
    assert.match(read.stdout, /Subject: Welcome to the mailtap lab/)
  })

  test('the openssl STARTTLS example negotiates TLS and talks SMTP', async () => {
    const ex = labExamples(lab, lab.ports)
    assert.ok(ex.openssl)
    // As pasted: -ign_eof keeps s_client from taking lines that start with Q or R (QUIT,
    // RSET, RCPT) as its own quit/renegotiate commands.
    const r = await run('bash', ['-c', ex.openssl], { input: 'EHLO openssl.test\nRSET\nQUIT\n' })
    assert.match(r.stdout, /^250[- ]/m, r.stderr)
    assert.match(r.stdout, /^250 .*\r?\n221 /m, 'RSET and QUIT reach the server')
  })

  test('the nc example lets a user type POP3 by hand', { skip: which('nc') ? false : 'nc is not installed' }, async () => {
    const ex = labExamples(lab, lab.ports)
    const r = await run('bash', ['-c', ex.nc], { input: 'USER alice\nPASS alicepw\nSTAT\nQUIT\n' })
    assert.match(r.stdout, /^\+OK \d+ \d+\r$/m)
  })
})

test('mailboxes survive a restart through the data dir', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mailtap-lab-'))
  try {
    let lab = await startLab({ dataDir })
    lab.mailboxes.deliver('alice', Buffer.from('Subject: kept\r\n\r\nstill here\r\n'), { flags: ['\\Flagged'] })
    const removed = lab.mailboxes.mailbox('alice', 'INBOX')!.messages[0].uid
    lab.mailboxes.expunge('alice', 'INBOX', [removed])
    const uidNext = lab.mailboxes.mailbox('alice', 'INBOX')!.uidNext
    await lab.stop()
    const saved = JSON.parse(await readFile(labMailboxFile(dataDir), 'utf8'))
    assert.equal(saved.formatVersion, 1)
    lab = await startLab({ dataDir })
    const inbox = lab.mailboxes.mailbox('alice', 'INBOX')!
    assert.equal(inbox.uidNext, uidNext, 'UIDs stay stable: no reseeding, no reuse')
    assert.ok(!inbox.messages.some((m) => m.uid === removed))
    const kept = inbox.messages.at(-1)!
    assert.equal(kept.raw.toString(), 'Subject: kept\r\n\r\nstill here\r\n')
    assert.deepEqual([...kept.flags], ['\\Flagged'])
    await lab.stop()
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('a change is saved on its own shortly after, without waiting for stop()', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mailtap-lab-'))
  const lab = await startLab({ dataDir, autosaveMs: 10 })
  try {
    lab.mailboxes.deliver('bob', Buffer.from('Subject: autosaved\r\n\r\nx\r\n'))
    const file = labMailboxFile(dataDir)
    for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50))
    const saved = JSON.parse(await readFile(file, 'utf8'))
    const raws = saved.users.bob.mailboxes.find((b: { name: string }) => b.name === 'INBOX').messages.map((m: { raw: string }) => Buffer.from(m.raw, 'base64').toString())
    assert.ok(raws.some((r: string) => r.includes('Subject: autosaved')))
  } finally {
    await lab.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('lab users and domain are checked up front with one clear line', async () => {
  await assert.rejects(startLab({ users: [] }), /at least one user/)
  await assert.rejects(startLab({ users: [{ name: 'bad name', password: 'x' }] }), /may only use letters/)
  await assert.rejects(startLab({ users: [{ name: 'carol', password: '' }] }), /non-empty password/)
  await assert.rejects(startLab({ users: [{ name: 'Carol', password: 'a' }, { name: 'carol', password: 'b' }] }), /listed twice/)
  await assert.rejects(startLab({ domain: 'not a domain' }), /not a domain name/)
  const lab = await startLab({ users: [{ name: 'carol', password: 'carol pw' }], domain: 'School.Example' })
  try {
    assert.equal(lab.domain, 'school.example')
    assert.equal(lab.mailboxes.authenticate('carol@school.example', 'carol pw'), 'carol')
    assert.equal(lab.mailboxes.authenticate('carol@mail.test', 'carol pw'), undefined)
    assert.equal(lab.mailboxes.mailbox('carol', 'INBOX')!.messages.length, 4)
  } finally {
    await lab.stop()
  }
})

test("the default lab has the seed notes' users, and the banner says their exchanges work as written", async () => {
  const lab = await startLab()
  try {
    assert.equal(lab.mailboxes.authenticate('pepe', 'LaContrasenia'), 'pepe')
    assert.equal(lab.mailboxes.authenticate('usuario', 'contraseña'), 'usuario')
    assert.equal(lab.mailboxes.findUser('usuario@servidor.es'), 'usuario', 'the seed SMTP recipient is usuario')
    assert.equal(lab.mailboxes.findUser('pepe@pepito.es'), 'pepe')
    assert.equal(lab.mailboxes.findUser('usuario@elsewhere.example'), undefined)
    assert.equal(lab.mailboxes.mailbox('pepe', 'INBOX')!.messages.length, 4, 'pepe has the seeded sample messages')
    const text = banner(lab, { smtp: 2525, pop3: 1110, imap: 1143 }, 'http://127.0.0.1:8725/')
    assert.match(text, /pepe \/ LaContrasenia/)
    assert.match(text, /usuario \/ contraseña/)
    assert.match(text, /POP3 USER pepe \/ PASS LaContrasenia, IMAP 1 login "usuario" "contraseña"/)
    assert.match(text, /SMTP pepe@pepito\.es -> usuario@servidor\.es/)
    assert.match(text, /Faults +none; for a lesson: --lab-faults .*mail=421.*\(mail=421 or drop: a 421 disconnect\)/)
  } finally {
    await lab.stop()
  }
})

test('an alias that is not a mail address is refused up front', async () => {
  await assert.rejects(startLab({ users: [{ name: 'carol', password: 'x', aliases: ['carol'] }] }), /alias "carol" of user "carol" is not a mail address/)
})
