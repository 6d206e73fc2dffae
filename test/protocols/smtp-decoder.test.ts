// Behaviour of the SMTP decoder beyond the golden files: pairing, secrets, STARTTLS,
// streaming bodies, limits and findings, each asserted directly.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import type { AuthItem, CommandItem, Decoded, ReplyItem } from '../../shared/schema.ts'
import { createSmtpDecoder } from '../../proxy/protocols/smtp.ts'
import { captureSink, loadTranscript, parseTranscript, replay } from '../helpers/transcript.ts'

const dir = join(import.meta.dirname, '../fixtures/smtp')
const factory = (o: Parameters<typeof createSmtpDecoder>[0]) => createSmtpDecoder(o)
const codes = (ds: Decoded[]): string[] => ds.flatMap((d) => d.notes?.map((n) => n.code) ?? [])
const items = <K extends string>(ds: Decoded[], kind: K) => ds.filter((d) => d.item?.kind === kind)

test('the seed AUTH LOGIN reveals the user alice and keeps the password only in secrets', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'seed.txt')))
  const auth = items(decoded, 'auth').map((d) => d.item as AuthItem)
  assert.ok(auth.some((a) => a.user === 'alice' && a.step === 'response'))
  assert.ok(auth.some((a) => a.step === 'outcome' && a.outcome === 'success' && a.user === 'alice'))
  const withSecret = decoded.find((d) => d.secrets?.some((s) => s.kind === 'password'))!
  assert.equal(withSecret.secrets!.find((s) => s.kind === 'password')!.value, 'secreto')
  assert.equal((withSecret.item as AuthItem).decoded, 'password=•••')
})

test('no text field of any SMTP fixture shows a secret value', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt'))) {
    const { decoded } = replay(factory, loadTranscript(join(dir, file)))
    const secrets = decoded.flatMap((d) => d.secrets ?? []).map((s) => s.value).filter((v) => v.length >= 4)
    for (const d of decoded) {
      const shown = JSON.stringify({ ...d, secrets: undefined })
      for (const value of secrets) assert.ok(!shown.includes(value), `${file}: a secret shows in ${shown}`)
    }
  }
})

test('pipelined replies pair with their commands in order, with the 550 on the second RCPT', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'pipelining.txt')))
  const byRef = new Map(decoded.filter((d) => d.ref !== undefined).map((d) => [d.ref!, d]))
  const rejected = decoded.find((d) => (d.item as ReplyItem | undefined)?.code === '550')!
  const cmd = byRef.get(rejected.replyToRef!)!.item as CommandItem
  assert.equal(cmd.verb, 'RCPT')
  assert.equal(cmd.params?.to, 'nadie@servidor.es')
  const pipelined = items(decoded, 'command').filter((d) => (d.item as CommandItem).pipelined)
  assert.deepEqual(pipelined.map((d) => (d.item as CommandItem).verb), ['RCPT', 'RCPT', 'RCPT', 'DATA', 'QUIT'])
})

test('a DATA terminator split across chunks still ends the message', () => {
  const t = parseTranscript('S: 220 x\nC: EHLO a\nS: 250 x\nC: MAIL FROM:<a@b>\nS: 250 ok\nC: RCPT TO:<c@d>\nS: 250 ok\nC: DATA\nS: 354 go\nC: hola\nC: .\nS: 250 queued\n')
  const dataTurn = t.steps.findIndex((s) => s.kind === 'data' && s.bytes.toString().startsWith('hola'))
  // Cut inside '\r\n.\r\n': after the CR, after the LF, after the dot.
  for (const cut of [5, 6, 7]) {
    const r = replay(factory, t, (i, b) => (i === dataTurn ? [b.subarray(0, cut), b.subarray(cut)] : [b]))
    assert.equal(r.messages.length, 1)
    assert.equal(r.messages[0].bytes.toString(), 'hola\r\n')
    assert.equal(r.messages[0].complete, true)
    const last = r.decoded.at(-1)!.item as ReplyItem
    assert.equal(last.code, '250')
  }
})

