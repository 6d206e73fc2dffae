// The pieces of replay on their own: framing wherever TCP split the bytes, credential
// substitution against the RFCs' own examples, normalisation of real server lines, and
// the terminal diff.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import type { Protocol } from '../../shared/schema.ts'
import { substitute } from '../../proxy/replay/credentials.ts'
import { compareRow, formatDiff, verdictOf } from '../../proxy/replay/diff.ts'
import { ClientFramer, ServerFramer, type ClientUnit, type ServerResponse } from '../../proxy/replay/framing.ts'
import { normalise, parseRule } from '../../proxy/replay/normalise.ts'
import { parseTranscript } from '../helpers/transcript.ts'

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'utf8')

/** Runs a transcript through both framers, answering units in order, with chunks cut by `split`. */
function frame(protocol: Protocol, text: string, split: (b: Buffer) => Buffer[]) {
  const cf = new ClientFramer(protocol)
  const sf = new ServerFramer(protocol)
  const units: ClientUnit[] = []
  const responses: ServerResponse[] = []
  const awaiting: ClientUnit[] = []
  let greeted = false
  for (const step of parseTranscript(text).steps) {
    if (step.kind !== 'data') continue
    for (const piece of split(step.bytes)) {
      if (step.side === 'client') {
        for (const u of cf.push(piece)) {
          units.push(u)
          awaiting.push(u)
        }
      } else {
        for (const r of sf.push(piece, () => awaiting[0])) {
          responses.push(r)
          if (!greeted) {
            greeted = true
            continue
          }
          if (r.status === 'continue' && cf.waitingForGoAhead) {
            cf.noteLiteralStarted()
            continue
          }
          const u = awaiting.shift()
          if (u) cf.answered(u, r)
        }
      }
    }
  }
  return { units: units.map((u) => [u.kind, u.verb, u.bytes.toString('latin1')]), responses: responses.map((r) => r.bytes.toString('latin1')) }
}

describe('framing', () => {
  for (const [protocol, file] of [
    ['smtp', 'smtp/pipelining.txt'],
    ['smtp', 'smtp/auth-mechanisms.txt'],
    ['smtp', 'smtp/bdat.txt'],
    ['pop3', 'pop3/capa-uidl-retr.txt'],
    ['imap', 'imap/fetch-mime.txt'],
    ['imap', 'imap/authenticate.txt'],
    ['imap', 'imap/login-literal.txt'],
  ] as const) {
    test(`${file} frames the same whole and one byte at a time`, () => {
      const whole = frame(protocol, fixture(file), (b) => [b])
      const bytewise = frame(protocol, fixture(file), (b) => [...b].map((x) => Buffer.from([x])))
      assert.deepEqual(bytewise, whole)
      assert.ok(whole.units.length >= 3)
    })
  }

  test('an SMTP message body is one unit up to the lone dot, whatever it contains', () => {
    const f = new ClientFramer('smtp')
    const [data] = f.push(Buffer.from('DATA\r\n'))
    f.answered(data!, { bytes: Buffer.from('354 go\r\n'), lines: ['354 go'], status: 'continue', code: '354' })
    const units = f.push(Buffer.from('Subject: x\r\n\r\nQUIT\r\n..dot\r\n.\r\nQUIT\r\n'))
    assert.deepEqual(
      units.map((u) => [u.kind, u.bytes.toString()]),
      [
        ['data', 'Subject: x\r\n\r\nQUIT\r\n..dot\r\n.\r\n'],
        ['command', 'QUIT\r\n'],
      ],
    )
  })

  test('AUTH LOGIN without the server prompts still takes the next two lines as SASL answers', () => {
    const units = new ClientFramer('smtp').push(Buffer.from('auth login\r\ndXNlcg==\r\ncGFzcw==\r\nMAIL FROM:<a@b>\r\n'))
    assert.deepEqual(
      units.map((u) => [u.kind, u.verb, u.saslStep]),
      [
        ['command', 'AUTH', undefined],
        ['sasl', 'AUTH', 1],
        ['sasl', 'AUTH', 2],
        ['command', 'MAIL', undefined],
      ],
    )
  })

  test('an IMAP literal inside a server response never ends it, even when it holds a tagged-looking line', () => {
    const sf = new ServerFramer('imap', { greeting: false })
    const body = 'a1 OK fake\r\n+ fake\r\n'
    const out = sf.push(Buffer.from(`* 1 FETCH (BODY[] {${body.length}}\r\n${body})\r\na1 OK done\r\n`))
    assert.equal(out.length, 1)
    assert.equal(out[0]!.tag, 'a1')
    assert.equal(out[0]!.lines.at(-1), 'a1 OK done')
  })
})

