// Every real session captured from Postfix and Dovecot (test/fixtures/<protocol>/real-*.txt)
// replays through the protocol's decoder, as the recorder creates it, whole, byte by byte and
// split at many offsets with identical output, and matches its reviewed golden. Beyond the
// golden, what must hold for any real session is checked too (every command answered once, no
// malformed input from real programs), and for the captures of test/fixtures/capture.ts
// what each one was captured to show.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type { Decoded, Item, Protocol } from '../../shared/schema.ts'
import { createDecoder } from '../../proxy/protocols/index.ts'
import { expectGolden, loadTranscript, replay, replayAllSplits, type ReplayResult } from '../helpers/transcript.ts'

const root = join(import.meta.dirname, '../fixtures')
const PROTOCOLS: Protocol[] = ['smtp', 'pop3', 'imap']

const fixtures = PROTOCOLS.flatMap((protocol) =>
  readdirSync(join(root, protocol))
    .filter((f) => /^real-.*\.txt$/.test(f))
    .sort()
    .map((file) => ({ protocol, file, path: join(root, protocol, file) })),
)

const decode = (protocol: Protocol, path: string): ReplayResult => replay((o) => createDecoder(protocol, o), loadTranscript(path))

function items<K extends Item['kind']>(decoded: Decoded[], kind: K): (Decoded & { item: Extract<Item, { kind: K }> })[] {
  return decoded.filter((d): d is Decoded & { item: Extract<Item, { kind: K }> } => d.item?.kind === kind)
}

const noteCodes = (decoded: Decoded[]) => decoded.flatMap((d) => d.notes ?? []).map((n) => n.code)

describe('real sessions as fixtures', () => {
  test('there are real sessions of every protocol', () => {
    for (const protocol of PROTOCOLS) assert.ok(fixtures.filter((f) => f.protocol === protocol).length >= 3, `${protocol} has real fixtures`)
  })

  for (const { protocol, file, path } of fixtures) {
    test(`${protocol}/${file} decodes the same whole, byte by byte and split anywhere, and matches its golden`, () => {
      // The decoder suites (test/protocols) split these same files at every offset; here an
      // evenly spread sample of 200 cuts keeps this suite quick.
      const result = replayAllSplits((o) => createDecoder(protocol, o), loadTranscript(path), { maxSplits: 200 })
      expectGolden(path.replace(/\.txt$/, '.events.json'), result)
    })

    test(`${protocol}/${file} answers every command exactly once and reads as well-formed`, () => {
      const { decoded } = decode(protocol, path)
      // IMAP's DONE ends IDLE: the IDLE command's completion answers both.
      const commands = decoded.filter((d) => d.item?.kind === 'command' && d.item.verb !== 'DONE')
      assert.ok(commands.length > 0)
      for (const c of commands) {
        const answers = decoded.filter((d) => d.replyToRef === c.ref && (d.item?.kind === 'reply' || d.item?.kind === 'continuation'))
        const line = (c.item as Extract<Item, { kind: 'command' }>).line
        assert.ok(answers.length >= 1, `${line} has a reply`)
        assert.equal(answers.filter((a) => a.item?.kind === 'reply').length <= 1, true, `${line} has at most one final reply`)
      }
      const malformed = noteCodes(decoded).filter((c) => /MALFORMED|INVALID/.test(c))
      assert.deepEqual(malformed, [], 'real programs speak well-formed protocol')
    })
  }
})