test('a large DATA body streams to the sink as it arrives instead of piling up', () => {
  const { sink, messages } = captureSinkCounting()
  const d = createSmtpDecoder({ messages: sink })
  d.feed('server', Buffer.from('220 x\r\n'), 1)
  d.feed('client', Buffer.from('EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'), 2)
  d.feed('server', Buffer.from('250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n'), 3)
  const line = Buffer.from('A'.repeat(74) + '\r\n')
  const chunk = Buffer.concat(Array.from({ length: 1000 }, () => line)) // 76 kB
  let fed = 0
  for (let i = 0; i < 300; i++) {
    d.feed('client', chunk, 4)
    fed += chunk.length
    // Everything but a few bytes held for a possible terminator is already out.
    assert.ok(fed - messages.bytes <= 4, `held back ${fed - messages.bytes} bytes`)
  }
  const out = d.feed('client', Buffer.from('.\r\n'), 5)
  assert.equal(messages.bytes, fed)
  assert.ok(out.some((x) => x.item?.kind === 'message' && x.item.size === fed))
})

test('a 100 MB line without an end is cut off, noted once, and decoding resumes after it', () => {
  const d = createSmtpDecoder({ maxLineBytes: 4096 })
  d.feed('server', Buffer.from('220 x\r\n'), 1)
  const junk = Buffer.alloc(1024 * 1024, 0x41)
  let out: Decoded[] = []
  for (let i = 0; i < 100; i++) out.push(...d.feed('client', junk, 2))
  assert.equal(out.length, 0)
  out = d.feed('client', Buffer.from('\r\nNOOP\r\n'), 3)
  assert.equal(out[0].item?.kind, 'opaque')
  assert.equal(out[0].raw?.length, 100 * 1024 * 1024 + 2)
  assert.deepEqual(codes(out.slice(0, 1)), ['SMTP_LINE_TOO_LONG'])
  assert.equal((out[1].item as CommandItem).verb, 'NOOP')
})

test('the STARTTLS go-ahead is reported and after the upgrade the client must EHLO again', () => {
  const d = createSmtpDecoder()
  d.feed('server', Buffer.from('220 x\r\n'), 1)
  d.feed('client', Buffer.from('EHLO a\r\n'), 2)
  d.feed('server', Buffer.from('250-x\r\n250 STARTTLS\r\n'), 3)
  d.feed('client', Buffer.from('STARTTLS\r\n'), 4)
  const goAhead = d.feed('server', Buffer.from('220 2.0.0 Ready\r\n'), 5)
  assert.ok(goAhead.some((x) => x.item?.kind === 'tls' && x.item.phase === 'go-ahead'))
  d.upgraded!(6)
  const mail = d.feed('client', Buffer.from('MAIL FROM:<a@b>\r\n'), 7)
  assert.ok(codes(mail).includes('SMTP_OUT_OF_SEQUENCE'))
})

test('a refused STARTTLS keeps decoding commands in the clear', () => {
  const d = createSmtpDecoder()
  d.feed('server', Buffer.from('220 x\r\n'), 1)
  d.feed('client', Buffer.from('EHLO a\r\n'), 2)
  d.feed('server', Buffer.from('250 x\r\n'), 3)
  d.feed('client', Buffer.from('STARTTLS\r\n'), 4)
  const refused = d.feed('server', Buffer.from('454 4.7.0 TLS not available due to local problem\r\n'), 5)
  assert.ok(codes(refused).includes('SMTP_TLS_UNAVAILABLE'))
  assert.ok(!refused.some((x) => x.item?.kind === 'tls'))
  const next = d.feed('client', Buffer.from('QUIT\r\n'), 6)
  assert.equal((next[0].item as CommandItem).verb, 'QUIT')
})

test('bytes pipelined after STARTTLS are flagged as injection and never decoded as commands', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'starttls-injection.txt')))
  assert.ok(!items(decoded, 'command').some((d) => (d.item as CommandItem).verb === 'RSET'))
  const injected = decoded.find((d) => d.notes?.some((n) => n.code === 'STARTTLS_INJECTION'))!
  assert.equal(injected.from, 'client')
  assert.equal(injected.item?.kind, 'opaque')
})

test('a TLS ClientHello on a plaintext port turns the rest of the session opaque', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'tls-clienthello.txt')))
  assert.ok(codes(decoded).includes('TLS_ON_PLAINTEXT_PORT'))
  assert.equal(items(decoded, 'command').length, 0)
  assert.deepEqual(items(decoded, 'opaque').map((d) => d.from), ['client', 'server'])
})