describe('credential substitution', () => {
  const creds = { user: 'tim', password: 'tanstaaftanstaaf' }
  const unit = (u: Partial<ClientUnit> & { bytes: Buffer }): ClientUnit => ({ kind: 'command', ...u })

  test('CRAM-MD5 is recomputed from the new challenge (RFC 2195 example)', () => {
    const challenge = Buffer.from('<1896.697170952@postoffice.reston.mci.net>').toString('base64')
    const sasl = unit({ kind: 'sasl', mechanism: 'CRAM-MD5', saslStep: 1, bytes: Buffer.from('b2xk\r\n') })
    const out = substitute(sasl, creds, { protocol: 'imap', challenge })
    assert.equal(Buffer.from(out.bytes.toString().trim(), 'base64').toString(), 'tim b913a602c7eda7a495b4e6e7334d3890')
    assert.ok(out.bytes.toString().endsWith('\r\n'))
  })

  test('APOP is recomputed from the new greeting (RFC 1939 example)', () => {
    const apop = unit({ verb: 'APOP', bytes: Buffer.from('APOP old 0123456789abcdef0123456789abcdef\r\n') })
    const out = substitute(apop, { user: 'mrose', password: 'tanstaaf' }, { protocol: 'pop3', greeting: '+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>' })
    assert.equal(out.bytes.toString(), 'APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n')
  })

  test('AUTH LOGIN gets the user, then the password, each in base64', () => {
    const auth = unit({ verb: 'AUTH', mechanism: 'LOGIN', bytes: Buffer.from('AUTH LOGIN\r\n') })
    const step = (n: number) => substitute(unit({ kind: 'sasl', mechanism: 'LOGIN', saslStep: n, bytes: Buffer.from('eA==\r\n') }), creds, { protocol: 'smtp', auth }).bytes.toString()
    assert.equal(step(1), `${Buffer.from('tim').toString('base64')}\r\n`)
    assert.equal(step(2), `${Buffer.from('tanstaaftanstaaf').toString('base64')}\r\n`)
  })

  test('AUTH PLAIN keeps a distinct authorization identity', () => {
    const ir = Buffer.from('admin\0alice\0secret').toString('base64')
    const auth = unit({ verb: 'AUTH', mechanism: 'PLAIN', initialResponse: ir, bytes: Buffer.from(`AUTH PLAIN ${ir}\r\n`) })
    const out = substitute(auth, creds, { protocol: 'smtp' }).bytes.toString()
    assert.equal(out, `AUTH PLAIN ${Buffer.from('admin\0tim\0tanstaaftanstaaf').toString('base64')}\r\n`)
  })

  test('IMAP LOGIN quotes what needs quoting and keeps the tag', () => {
    const login = unit({ verb: 'LOGIN', tag: 'a7', bytes: Buffer.from('a7 LOGIN old pw\r\n') })
    const out = substitute(login, { user: 'ana', password: 'p"a\\ss word' }, { protocol: 'imap' }).bytes.toString()
    assert.equal(out, 'a7 LOGIN "ana" "p\\"a\\\\ss word"\r\n')
  })

  test('XOAUTH2 cannot be recomputed: sent as recorded, with a note', () => {
    const auth = unit({ verb: 'AUTH', mechanism: 'XOAUTH2', initialResponse: 'dG9rZW4=', bytes: Buffer.from('AUTH XOAUTH2 dG9rZW4=\r\n') })
    const out = substitute(auth, creds, { protocol: 'smtp' })
    assert.equal(out.changed, false)
    assert.equal(out.bytes.toString(), 'AUTH XOAUTH2 dG9rZW4=\r\n')
    assert.equal(out.note?.code, 'REPLAY_AUTH_NOT_RECOMPUTABLE')
  })
})

