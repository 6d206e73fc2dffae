// The lab's IMAP server: the seed's exchange typed as written, the RFC 3501 commands real
// clients add (with their untagged responses), imapflow, python3's imaplib, curl, and the
// IMAP faults.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ImapFlow } from 'imapflow'
import nodemailer from 'nodemailer'
import { parseFaults, startLab, type Lab } from '../../proxy/lab/index.ts'
import { b64, python, RawClient, run, testCertificate } from './helpers.ts'

const tagged = (tag: string) => new RegExp(`^${tag} (OK|NO|BAD).*\\r\\n`, 'm')

async function imapLogin(lab: Lab, user = 'alice'): Promise<RawClient> {
  const c = await RawClient.connect(lab.ports.imap)
  await c.until(/^\* OK .*\r\n/m)
  assert.match(await c.say(`a login ${user} ${user}pw`, tagged('a')), /^a OK /m)
  return c
}

describe('lab IMAP', () => {
  let lab: Lab
  before(async () => {
    lab = await startLab({ tls: await testCertificate() })
  })
  after(() => lab.stop())

  test("the seed's IMAP exchange works as written, from login to logout", async () => {
    const c = await RawClient.connect(lab.ports.imap)
    await c.until(/^\* OK .*\r\n/m)
    // Typed as the seed writes it: a UTF-8 ñ inside a quoted string.
    assert.match(await c.say('1 login "usuario" "contraseña"', tagged('1')), /^1 OK .*LOGIN completed/m)
    const list = await c.say('1 list "" "*"', tagged('1'))
    assert.match(list, /^\* LIST \(\\HasNoChildren\) "\/" INBOX\r$/m)
    assert.match(list, /^1 OK LIST completed/m)
    const select = await c.say('1 select INBOX', tagged('1'))
    const count = lab.mailboxes.mailbox('usuario', 'INBOX')!.messages.length
    assert.match(select, new RegExp(`^\\* ${count} EXISTS\\r$`, 'm'))
    assert.match(select, /^\* \d+ RECENT\r$/m)
    assert.match(select, /^\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft\)\r$/m)
    assert.match(select, /^\* OK \[PERMANENTFLAGS \(.*\\\*\)\]/m)
    assert.match(select, /^\* OK \[UIDVALIDITY \d+\]/m)
    assert.match(select, /^\* OK \[UIDNEXT \d+\]/m)
    assert.match(select, /^1 OK \[READ-WRITE\] SELECT completed/m)
    // The seed writes "fetch 1 body": without brackets that is the BODY structure (RFC 3501 6.4.5).
    assert.match(await c.say('1 fetch 1 body', tagged('1')), /^\* 1 FETCH \(BODY \("TEXT" "PLAIN" \("CHARSET" "utf-8"\) NIL NIL "7BIT" \d+ \d+\)\)\r\n1 OK/)
    const raw = lab.mailboxes.mailbox('usuario', 'INBOX')!.messages[0].raw
    const body = await c.say('1 fetch 1 body[]', tagged('1'))
    assert.equal(body, `* 1 FETCH (BODY[] {${raw.length}}\r\n${raw.toString('utf8')})\r\n1 OK FETCH completed\r\n`)
    assert.equal(await c.say('1 store 1 +flags.silent (\\Deleted)', tagged('1')), '1 OK STORE completed\r\n')
    assert.equal(await c.say('1 expunge', tagged('1')), '* 1 EXPUNGE\r\n1 OK EXPUNGE completed\r\n')
    assert.equal(lab.mailboxes.mailbox('usuario', 'INBOX')!.messages.length, count - 1)
    assert.equal(await c.say('1 logout', tagged('1')), '* BYE mailtap lab logging out\r\n1 OK LOGOUT completed\r\n')
    await c.closedByServer()
  })

  test('commands typed one byte at a time, pipelined, or with a literal password are understood the same', async () => {
    const c = await RawClient.connect(lab.ports.imap)
    await c.until(/^\* OK .*\r\n/m)
    for (const byte of Buffer.from('a login alice {7}\r\n')) c.write(Buffer.from([byte]))
    assert.equal(await c.until(/^\+ .*\r\n/m), '+ Ready for literal data\r\n')
    for (const byte of Buffer.from('alicepw\r\n')) c.write(Buffer.from([byte]))
    assert.match(await c.until(tagged('a')), /^a OK .*LOGIN completed/m)
    c.write('b examine INBOX\r\nc fetch 1 (UID)\r\nd noop\r\n')
    const out = await c.until(tagged('d'))
    assert.match(out, /^b OK \[READ-ONLY\][^]*^\* 1 FETCH \(UID \d+\)\r\nc OK[^]*^d OK/m)
    c.send('e logout')
  })

  test('FETCH renders ENVELOPE, BODYSTRUCTURE of a multipart, header fields, parts and partials', async () => {
    const c = await imapLogin(lab)
    await c.say('a examine INBOX', tagged('a'))
    const r = await c.say('a fetch 3 (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[]<0.6>)', tagged('a'))
    assert.match(r, /ENVELOPE \("Mon, 02 Sep 2024 11:00:00 \+0000" "Diagram for the lesson \(attachment\)" \(\("Bob Example" NIL "bob" "mail.test"\)\)/)
    assert.match(r, /BODYSTRUCTURE \(\("TEXT" "PLAIN" \("CHARSET" "utf-8"\) NIL NIL "7BIT" \d+ 1 NIL NIL NIL NIL\)\("IMAGE" "PNG" \("NAME" "square.png"\) NIL NIL "BASE64" \d+ NIL \("ATTACHMENT" \("FILENAME" "square.png"\)\) NIL NIL\) "MIXED" \("BOUNDARY" "lab-boundary-1"\) NIL NIL NIL\)/)
    assert.match(r, /BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{48\}\r\nSubject: Diagram for the lesson \(attachment\)\r\n\r\n/)
    assert.match(r, /BODY\[1\] \{\d+\}\r\nThe picture is attached\. Fetch part 2 to see its base64 body\.\r\n /)
    assert.match(r, /BODY\[2\.MIME\] \{\d+\}\r\nContent-Type: image\/png; name="square.png"\r\n/)
    assert.match(r, /BODY\[\]<0> \{6\}\r\nFrom: /)
    // EXAMINE is read-only and PEEK never sets \Seen.
    assert.match(await c.say('a fetch 3 flags', tagged('a')), /^\* 3 FETCH \(FLAGS \((\\Recent)?\)\)\r$/m)
    c.send('a logout')
  })

  test('a non-PEEK BODY[] fetch sets \\Seen and reports the new FLAGS; STORE answers with FETCH unless .SILENT', async () => {
    lab.mailboxes.deliver('alice', Buffer.from('Subject: seen test\r\n\r\nbody\r\n'))
    const c = await imapLogin(lab)
    await c.say('a select INBOX', tagged('a'))
    const uid = lab.mailboxes.mailbox('alice', 'INBOX')!.messages.at(-1)!.uid
    const r = await c.say(`a uid fetch ${uid} body[text]`, tagged('a'))
    assert.match(r, new RegExp(`FETCH \\(UID ${uid} BODY\\[TEXT\\] \\{6\\}\\r\\nbody\\r\\n FLAGS \\(\\\\Seen \\\\Recent\\)\\)`))
    const store = await c.say(`a uid store ${uid} -flags (\\Seen)`, tagged('a'))
    assert.match(store, new RegExp(`^\\* \\d+ FETCH \\(UID ${uid} FLAGS \\(\\\\Recent\\)\\)\\r$`, 'm'))
    assert.match(await c.say(`a uid store ${uid} flags.silent (\\Flagged $Label1)`, tagged('a')), /^a OK/)
    assert.deepEqual([...lab.mailboxes.mailbox('alice', 'INBOX')!.messages.at(-1)!.flags].sort(), ['$Label1', '\\Flagged'])
    c.send('a logout')
  })

  test('SEARCH understands flags, headers with encoded words, text, UID sets, NOT and OR', async () => {
    const c = await imapLogin(lab, 'bob')
    await c.say('a examine INBOX', tagged('a'))
    const n = (await c.say('a search all', tagged('a'))).match(/^\* SEARCH(.*)\r$/m)![1].trim().split(' ').length
    assert.ok(n >= 3)
    assert.match(await c.say('a search subject reunión', tagged('a')), /^\* SEARCH \d+\r$/m)
    assert.match(await c.say('a search subject "NOTICIAS"', tagged('a')), /^\* SEARCH \d+\r$/m)
    assert.match(await c.say('a search from "maria@" seen', tagged('a')), /^\* SEARCH\r$/m)
    assert.match(await c.say('a search text "laboratorio"', tagged('a')), /^\* SEARCH \d+\r$/m)
    assert.match(await c.say('a uid search uid 1:2', tagged('a')), /^\* SEARCH( \d+){1,2}\r$/m)
    const or = await c.say('a search or subject diagram subject weekly', tagged('a'))
    const not = await c.say('a search not or subject diagram subject weekly', tagged('a'))
    const count = (s: string) => s.match(/^\* SEARCH(.*)\r$/m)![1].trim().split(' ').filter(Boolean).length
    assert.equal(count(or) + count(not), n)
    assert.match(await c.say('a search bogus', tagged('a')), /^a BAD/m)
    c.send('a logout')
  })

  test('APPEND takes a synchronizing literal after "+" and a LITERAL+ one without; COPY reports COPYUID', async () => {
    const c = await imapLogin(lab)
    const msg = 'Subject: appended\r\n\r\nHola, añadido.\r\n'
    const size = Buffer.byteLength(msg)
    c.send(`a append Drafts (\\Draft) "05-Sep-2024 10:00:00 +0200" {${size}}`)
    assert.match(await c.until(/^\+ .*\r\n/m), /^\+ /)
    c.write(msg + '\r\n')
    assert.match(await c.until(tagged('a')), /^a OK \[APPENDUID \d+ 1\] APPEND completed/m)
    c.write(`b append Drafts {${size}+}\r\n${msg}\r\n`)
    assert.match(await c.until(tagged('b')), /^b OK \[APPENDUID \d+ 2\]/m)
    const drafts = lab.mailboxes.mailbox('alice', 'Drafts')!
    assert.equal(drafts.messages[0].raw.toString('utf8'), msg)
    assert.deepEqual([...drafts.messages[0].flags], ['\\Draft'])
    assert.equal(drafts.messages[0].internalDate, Date.UTC(2024, 8, 5, 8, 0, 0))
    assert.match(await c.say('c append Nowhere {3+}\r\nabc', tagged('c')), /^c NO \[TRYCREATE\]/m)
    await c.say('d select Drafts', tagged('d'))
    assert.match(await c.say('e copy 1:2 Trash', tagged('e')), /^e OK \[COPYUID \d+ 1,2 \d+,\d+\] COPY completed/m)
    assert.match(await c.say('f copy 1 Nowhere', tagged('f')), /^f NO \[TRYCREATE\]/m)
    c.send('g logout')
  })

  test('CREATE, LIST with %, STATUS, LSUB, CLOSE, RENAME and DELETE behave as RFC 3501 says', async () => {
    const c = await imapLogin(lab, 'bob')
    assert.match(await c.say('a create Lessons/Week1', tagged('a')), /^a OK/m)
    assert.match(await c.say('a create Lessons/Week1', tagged('a')), /^a NO \[ALREADYEXISTS\]/m)
    const top = await c.say('a list "" %', tagged('a'))
    assert.match(top, /^\* LIST \(\\HasNoChildren\) "\/" INBOX\r$/m)
    assert.match(top, /^\* LIST \(\\HasChildren\) "\/" Lessons\r$/m)
    assert.doesNotMatch(top, /Week1/)
    assert.match(await c.say('a list "" "Lessons/*"', tagged('a')), /^\* LIST \(\\HasNoChildren\) "\/" Lessons\/Week1\r$/m)
    assert.match(await c.say('a lsub "" "*"', tagged('a')), /Lessons\/Week1/)
    assert.match(await c.say('a status INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)', tagged('a')), /^\* STATUS INBOX \(MESSAGES \d+ UIDNEXT \d+ UIDVALIDITY \d+ UNSEEN \d+ RECENT \d+\)\r$/m)
    lab.mailboxes.deliver('bob', Buffer.from('Subject: x\r\n\r\ny\r\n'), { mailbox: 'Lessons/Week1', flags: ['\\Deleted'] })
    await c.say('a select Lessons/Week1', tagged('a'))
    // CLOSE expunges silently: no untagged EXPUNGE (RFC 3501 6.4.2).
    assert.equal(await c.say('a close', tagged('a')), 'a OK CLOSE completed\r\n')
    assert.equal(lab.mailboxes.mailbox('bob', 'Lessons/Week1')!.messages.length, 0)
    assert.match(await c.say('a fetch 1 flags', tagged('a')), /^a BAD No mailbox selected/m)
    assert.match(await c.say('a rename Lessons Classes', tagged('a')), /^a OK RENAME completed/m)
    assert.match(await c.say('a list "" "Classes/*"', tagged('a')), /^\* LIST \(\\HasNoChildren\) "\/" Classes\/Week1\r$/m)
    assert.match(await c.say('a rename Classes Lessons', tagged('a')), /^a OK/m)
    assert.match(await c.say('a rename Nowhere Else', tagged('a')), /^a NO \[NONEXISTENT\]/m)
    assert.match(await c.say('a delete Lessons/Week1', tagged('a')), /^a OK/m)
    assert.match(await c.say('a delete INBOX', tagged('a')), /^a NO/m)
    assert.match(await c.say('a select Lessons/Week1', tagged('a')), /^a NO \[NONEXISTENT\]/m)
    c.send('a logout')
  })

  test('AUTHENTICATE PLAIN works with SASL-IR and with a continuation; bad credentials get NO [AUTHENTICATIONFAILED]', async () => {
    const c = await RawClient.connect(lab.ports.imap)
    await c.until(/^\* OK .*\r\n/m)
    assert.match(await c.say('a login alice wrong', tagged('a')), /^a NO \[AUTHENTICATIONFAILED\]/m)
    assert.equal(await c.say('b authenticate plain', /^\+ .*\r\n|^b /m), '+ \r\n')
    assert.match(await c.say(b64('\0alice@mail.test\0alicepw'), tagged('b')), /^b OK .*AUTHENTICATE completed/m)
    c.send('z logout')
    const d = await RawClient.connect(lab.ports.imap)
    await d.until(/^\* OK .*\r\n/m)
    assert.match(await d.say(`a authenticate PLAIN ${b64('\0bob\0bobpw')}`, tagged('a')), /^a OK/m)
    d.send('z logout')
  })

  test('STARTTLS upgrades the connection, after which the capability list drops STARTTLS', async () => {
    const { cert } = await testCertificate()
    const c = await RawClient.connect(lab.ports.imap)
    assert.match(await c.until(/^\* OK .*\r\n/m), /STARTTLS/)
    assert.match(await c.say('a starttls', tagged('a')), /^a OK/m)
    await c.startTls(cert)
    const caps = await c.say('b capability', tagged('b'))
    assert.doesNotMatch(caps, /STARTTLS/)
    assert.match(caps, /AUTH=PLAIN/)
    assert.match(await c.say('c login alice alicepw', tagged('c')), /^c OK/m)
    c.send('d logout')
  })

  test('a mail sent by SMTP is fetched by POP3 and IMAP, and a POP3 DELE shows up as an IMAP EXPUNGE', async () => {
    const imap = await imapLogin(lab, 'bob')
    await imap.say('a select INBOX', tagged('a'))
    const subject = `cross-protocol ${Date.now()}`
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lab.ports.smtp, ignoreTLS: true, auth: { user: 'alice', pass: 'alicepw' } })
    await transport.sendMail({ from: 'alice@mail.test', to: 'bob@mail.test', subject, text: 'one mail, three protocols' })
    transport.close()
    // The selected IMAP session learns about it on its next command.
    const noop = await imap.say('a noop', tagged('a'))
    const exists = Number(noop.match(/^\* (\d+) EXISTS\r$/m)![1])
    assert.match(noop, /^\* \d+ RECENT\r$/m)
    assert.match(await imap.say(`a fetch ${exists} body.peek[header.fields (subject)]`, tagged('a')), new RegExp(`Subject: ${subject}`))
    const pop = await RawClient.connect(lab.ports.pop3)
    await pop.until(/\r\n/)
    await pop.say('USER bob', /\r\n/)
    await pop.say('PASS bobpw', /\r\n/)
    assert.match(await pop.say(`RETR ${exists}`, /^\.\r\n/m), new RegExp(`Subject: ${subject}`))
    await pop.say(`DELE ${exists}`, /\r\n/)
    pop.send('QUIT')
    await pop.closedByServer()
    assert.equal(await imap.say('a noop', tagged('a')), `* ${exists} EXPUNGE\r\na OK NOOP completed\r\n`)
    imap.send('a logout')
  })

  test('imapflow lists, fetches, and gets an EXISTS while idling when SMTP delivers a mail', async () => {
    const { cert } = await testCertificate()
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: lab.ports.imap,
      secure: false,
      tls: { ca: cert, servername: 'localhost' },
      auth: { user: 'alice', pass: 'alicepw' },
      logger: false,
      disableAutoIdle: true,
    })
    await client.connect()
    try {
      const boxes = await client.list()
      assert.deepEqual(boxes.map((b) => b.path).sort(), ['Drafts', 'INBOX', 'Sent', 'Trash'].filter((p) => boxes.some((b) => b.path === p)).sort())
      assert.equal(boxes.find((b) => b.path === 'Sent')?.specialUse, '\\Sent')
      const box = await client.mailboxOpen('INBOX')
      // imapflow keeps updating the object it returned; keep the count as it was.
      const existsAtOpen = box.exists
      const seen: string[] = []
      for await (const m of client.fetch('1:*', { envelope: true, bodyStructure: true, uid: true, flags: true })) seen.push(m.envelope?.subject ?? '')
      assert.equal(seen.length, existsAtOpen)
      assert.ok(seen.includes('Reunión del miércoles'), 'imapflow decodes the Spanish subject')
      const one = await client.fetchOne('3', { source: true, bodyStructure: true })
      assert.ok(one && one.source?.includes('square.png'))
      assert.equal(one.bodyStructure?.childNodes?.[1]?.type, 'image/png')

      const gotExists = new Promise<number>((resolve) => client.on('exists', (data: { count: number }) => resolve(data.count)))
      const idling = client.idle()
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lab.ports.smtp, ignoreTLS: true })
      await transport.sendMail({ from: 'x@example.org', to: 'alice@mail.test', subject: 'while idling', text: 'ping' })
      transport.close()
      assert.equal(await gotExists, existsAtOpen + 1)
      const last = await client.fetchOne('*', { envelope: true })
      assert.equal(last && last.envelope?.subject, 'while idling')
      await idling.catch(() => undefined)
    } finally {
      await client.logout()
    }
  })

  test("python3's imaplib logs in over STARTTLS, selects, searches and fetches", async () => {
    const { cert } = await testCertificate()
    const r = await python(
      `import imaplib, ssl, sys
ctx = ssl.create_default_context(cadata=sys.argv[2])
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.starttls(ssl_context=ctx)
m.login('bob', 'bobpw')
typ, data = m.select('INBOX')
typ, ids = m.search(None, 'ALL')
typ, msg = m.fetch(ids[0].split()[0], '(RFC822)')
print(data[0].decode(), len(ids[0].split()), b'Subject:' in msg[0][1])
m.logout()`,
      [lab.ports.imap, cert],
    )
    assert.equal(r.code, 0, r.stderr)
    const [exists, found, hasSubject] = r.stdout.trim().split(' ')
    assert.equal(exists, found)
    assert.equal(hasSubject, 'True')
  })

  test('curl searches and fetches over IMAP', async () => {
    const search = await run('curl', ['-sS', `imap://127.0.0.1:${lab.ports.imap}/INBOX?ALL`, '--user', 'alice:alicepw'])
    assert.equal(search.code, 0, search.stderr)
    assert.match(search.stdout, /^\* SEARCH 1 2/)
    const fetch = await run('curl', ['-sS', `imap://127.0.0.1:${lab.ports.imap}/INBOX;MAILINDEX=2`, '--user', 'alice:alicepw'])
    assert.equal(fetch.code, 0, fetch.stderr)
    assert.match(fetch.stdout, /Reuni=C3=B3n/)
  })
})