test('a BDAT chunk is taken by its byte count even when it contains CRLF.CRLF', () => {
  const body = 'a\r\n.\r\nb\r\n'
  const t = parseTranscript(`S: 220 x\nC: EHLO a\nS: 250-x\nS: 250 CHUNKING\nC: MAIL FROM:<a@b>\nS: 250 ok\nC: RCPT TO:<c@d>\nS: 250 ok\nC: BDAT ${body.length} LAST\nC~ ${body.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}\nC: QUIT\nS: 250 ok\nS: 221 bye\n`)
  const { decoded, messages } = replay(factory, t)
  assert.equal(messages[0].bytes.toString(), body)
  assert.equal((items(decoded, 'command').at(-1)!.item as CommandItem).verb, 'QUIT')
})

test('invalid base64 in an AUTH response is shown as invalid, never thrown', () => {
  const d = createSmtpDecoder()
  d.feed('server', Buffer.from('220 x\r\n'), 1)
  d.feed('client', Buffer.from('EHLO a\r\n'), 2)
  d.feed('server', Buffer.from('250 x\r\n'), 3)
  d.feed('client', Buffer.from('AUTH LOGIN\r\n'), 4)
  d.feed('server', Buffer.from('334 VXNlcm5hbWU6\r\n'), 5)
  const out = d.feed('client', Buffer.from('not base64 at all!\r\n'), 6)
  const auth = out[0].item as AuthItem
  assert.equal(auth.valid, false)
  assert.equal(auth.decoded, '•••')
  assert.ok(codes(out).includes('AUTH_INVALID_BASE64'))
})

test('credentials before STARTTLS on a server that offers it are flagged AUTH_CLEARTEXT', () => {
  const d = createSmtpDecoder()
  d.feed('server', Buffer.from('220 x\r\n'), 1)
  d.feed('client', Buffer.from('EHLO a\r\n'), 2)
  d.feed('server', Buffer.from('250-x\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n'), 3)
  const out = d.feed('client', Buffer.from('AUTH PLAIN AGFsaWNlAHNlY3JldG8=\r\n'), 4)
  assert.ok(codes(out).includes('AUTH_CLEARTEXT'))
  assert.equal((out[0].item as CommandItem).line, 'AUTH PLAIN •••')
})

test('LMTP expects one reply per accepted recipient after the data', () => {
  const t = parseTranscript('S: 220 lmtp\nC: LHLO a\nS: 250 x\nC: MAIL FROM:<a@b>\nS: 250 ok\nC: RCPT TO:<c@d>\nS: 250 ok\nC: RCPT TO:<e@f>\nS: 250 ok\nC: DATA\nS: 354 go\nC: x\nC: .\nS: 250 2.0.0 <c@d> saved\nS: 452 4.2.2 <e@f> over quota\nC: QUIT\nS: 221 bye\n')
  const { decoded } = replay(factory, t)
  assert.ok(!codes(decoded).includes('SMTP_UNSOLICITED_REPLY'))
  const quitReply = decoded.filter((d) => d.item?.kind === 'reply').at(-1)!
  assert.equal((quitReply.item as ReplyItem).code, '221')
  assert.equal(decoded.find((d) => d.ref === quitReply.replyToRef)?.item?.kind, 'command')
})

test('the connection closing in the middle of DATA closes the message as incomplete', () => {
  const d = createSmtpDecoder({ messages: captureSink().sink })
  d.feed('server', Buffer.from('220 x\r\n'), 1)
  d.feed('client', Buffer.from('EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'), 2)
  d.feed('server', Buffer.from('250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n'), 3)
  d.feed('client', Buffer.from('Subject: cut\r\n\r\nhalf'), 4)
  const out = d.end('client', 5)
  const msg = out.find((x) => x.item?.kind === 'message')!
  assert.equal(msg.item?.kind === 'message' && msg.item.complete, false)
  assert.ok(codes(out).includes('SMTP_BODY_CUT'))
})

test('replies carry the latency since their command', () => {
  const d = createSmtpDecoder()
  d.feed('server', Buffer.from('220 x\r\n'), 1000)
  d.feed('client', Buffer.from('EHLO a\r\n'), 1000.25)
  const [reply] = d.feed('server', Buffer.from('250 x\r\n'), 1042.75)
  assert.equal((reply.item as ReplyItem).latencyMs, 42.5)
})

