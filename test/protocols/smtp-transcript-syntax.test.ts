// The transcript fixture syntax every decoder test relies on (test/helpers/transcript.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseTranscript, replay, replayAllSplits, T0 } from '../helpers/transcript.ts'
import { createSmtpDecoder } from '../../proxy/protocols/smtp.ts'

test('C:/S: lines get CRLF, same-side lines form one turn, and each turn is 1 ms later', () => {
  const t = parseTranscript('# comment\nS: 220 x\nC: EHLO a\nC: NOOP\nS: 250 x\n')
  assert.deepEqual(
    t.steps.map((s) => (s.kind === 'data' ? [s.side, s.at, s.bytes.toString()] : [s.kind])),
    [['server', T0, '220 x\r\n'], ['client', T0 + 1, 'EHLO a\r\nNOOP\r\n'], ['server', T0 + 2, '250 x\r\n']],
  )
})

test('C~ lines take escapes and no CRLF; @ sets times; --- splits turns; == runs actions', () => {
  const t = parseTranscript('S~ a\\r\\nb\\x00\\\\\n@ 500\nC: x\n---\nC: y\n@ +10\n== upgraded\n== end client\n')
  const [s, c1, c2, up, end] = t.steps
  assert.ok(s.kind === 'data' && s.bytes.equals(Buffer.from('a\r\nb\x00\\', 'latin1')))
  assert.equal(c1.at, T0 + 500)
  assert.equal(c2.at, T0 + 501)
  assert.deepEqual([up.kind, up.at], ['upgraded', T0 + 511])
  assert.deepEqual(end, { kind: 'end', side: 'client', at: T0 + 512 })
})

test('an unknown directive is an error, not silently ignored', () => {
  assert.throws(() => parseTranscript('X: what\n'), /cannot parse/)
})

test('replayAllSplits notices a decoder whose output depends on chunking', () => {
  const t = parseTranscript('S: 220 x\nC: NOOP\n')
  // A broken decoder: one event per feed call.
  const chunky = () => ({ feed: (_s: 'client' | 'server', b: Uint8Array, at: number) => [{ from: 'client' as const, at, raw: { side: 'client' as const, offset: 0, length: b.length } }], end: () => [] })
  assert.throws(() => replayAllSplits(chunky, t), /different output/)
  assert.doesNotThrow(() => replayAllSplits((o) => createSmtpDecoder(o), t))
  // Both sides are ended after the last step: the unanswered NOOP is noted.
  const { decoded } = replay((o) => createSmtpDecoder(o), t)
  assert.deepEqual(decoded.at(-1)?.notes?.map((n) => n.code), ['SMTP_NO_REPLY'])
})