/** What each capture of test/fixtures/capture.ts was made to show. */
describe('what each captured session shows', () => {
  const auth = (decoded: Decoded[]) => items(decoded, 'auth')
  const succeeded = (decoded: Decoded[], mechanism: string, user: string) =>
    auth(decoded).some((a) => a.item.step === 'outcome' && a.item.outcome === 'success' && a.item.mechanism === mechanism && a.item.user === user)
  const upgraded = (decoded: Decoded[]) => items(decoded, 'tls').some((t) => t.item.phase === 'go-ahead')
  const verbs = (decoded: Decoded[]) => items(decoded, 'command').map((c) => c.item.verb)

  test('curl authenticates to Postfix with CRAM-MD5 and sends its message', () => {
    const { decoded, messages } = decode('smtp', join(root, 'smtp/real-curl-send-auth.txt'))
    assert.ok(succeeded(decoded, 'CRAM-MD5', 'alice'))
    assert.ok(auth(decoded).some((a) => a.secrets === undefined || a.item.step !== 'response' || a.secrets.some((s) => s.kind === 'digest')))
    assert.equal(messages.length, 1)
    assert.match(messages[0].bytes.toString(), /^From: Alice <alice@mail\.test>\r\n[\s\S]*Subject: curl capture\r\n[\s\S]*Sent by curl\.\r\n$/)
  })

  test('swaks authenticates with AUTH PLAIN only inside the intercepted STARTTLS, so no cleartext finding', () => {
    const { decoded, messages } = decode('smtp', join(root, 'smtp/real-swaks-starttls-auth.txt'))
    assert.ok(upgraded(decoded))
    assert.deepEqual(verbs(decoded), ['EHLO', 'STARTTLS', 'EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'])
    assert.ok(succeeded(decoded, 'PLAIN', 'alice'))
    assert.ok(!noteCodes(decoded).includes('AUTH_CLEARTEXT'))
    const ehlos = items(decoded, 'reply').filter((r) => r.item.capabilities)
    assert.deepEqual(ehlos.map((r) => r.item.capabilities!.some((c) => c.name === 'AUTH')), [false, true], 'AUTH is offered only after STARTTLS')
    assert.equal(messages.length, 1)
  })

  test('a relay refused by Postfix is an error with its enhanced code, and the message still goes to the other recipient', () => {
    const { decoded, messages } = decode('smtp', join(root, 'smtp/real-smtplib-relay-denied.txt'))
    const refused = items(decoded, 'reply').find((r) => r.item.code === '554')
    assert.ok(refused)
    assert.equal(refused.item.status, 'error')
    assert.equal(refused.item.enhanced, '5.7.1')
    assert.ok(refused.notes?.some((n) => n.level === 'error' && n.hint), 'the refusal carries a hint')
    assert.equal(messages.length, 1)
    assert.equal(messages[0].complete, true)
  })

  test('BDAT chunks from a real client make one message, with a leading dot left alone', () => {
    const { decoded, messages } = decode('smtp', join(root, 'smtp/real-smtplib-bdat.txt'))
    assert.deepEqual(verbs(decoded).filter((v) => v === 'BDAT').length, 2)
    assert.equal(messages.length, 1)
    assert.equal(messages[0].source, 'smtp-bdat')
    assert.equal(messages[0].bytes.length, 230, 'the size Postfix reports: 230 bytes queued')
    assert.match(messages[0].bytes.toString(), /\r\n\.a line starting with a dot, not stuffed\r\n$/)
  })

  test('nodemailer pipelines MAIL, RCPT and DATA inside STARTTLS and each gets its own reply', () => {
    const { decoded, messages } = decode('smtp', join(root, 'smtp/real-nodemailer-starttls.txt'))
    assert.ok(upgraded(decoded))
    assert.ok(succeeded(decoded, 'PLAIN', 'alice'))
    const cmds = items(decoded, 'command')
    const byVerb = (v: string) => cmds.find((c) => c.item.verb === v)!
    assert.ok(byVerb('RCPT').item.pipelined && byVerb('DATA').item.pipelined)
    const codeFor = (v: string) => items(decoded, 'reply').find((r) => r.replyToRef === byVerb(v).ref)?.item.code
    assert.deepEqual(['MAIL', 'RCPT', 'DATA'].map(codeFor), ['250', '250', '354'])
    assert.equal(messages.length, 1)
    assert.match(messages[0].bytes.toString(), /filename=notas\.txt/)
  })

  test("Postfix's answers to the small SMTP commands are paired and judged: 500 for HELP and EXPN, 252 for VRFY, RSET back to ready", () => {
    const { decoded, messages } = decode('smtp', join(root, 'smtp/real-smtplib-vrfy-noop-rset.txt'))
    const answered = items(decoded, 'command').map((c) => {
      const r = items(decoded, 'reply').find((x) => x.replyToRef === c.ref)!
      return `${c.item.verb} ${r.item.code} ${r.item.status}`
    })
    assert.deepEqual(answered, ['EHLO 250 ok', 'HELP 500 error', 'VRFY 252 ok', 'VRFY 554 error', 'EXPN 500 error', 'NOOP 250 ok', 'MAIL 250 ok', 'RSET 250 ok', 'QUIT 221 ok'])
    const rset = items(decoded, 'reply').find((r) => r.replyToRef === items(decoded, 'command').find((c) => c.item.verb === 'RSET')!.ref)!
    assert.equal(rset.item.state, 'ready', 'RSET drops the transaction begun by MAIL')
    assert.equal(messages.length, 0)
  })

  test('poplib goes through STLS, logs in inside TLS, retrieves a message of the size announced, and RSET undoes DELE', () => {
    const { decoded, messages } = decode('pop3', join(root, 'pop3/real-poplib-stls.txt'))
    assert.ok(upgraded(decoded))
    assert.deepEqual(verbs(decoded), ['CAPA', 'CAPA', 'STLS', 'CAPA', 'USER', 'PASS', 'STAT', 'RETR', 'DELE', 'RSET', 'QUIT'])
    assert.ok(succeeded(decoded, 'USER/PASS', 'alice'))
    assert.ok(!noteCodes(decoded).includes('AUTH_CLEARTEXT'))
    const retr = items(decoded, 'reply').find((r) => /octets/.test(r.item.lines[0] ?? ''))!
    assert.equal(messages.length, 1)
    assert.equal(messages[0].source, 'pop3-retr')
    assert.equal(`${messages[0].bytes.length} octets`, retr.item.lines[0])
    const states = items(decoded, 'command').map((c) => c.item.state)
    assert.deepEqual(states.slice(-5), ['transaction', 'transaction', 'transaction', 'transaction', 'transaction'])
  })

  test('poplib logs in with APOP: the user is shown, the digest kept as a secret', () => {
    const { decoded, messages } = decode('pop3', join(root, 'pop3/real-poplib-apop.txt'))
    assert.ok(succeeded(decoded, 'APOP', 'alice'))
    const apop = decoded.find((d) => d.item?.kind === 'command' && d.item.verb === 'APOP')!
    const secrets = decoded.filter((d) => d.raw?.offset === apop.raw?.offset).flatMap((d) => d.secrets ?? [])
    assert.ok(secrets.some((s) => /^[0-9a-f]{32}$/.test(s.value)), JSON.stringify(secrets))
    assert.ok(!JSON.stringify(apop.item).match(/[0-9a-f]{32}/), 'the digest is not in the command line shown')
    assert.equal(messages.length, 1, 'TOP 2 0 gives the header as a message')
    assert.equal(messages[0].source, 'pop3-top')
    assert.match(messages[0].bytes.toString(), /\r\nSubject: Segundo\r\n/)
    const uidl = items(decoded, 'reply').find((r) => r.item.lines.length === 3)
    assert.ok(uidl, 'the UIDL listing has one line per message')
  })

  test('curl authenticates to Dovecot POP3 with CRAM-MD5 and retrieves message 2 intact, accents included', () => {
    const { decoded, messages } = decode('pop3', join(root, 'pop3/real-curl-retr.txt'))
    assert.ok(succeeded(decoded, 'CRAM-MD5', 'alice'))
    assert.equal(messages.length, 1)
    assert.match(messages[0].bytes.toString('utf8'), /El segundo mensaje, con acentos: áéíóú ñ\.\r\n$/)
  })

  test("imaplib runs the seed's IMAP exchange against Dovecot: the fetch, the silent STORE and the EXPUNGE", () => {
    const { decoded, messages } = decode('imap', join(root, 'imap/real-imaplib-seed.txt'))
    assert.deepEqual(verbs(decoded), ['CAPABILITY', 'LOGIN', 'LIST', 'SELECT', 'FETCH', 'STORE', 'EXPUNGE', 'LOGOUT'])
    assert.ok(succeeded(decoded, 'IMAP LOGIN', 'alice'))
    const store = items(decoded, 'command').find((c) => c.item.verb === 'STORE')!
    assert.ok(store.item.explain?.includes('imap.store.+FLAGS.SILENT'))
    assert.deepEqual(items(decoded, 'untagged').filter((u) => u.item.name === 'EXPUNGE').map((u) => u.item.number), [1])
    assert.equal(messages.length, 1)
    assert.equal(messages[0].source, 'imap-fetch')
    const announced = Number(/ BODY\[\] \{(\d+)\}\r?$/m.exec(readFileSync(join(root, 'imap/real-imaplib-seed.txt'), 'utf8'))![1])
    assert.equal(messages[0].bytes.length, announced, 'the size the literal announced')
  })

  test('curl authenticates to Dovecot IMAP with CRAM-MD5 and fetches message 2', () => {
    const { decoded, messages } = decode('imap', join(root, 'imap/real-curl-fetch.txt'))
    assert.ok(succeeded(decoded, 'CRAM-MD5', 'alice'))
    assert.equal(messages.length, 1)
    assert.match(messages[0].bytes.toString('utf8'), /áéíóú ñ/)
  })

  test('imapflow goes through STARTTLS, IDLEs until the new message appears, then fetches it', () => {
    const { decoded, messages } = decode('imap', join(root, 'imap/real-imapflow-starttls-idle.txt'))
    assert.ok(upgraded(decoded))
    assert.ok(succeeded(decoded, 'PLAIN', 'alice'))
    assert.ok(!noteCodes(decoded).includes('AUTH_CLEARTEXT'))
    const idle = items(decoded, 'command').find((c) => c.item.verb === 'IDLE')!
    const done = decoded.findIndex((d) => d.item?.kind === 'command' && d.item.verb === 'DONE')
    const duringIdle = decoded.slice(decoded.indexOf(idle), done >= 0 ? done : undefined)
    assert.ok(items(duringIdle, 'untagged').some((u) => u.item.name === 'EXISTS' && u.item.number === 3), 'the new message shows up during IDLE')
    assert.equal(messages.length, 1)
    assert.match(messages[0].bytes.toString(), /Subject: imapflow idle capture\r\n/)
  })

  test('imapflow on the mailbox commands: the APPEND literal is a message, UID commands are named as such, MOVE and EXPUNGE report what left', () => {
    const { decoded, messages } = decode('imap', join(root, 'imap/real-imapflow-mailbox-ops.txt'))
    const vs = verbs(decoded)
    for (const v of ['CREATE', 'APPEND', 'STATUS', 'UID SEARCH', 'UID COPY', 'UID STORE', 'UID MOVE', 'EXPUNGE', 'CLOSE', 'DELETE']) assert.ok(vs.includes(v), `${v} in ${vs}`)
    assert.equal(messages.length, 1)
    assert.equal(messages[0].source, 'imap-append')
    assert.match(messages[0].bytes.toString(), /^From: Alice <alice@mail\.test>\r\n[\s\S]*Appended with a literal\.\r\n$/)
    const codes = items(decoded, 'reply').map((r) => r.item.responseCode).filter(Boolean)
    for (const code of ['APPENDUID', 'COPYUID', 'READ-WRITE']) assert.ok(codes.includes(code), `${code} in ${codes}`)
    const expunged = items(decoded, 'untagged').filter((u) => u.item.name === 'EXPUNGE').map((u) => u.item.number)
    assert.deepEqual(expunged, [2, 1], 'the MOVE removed message 2, the EXPUNGE message 1')
    const close = items(decoded, 'reply').find((r) => r.replyToRef === items(decoded, 'command').find((c) => c.item.verb === 'CLOSE')!.ref)!
    assert.equal(close.item.state, 'authenticated', 'CLOSE leaves the selected state')
  })

  test("Dovecot's refusals are findings: a failed LOGIN with its hint, a FETCH before SELECT, a SELECT of a missing mailbox", () => {
    const { decoded } = decode('imap', join(root, 'imap/real-imaplib-failures.txt'))
    const outcomes = auth(decoded).filter((a) => a.item.step === 'outcome').map((a) => a.item.outcome)
    assert.deepEqual(outcomes, ['failure', 'success'])
    const failed = items(decoded, 'reply').find((r) => r.item.responseCode === 'AUTHENTICATIONFAILED')!
    assert.ok(failed.notes?.some((n) => n.level === 'error' && n.hint), 'the failed login carries a hint')
    const fetch = items(decoded, 'command').find((c) => c.item.verb === 'FETCH')!
    assert.ok(fetch.notes?.some((n) => n.code === 'IMAP_OUT_OF_SEQUENCE'), 'FETCH before SELECT is out of sequence')
    assert.equal(items(decoded, 'reply').find((r) => r.replyToRef === fetch.ref)?.item.code, 'BAD')
    const select = items(decoded, 'command').find((c) => c.item.verb === 'SELECT')!
    const no = items(decoded, 'reply').find((r) => r.replyToRef === select.ref)!
    assert.equal(no.item.code, 'NO')
    assert.equal(no.item.state, 'authenticated', 'a failed SELECT leaves no mailbox selected')
  })
})