/** A sink that only counts bytes (a big body is never kept). */
function captureSinkCounting() {
  const messages = { bytes: 0 }
  return {
    messages,
    sink: {
      open() {
        return {
          write(b: Uint8Array) {
            messages.bytes += b.length
          },
          close() {},
        }
      },
    },
  }
}

test('a message line over 1000 bytes is flagged on the end of the data, 998 plus CRLF is not', () => {
  for (const [len, flagged] of [[998, false], [999, true], [5000, true]] as const) {
    const t = parseTranscript(`S: 220 x\nC: EHLO a\nS: 250 x\nC: MAIL FROM:<a@b>\nS: 250 ok\nC: RCPT TO:<c@d>\nS: 250 ok\nC: DATA\nS: 354 go\nC: Subject: long\nC: \nC: ${'x'.repeat(len)}\nC: .\nS: 250 queued\n`)
    for (const chunking of [undefined, (_i: number, b: Buffer) => [b.subarray(0, 500), b.subarray(500, 1001), b.subarray(1001)]]) {
      const { decoded } = replay(factory, t, chunking)
      const end = decoded.find((d) => d.item?.kind === 'body' && d.item.phase === 'end')!
      assert.equal(codes([end]).includes('SMTP_LINE_TOO_LONG'), flagged, `line of ${len}`)
    }
  }
})

test('an AUTH initial response followed by spaces is still masked whole', () => {
  const d = createSmtpDecoder()
  d.feed('server', Buffer.from('220 x\r\n'), 1)
  d.feed('client', Buffer.from('EHLO a\r\n'), 2)
  d.feed('server', Buffer.from('250 x\r\n'), 3)
  const [cmd] = d.feed('client', Buffer.from('AUTH PLAIN AGFsaWNlAHNlY3JldG8=   \r\n'), 4)
  assert.equal((cmd.item as CommandItem).line, 'AUTH PLAIN •••   ')
})

test('a message over the SIZE the server announced, or over the SIZE= declared, is noted', () => {
  const t = parseTranscript('S: 220 x\nC: EHLO a\nS: 250-x\nS: 250 SIZE 20\nC: MAIL FROM:<a@b> SIZE=10\nS: 250 ok\nC: RCPT TO:<c@d>\nS: 250 ok\nC: DATA\nS: 354 go\nC: Subject: more than twenty bytes\nC: .\nS: 552 5.3.4 Message size exceeds fixed limit\n')
  const { decoded } = replay(factory, t)
  const end = decoded.find((d) => d.item?.kind === 'body' && d.item.phase === 'end')!
  assert.deepEqual(codes([end]), ['SMTP_MESSAGE_OVER_SIZE', 'SMTP_SIZE_UNDERSTATED'])
  assert.ok(codes(decoded).includes('SMTP_MESSAGE_TOO_BIG'))
})

test('plaintext a server sends right after its STARTTLS go-ahead is flagged as injection', () => {
  const d = createSmtpDecoder()
  d.feed('server', Buffer.from('220 x\r\n'), 1)
  d.feed('client', Buffer.from('EHLO a\r\n'), 2)
  d.feed('server', Buffer.from('250-x\r\n250 STARTTLS\r\n'), 3)
  d.feed('client', Buffer.from('STARTTLS\r\n'), 4)
  const out = [...d.feed('server', Buffer.from('220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n'), 5), ...d.upgraded!(6)]
  const flagged = out.find((x) => x.notes?.some((n) => n.code === 'STARTTLS_INJECTION'))
  assert.equal(flagged?.from, 'server')
  assert.equal(out.filter((x) => x.item?.kind === 'reply').length, 1)
})

test('on an implicit-TLS port credentials are never reported as cleartext', () => {
  for (const [implicitTls, flagged] of [[false, true], [true, false]] as const) {
    const d = createSmtpDecoder({ implicitTls })
    d.feed('server', Buffer.from('220 x\r\n'), 1)
    d.feed('client', Buffer.from('EHLO a\r\n'), 2)
    d.feed('server', Buffer.from('250-x\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n'), 3)
    const out = d.feed('client', Buffer.from('AUTH PLAIN AGFsaWNlAHNlY3JldG8=\r\n'), 4)
    assert.equal(codes(out).includes('AUTH_CLEARTEXT'), flagged)
  }
})

