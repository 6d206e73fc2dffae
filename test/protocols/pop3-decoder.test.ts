// Behaviour of the POP3 decoder beyond the golden files: which responses are multi-line,
// pairing, states, findings, STLS and streaming of RETR bodies.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import type { CommandItem, Decoded, ReplyItem } from '../../shared/schema.ts'
import { createPop3Decoder } from '../../proxy/protocols/pop3.ts'
import { loadTranscript, parseTranscript, replay } from '../helpers/transcript.ts'

const dir = join(import.meta.dirname, '../fixtures/pop3')
const factory = (o: Parameters<typeof createPop3Decoder>[0]) => createPop3Decoder(o)
const codes = (ds: Decoded[]): string[] => ds.flatMap((d) => d.notes?.map((n) => n.code) ?? [])
const replies = (ds: Decoded[]) => ds.filter((d) => d.item?.kind === 'reply').map((d) => d.item as ReplyItem)

function loggedIn(): ReturnType<typeof createPop3Decoder> {
  const d = createPop3Decoder()
  d.feed('server', Buffer.from('+OK ready\r\n'), 1)
  d.feed('client', Buffer.from('USER a\r\n'), 2)
  d.feed('server', Buffer.from('+OK\r\n'), 3)
  d.feed('client', Buffer.from('PASS b\r\n'), 4)
  d.feed('server', Buffer.from('+OK in\r\n'), 5)
  return d
}

test('LIST with a message number is one line, without one it is a listing', () => {
  const d = loggedIn()
  d.feed('client', Buffer.from('LIST 1\r\nLIST\r\nNOOP\r\n'), 6)
  const out = d.feed('server', Buffer.from('+OK 1 120\r\n+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n+OK\r\n'), 7)
  assert.deepEqual(replies(out).map((r) => r.lines), [['1 120'], ['2 messages', '1 120', '2 200'], ['']])
})

test('a -ERR to RETR is a single line and the next response pairs with the next command', () => {
  const d = loggedIn()
  d.feed('client', Buffer.from('RETR 9\r\nSTAT\r\n'), 6)
  const out = d.feed('server', Buffer.from('-ERR There is no message 9.\r\n+OK 0 0\r\n'), 7)
  const [err, stat] = replies(out)
  assert.equal(err.status, 'error')
  assert.deepEqual(stat.lines, ['0 0'])
  assert.ok(!out.some((x) => x.item?.kind === 'message'))
})

test('a RETR body is dot-unstuffed, streamed, and ends at the lone dot', () => {
  const parts: Buffer[] = []
  const dd = createPop3Decoder({ messages: { open: () => ({ write: (b) => parts.push(Buffer.from(b)), close: () => {} }) } })
  for (const [side, text] of [['server', '+OK ready\r\n'], ['client', 'USER a\r\nPASS b\r\n'], ['server', '+OK\r\n+OK\r\n'], ['client', 'RETR 1\r\n']] as const) {
    dd.feed(side, Buffer.from(text), 1)
  }
  dd.feed('server', Buffer.from('+OK\r\nA\r\n..B\r\n.'), 2)
  dd.feed('server', Buffer.from('\r\n'), 3)
  assert.equal(Buffer.concat(parts).toString(), 'A\r\n.B\r\n')
})

test('the RFC 1939 states show on commands and replies: authorization, transaction, update', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'seed.txt')))
  const states = decoded.filter((x) => x.item?.kind === 'command').map((x) => (x.item as CommandItem).state)
  assert.deepEqual(states, ['authorization', 'authorization', 'transaction', 'transaction'])
  assert.equal(replies(decoded).at(-1)!.state, 'update')
})

test('a transaction command in the authorization state is out of sequence', () => {
  const d = createPop3Decoder()
  d.feed('server', Buffer.from('+OK ready\r\n'), 1)
  assert.ok(codes(d.feed('client', Buffer.from('RETR 1\r\n'), 2)).includes('POP3_OUT_OF_SEQUENCE'))
})

test('-ERR [IN-USE] explains that another session holds the mailbox', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'in-use.txt')))
  const inUse = decoded.find((x) => x.notes?.some((n) => n.code === 'POP3_MAILBOX_IN_USE'))!
  assert.equal((inUse.item as ReplyItem).responseCode, 'IN-USE')
  assert.match(inUse.notes![0].hint!, /Another client/)
})