describe('normalisation', () => {
  test("two Postfix deliveries differ only in queue id and date", () => {
    const a = '250 2.0.0 Ok: queued as C00625148ED\nReceived: by mail.test (Postfix) with ESMTP id C00625148ED; Thu, 26 Nov 2026 09:48:08 +0000 (UTC)'
    const b = '250 2.0.0 Ok: queued as 78C2A514888\nReceived: by mail.test (Postfix) with ESMTP id 78C2A514888; Fri, 27 Nov 2026 10:01:59 +0000 (UTC)'
    assert.equal(normalise(a, { protocol: 'smtp' }), normalise(b, { protocol: 'smtp' }))
    assert.notEqual(normalise(a, { protocol: 'smtp' }), normalise(a.replace('Ok', 'Queued'), { protocol: 'smtp' }))
  })

  test('Dovecot timings, APOP stamps, UIDVALIDITY and tags are normalised; message counts are not', () => {
    const ctx = { protocol: 'imap' as const }
    assert.equal(normalise('a1 OK Select completed (0.001 + 0.000 + 0.001 secs).', ctx), normalise('B7 OK Select completed (0.004 + 0.000 secs).', ctx))
    assert.equal(normalise('* OK [UIDVALIDITY 1795685556] UIDs valid', ctx), normalise('* OK [UIDVALIDITY 1795699999] UIDs valid', ctx))
    assert.notEqual(normalise('* 1 EXISTS', ctx), normalise('* 0 EXISTS', ctx))
    const pop = { protocol: 'pop3' as const }
    assert.equal(normalise('+OK Dovecot ready. <45a4.301.6b080068.XaAx@vm>', pop), normalise('+OK Dovecot ready. <45a4.302.6b080068.IUT1@vm>', pop))
  })

  test('a rule can be added from the command line', () => {
    const rule = parseRule('host=/vm\\d+/=>vm')
    assert.equal(normalise('by vm12 with LMTP', { protocol: 'smtp' }, [rule]), 'by vm with LMTP')
    assert.throws(() => parseRule('no slashes'), /bad normalisation rule/)
  })
})

describe('the diff', () => {
  const res = (lines: string[]): ServerResponse => ({ bytes: Buffer.from(lines.join('\r\n') + '\r\n'), lines, status: 'ok', code: '' })

  test('the verdict names the first exchange that differs, and the text shows both sides', () => {
    const rows = [
      compareRow(0, '(greeting)', 'smtp', undefined, res(['220 mail.test ESMTP Postfix']), res(['220 mail.test ESMTP Postfix'])),
      compareRow(1, 'AUTH PLAIN •••', 'smtp', 'AUTH', res(['235 2.7.0 Authentication successful']), res(['535 5.7.8 Error: authentication failed'])),
      compareRow(2, 'QUIT', 'smtp', 'QUIT', res(['221 2.0.0 Bye']), undefined),
    ]
    const result = { ...verdictOf(rows), exchanges: rows, replaySessionId: 'r1', notes: [] }
    assert.equal(result.verdict, 'diverged')
    assert.equal(result.divergedAt, 1)
    const text = formatDiff(result, { width: 120 })
    assert.match(text, /diverged at exchange 1/)
    assert.match(text, /^ +1 +AUTH PLAIN ••• +235 2\.7\.0 Authentication successful +≠ 535 5\.7\.8 Error: authentication failed$/m)
    assert.match(text, /^ +2 +QUIT +221 2\.0\.0 Bye +! \(no response\)$/m)
    assert.doesNotMatch(text, /secret/)
  })

  test('an exchange the recording never answered does not make a replay diverge', () => {
    const rows = [compareRow(1, 'auth login', 'smtp', 'AUTH', undefined, res(['334 VXNlcm5hbWU6']))]
    assert.deepEqual(verdictOf(rows), { verdict: 'equivalent' })
  })
})