// Incomplete captures and hand-written transcripts: replies pair around the gaps.

/** Each command's verb with the code of the reply paired to it. */
function pairing(decoded: Decoded[]): [string, string | undefined][] {
  const replies = new Map(decoded.filter((d) => d.item?.kind === 'reply' && d.replyToRef !== undefined).map((d) => [d.replyToRef!, (d.item as ReplyItem).code]))
  return decoded.filter((d) => d.item?.kind === 'command').map((d) => [(d.item as CommandItem).verb, replies.get(d.ref!)])
}

test('a client that talks before the 220 greeting is an early talker, and its HELO pairs with the next reply', () => {
  const t = parseTranscript('C: HELO a\nS: 220 x ESMTP\nS: 250 x\nC: QUIT\nS: 221 bye\n')
  const { decoded } = replay(factory, t)
  const greeting = decoded.find((d) => d.item?.kind === 'reply' && (d.item as ReplyItem).code === '220')!
  assert.equal(greeting.replyToRef, undefined)
  assert.deepEqual(codes([greeting]), ['SMTP_EARLY_TALKER'])
  assert.deepEqual(pairing(decoded), [['HELO', '250'], ['QUIT', '221']])
  assert.ok(!codes(decoded).includes('SMTP_NO_GREETING'))
})

test('a first reply that is no greeting code answers the first command: the greeting was not captured', () => {
  const { decoded } = replay(factory, parseTranscript('C: EHLO a\nS: 250-x\nS: 250 PIPELINING\nC: NOOP\nS: 250 ok\n'))
  assert.deepEqual(pairing(decoded), [['EHLO', '250'], ['NOOP', '250']])
  assert.deepEqual(codes(decoded), ['SMTP_NO_GREETING'])
  const ehlo = decoded.find((d) => d.replyToRef === 1)!.item as ReplyItem
  assert.deepEqual(ehlo.capabilities?.map((c) => c.name), ['PIPELINING'])
})

test('AUTH LOGIN without its 334 prompts and 235 takes two answers, then MAIL is a command paired with its 250', () => {
  const t = parseTranscript('S: 220 x\nC: EHLO a\nS: 250 x\nC: AUTH LOGIN\nC: YWxpY2U=\nC: c2VjcmV0bw==\nC: MAIL FROM:<a@b>\nS: 250 2.1.0 Ok\nC: RCPT TO:<c@d>\nS: 250 2.1.5 Ok\n')
  const { decoded } = replay(factory, t)
  const auth = items(decoded, 'auth').map((d) => d.item as AuthItem)
  assert.deepEqual(auth.map((a) => [a.step, a.decoded]), [['start', undefined], ['response', 'user=alice'], ['response', 'password=•••']])
  assert.deepEqual(pairing(decoded), [['EHLO', '250'], ['AUTH', undefined], ['MAIL', '250'], ['RCPT', '250']])
  assert.ok(codes(decoded).includes('SMTP_AUTH_UNANSWERED'))
  assert.ok(!codes(decoded).includes('AUTH_INVALID_BASE64'))
  assert.ok(!codes(decoded).includes('SMTP_NO_REPLY'))
})

test('after both LOGIN answers even a word that is valid base64 (QUIT) is the next command', () => {
  const t = parseTranscript('S: 220 x\nC: EHLO a\nS: 250 x\nC: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: YWxpY2U=\nS: 334 UGFzc3dvcmQ6\nC: c2VjcmV0bw==\nC: QUIT\nS: 221 bye\n')
  const { decoded } = replay(factory, t)
  assert.deepEqual(pairing(decoded), [['EHLO', '250'], ['AUTH', undefined], ['QUIT', '221']])
  assert.equal(items(decoded, 'auth').filter((d) => (d.item as AuthItem).step === 'response').length, 2)
  assert.ok(codes(decoded).includes('SMTP_AUTH_UNANSWERED'))
})