test('PASS is masked on every text field and its password kept as a secret', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt'))) {
    const { decoded } = replay(factory, loadTranscript(join(dir, file)))
    const secrets = decoded.flatMap((x) => x.secrets ?? []).map((s) => s.value).filter((v) => v.length >= 4)
    for (const x of decoded) {
      const shown = JSON.stringify({ ...x, secrets: undefined })
      for (const v of secrets) assert.ok(!shown.includes(v), `${file}: a secret shows in ${shown}`)
    }
  }
})

test('STLS gives the go-ahead; plaintext pipelined after STLS is flagged, not decoded', () => {
  const d = createPop3Decoder()
  d.feed('server', Buffer.from('+OK ready\r\n'), 1)
  d.feed('client', Buffer.from('STLS\r\nUSER evil\r\n'), 2)
  const out = d.feed('server', Buffer.from('+OK Begin TLS\r\n'), 3)
  assert.ok(out.some((x) => x.item?.kind === 'tls' && x.item.phase === 'go-ahead'))
  const after = d.upgraded!(4)
  assert.ok(codes(after).includes('STARTTLS_INJECTION'))
  assert.ok(![...out, ...after].some((x) => x.item?.kind === 'command' && x.item.verb === 'USER'))
})

test('AUTH continuations are decoded and the outcome is tied to the attempt', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'auth.txt')))
  const outcomes = decoded.filter((x) => x.item?.kind === 'auth' && x.item.step === 'outcome')
  assert.deepEqual(outcomes.map((x) => x.item?.kind === 'auth' && x.item.outcome), ['failure', 'success'])
  for (const o of outcomes) assert.equal(decoded.find((x) => x.ref === o.attemptRef)?.item?.kind, 'command')
})

test('a multi-line response cut by the server closing is reported with what arrived', () => {
  const t = parseTranscript('S: +OK\nC: CAPA\nS: +OK\nS: TOP\n')
  const { decoded } = replay(factory, t)
  assert.ok(codes(decoded).includes('POP3_RESPONSE_CUT'))
  assert.deepEqual(replies(decoded).at(-1)!.lines, ['', 'TOP'])
})

test('the +OK that ends a SASL exchange is one line, not a mechanism listing', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'real-dovecot-curl.txt')))
  const list = replies(decoded).find((r) => r.lines[0] === '3 messages:')
  assert.deepEqual(list?.lines, ['3 messages:', '1 651', '2 652', '3 547'])
  assert.equal(replies(decoded).at(-1)!.state, 'update')
})

test('a RETR whose announced octet count differs from the body is noted', () => {
  const t = parseTranscript('S: +OK\nC: USER a\nS: +OK\nC: PASS b\nS: +OK\nC: RETR 1\nS: +OK 99 octets\nS: Subject: a\nS: \nS: .\n')
  const { decoded } = replay(factory, t)
  assert.ok(codes(decoded).includes('POP3_SIZE_MISMATCH'))
})

test('LANG without an argument is a listing, LANG with one is a single line', () => {
  const d = createPop3Decoder()
  d.feed('server', Buffer.from('+OK ready\r\n'), 1)
  d.feed('client', Buffer.from('LANG\r\nLANG es\r\n'), 2)
  const out = d.feed('server', Buffer.from('+OK Language listing follows\r\nen English\r\nes Español\r\n.\r\n+OK es Idioma cambiado\r\n'), 3)
  assert.deepEqual(replies(out).map((r) => r.lines.length), [3, 1])
})

// Incomplete captures and hand-written transcripts.

/** Each command's verb with the first line of the response paired to it. */
function pairing(decoded: Decoded[]): [string, string | undefined][] {
  const byRef = new Map(decoded.filter((d) => d.item?.kind === 'reply' && d.replyToRef !== undefined).map((d) => [d.replyToRef!, d.item as ReplyItem]))
  return decoded.filter((d) => d.item?.kind === 'command').map((d) => {
    const r = byRef.get(d.ref!)
    return [(d.item as CommandItem).verb, r ? `${r.code} ${r.lines[0]}` : undefined]
  })
}