describe('lab IMAP faults', () => {
  async function withLab(spec: string, fn: (lab: Lab) => Promise<void>): Promise<void> {
    const lab = await startLab({ faults: parseFaults(spec) })
    try {
      await fn(lab)
    } finally {
      await lab.stop()
    }
  }

  test('imap-overquota makes APPEND and COPY fail with NO [OVERQUOTA]', () =>
    withLab('imap-overquota', async (lab) => {
      const c = await imapLogin(lab)
      assert.match(await c.say('a append INBOX {3+}\r\nabc', tagged('a')), /^a NO \[OVERQUOTA\] .*lab fault/m)
      await c.say('b select INBOX', tagged('b'))
      assert.match(await c.say('c copy 1 Trash', tagged('c')), /^c NO \[OVERQUOTA\]/m)
      c.send('d logout')
    }))

  test('auth=1 makes LOGIN fail with NO [AUTHENTICATIONFAILED]', () =>
    withLab('auth=1', async (lab) => {
      const c = await RawClient.connect(lab.ports.imap)
      await c.until(/^\* OK .*\r\n/m)
      assert.match(await c.say('a login alice alicepw', tagged('a')), /^a NO \[AUTHENTICATIONFAILED\] .*lab fault/m)
      c.close()
    }))

  test('drop=1 answers a command with * BYE and closes', () =>
    withLab('drop=1', async (lab) => {
      const c = await RawClient.connect(lab.ports.imap)
      await c.until(/^\* OK .*\r\n/m)
      c.send('a capability')
      await c.closedByServer()
      assert.match(c.text, /^\* BYE \[UNAVAILABLE\]/)
    }))
})