test('a line the server prompted for with 334 is a SASL answer even when it reads like a command', () => {
  const t = parseTranscript('S: 220 x\nC: EHLO a\nS: 250 x\nC: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: MAIL FROM:<a@b>\nS: 501 5.5.2 Cannot decode response\nC: QUIT\nS: 221 bye\n')
  const { decoded } = replay(factory, t)
  assert.deepEqual(pairing(decoded), [['EHLO', '250'], ['AUTH', undefined], ['QUIT', '221']])
  const outcome = items(decoded, 'auth').map((d) => d.item as AuthItem).find((a) => a.step === 'outcome')
  assert.equal(outcome?.outcome, 'failure')
  assert.ok(codes(decoded).includes('AUTH_INVALID_BASE64'))
})

test('MAIL pipelined after AUTH PLAIN with an initial response is a command, and the 235 still ends the login', () => {
  const t = parseTranscript('S: 220 x\nC: EHLO a\nS: 250-x\nS: 250-PIPELINING\nS: 250 AUTH PLAIN\nC: AUTH PLAIN AGFsaWNlAHNlY3JldG8=\nC: MAIL FROM:<a@b>\nS: 235 2.7.0 Authentication successful\nS: 250 2.1.0 Ok\n')
  const { decoded } = replay(factory, t)
  assert.deepEqual(pairing(decoded), [['EHLO', '250'], ['AUTH', '235'], ['MAIL', '250']])
  const outcome = items(decoded, 'auth').map((d) => d.item as AuthItem).find((a) => a.step === 'outcome')
  assert.deepEqual([outcome?.outcome, outcome?.user], ['success', 'alice'])
  assert.deepEqual(codes(decoded).filter((c) => c.startsWith('SMTP_')), [])
  const mailReply = decoded.find((d) => d.replyToRef === 3)!.item as ReplyItem
  assert.equal(mailReply.state, 'mail')
})

test('a 354 while RCPT still waits for its 250 answers DATA, and RCPT is noted as unanswered', () => {
  const t = parseTranscript('S: 220 x\nC: EHLO a\nS: 250 x\nC: MAIL FROM:<a@b>\nS: 250 ok\nC: RCPT TO:<c@d>\nC: DATA\nS: 354 go\nC: hola\nC: .\nS: 250 queued\n')
  const { decoded, messages } = replay(factory, t)
  assert.deepEqual(pairing(decoded), [['EHLO', '250'], ['MAIL', '250'], ['RCPT', undefined], ['DATA', '354']])
  assert.ok(codes(decoded).includes('SMTP_REPLY_MISSING'))
  assert.equal(messages[0]?.bytes.toString(), 'hola\r\n')
})

test('an error reply never skips ahead: a 535 answers the AUTH that waits, not the MAIL after it', () => {
  const t = parseTranscript('S: 220 x\nC: EHLO a\nS: 250 x\nC: AUTH PLAIN AGFsaWNlAHdyb25n\nC: MAIL FROM:<a@b>\nS: 535 5.7.8 Authentication failed\nS: 530 5.7.0 Authentication required\n')
  const { decoded } = replay(factory, t)
  assert.deepEqual(pairing(decoded), [['EHLO', '250'], ['AUTH', '535'], ['MAIL', '530']])
  assert.ok(!codes(decoded).includes('SMTP_AUTH_UNANSWERED'))
})

test('a positive reply that fits no waiting command pairs with the oldest one, as before', () => {
  const t = parseTranscript('S: 220 x\nC: EHLO a\nS: 250 x\nC: QUIT\nS: 250 closing anyway\n')
  const { decoded } = replay(factory, t)
  assert.deepEqual(pairing(decoded), [['EHLO', '250'], ['QUIT', '250']])
  assert.ok(!codes(decoded).includes('SMTP_REPLY_MISSING'))
})

test('BDAT chunks are summed for SIZE: each limit is noted once, on the chunk that takes the message past it', () => {
  const { decoded } = replay(factory, loadTranscript(join(dir, 'bdat-size.txt')))
  const chunkEnds = decoded.filter((d) => d.item?.kind === 'body' && d.item.phase === 'end')
  assert.equal(chunkEnds.length, 2)
  assert.deepEqual(chunkEnds.map((d) => d.notes?.map((n) => n.code) ?? []), [['SMTP_SIZE_UNDERSTATED'], ['SMTP_MESSAGE_OVER_SIZE']])
  assert.match(chunkEnds[1].notes![0].text, /30 bytes, over the 25/)
})