test('a command before any server line means the greeting was not captured: the first +OK answers it', () => {
  const { decoded } = replay(factory, parseTranscript('C: USER a\nS: +OK user\nC: PASS b\nS: +OK in\nC: STAT\nS: +OK 2 320\n'))
  assert.deepEqual(pairing(decoded), [['USER', '+OK user'], ['PASS', '+OK in'], ['STAT', '+OK 2 320']])
  assert.deepEqual(codes(decoded), ['POP3_NO_GREETING'])
  assert.ok(!codes(decoded).includes('POP3_NO_RESPONSE'))
})

test('a first response with an APOP timestamp is the greeting even after an early command', () => {
  const { decoded } = replay(factory, parseTranscript('C: CAPA\nS: +OK ready <1896.697170952@dbc.mtview.ca.us>\nS: +OK\nS: USER\nS: .\n'))
  assert.deepEqual(pairing(decoded), [['CAPA', '+OK ']])
  assert.ok(!codes(decoded).includes('POP3_NO_GREETING'))
  assert.deepEqual((decoded.find((d) => d.replyToRef === 1)!.item as ReplyItem).capabilities?.map((c) => c.name), ['USER'])
})

test('a command pipelined after AUTH PLAIN with an initial response is a command, and the +OK still ends the login', () => {
  const t = parseTranscript('S: +OK ready\nC: AUTH PLAIN AGFsaWNlAHNlY3JldG8=\nC: STAT\nS: +OK Logged in.\nS: +OK 1 120\n')
  const { decoded } = replay(factory, t)
  assert.deepEqual(pairing(decoded), [['AUTH', '+OK Logged in.'], ['STAT', '+OK 1 120']])
  const outcome = decoded.find((d) => d.item?.kind === 'auth' && d.item.step === 'outcome')?.item
  assert.ok(outcome?.kind === 'auth' && outcome.outcome === 'success' && outcome.user === 'alice')
  assert.ok(!codes(decoded).includes('AUTH_INVALID_BASE64'))
})

test('a line the server prompted for with "+ " is a SASL answer even when it reads like a command', () => {
  const t = parseTranscript('S: +OK ready\nC: AUTH PLAIN\nS: + \nC: STAT now\nS: -ERR bad base64\n')
  const { decoded } = replay(factory, t)
  assert.deepEqual(pairing(decoded), [['AUTH', undefined]])
  assert.ok(codes(decoded).includes('AUTH_INVALID_BASE64'))
  const outcome = decoded.find((d) => d.item?.kind === 'auth' && d.item.step === 'outcome')?.item
  assert.ok(outcome?.kind === 'auth' && outcome.outcome === 'failure')
})

test('LIST pasted with USER and PASS is judged in the state PASS leaves, so a good login gives no out-of-sequence finding', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'pipelined-login.txt')))
  assert.ok(!codes(decoded).includes('POP3_OUT_OF_SEQUENCE'), JSON.stringify(codes(decoded)))
  const list = decoded.find((x) => x.item?.kind === 'command' && (x.item as CommandItem).verb === 'LIST')!
  assert.equal((list.item as CommandItem).pipelined, true)
})

test('STAT pasted behind a failed PASS is out of sequence, and the finding lands on its reply', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'pipelined-login-failed.txt')))
  const flagged = decoded.filter((x) => x.notes?.some((n) => n.code === 'POP3_OUT_OF_SEQUENCE'))
  assert.equal(flagged.length, 1)
  assert.equal(flagged[0].from, 'server')
  assert.deepEqual((flagged[0].item as ReplyItem).lines, ['Unknown command.'])
})

test('a retrieved message line over 998 characters is noted at info level, a line of exactly 998 is not', () => {
  const { decoded, messages } = replay(factory, loadTranscript(join(dir, 'long-line.txt')))
  const ends = decoded.filter((x) => x.item?.kind === 'body' && x.item.phase === 'end')
  assert.equal(ends.length, 2)
  assert.deepEqual(ends.map((x) => x.notes?.map((n) => [n.code, n.level]) ?? []), [[['POP3_MESSAGE_LINE_TOO_LONG', 'info']], []])
  assert.equal(messages[0].bytes.length, 1219)
})
