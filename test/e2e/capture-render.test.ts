// The capture tool (test/fixtures/capture.ts) writes what mailtap forwarded as transcript
// lines; read back by test/helpers/transcript.ts they must give the very same bytes, turns,
// sides and times, whatever the bytes were: a fixture is a record of the wire.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { Side } from '../../shared/schema.ts'
import { renderChunk, renderTurns, type Entry } from '../fixtures/capture.ts'
import { parseTranscript, T0 } from '../helpers/transcript.ts'

/** Bytes that look like mail protocol traffic: text lines, CR/LF in odd places, tabs, blanks, UTF-8, binary. */
const wireBytes = fc
  .array(
    fc.oneof(
      fc.constantFrom('\r\n', '\n', '\r', '\t', ' ', '  ', '\\', '\\x41', 'S: ', '# ', '---', '== upgraded', '@ 5', 'ñá€😀', '.'),
      fc.string({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b).toString('latin1')),
    ),
    { maxLength: 20 },
  )
  .map((parts) => Buffer.concat(parts.map((p) => (/^[\x00-\xff]*$/.test(p) && /[\x80-\xff]/.test(p) ? Buffer.from(p, 'latin1') : Buffer.from(p, 'utf8')))))

const side = fc.constantFrom<Side>('client', 'server')

test('any chunk written by the capture tool reads back as exactly the same bytes', () => {
  fc.assert(
    fc.property(side, wireBytes, (s, bytes) => {
      fc.pre(bytes.length > 0)
      const t = parseTranscript(renderChunk(s, bytes).join('\n') + '\n')
      assert.equal(t.steps.length, 1)
      const step = t.steps[0]
      assert.ok(step.kind === 'data')
      assert.equal(step.side, s)
      assert.deepEqual([...step.bytes], [...bytes])
    }),
    { seed: 20261126, numRuns: 500 },
  )
})

test('a captured session reads back turn by turn: sides, same-side reads kept apart, upgrades and times', () => {
  const entry = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('data' as const), side, bytes: wireBytes.filter((b) => b.length > 0), gapMs: fc.nat(50) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('upgraded' as const), gapMs: fc.nat(50) }) },
  )
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 12 }), (drafts) => {
      const startedAt = 1_795_680_000_000.25
      let at = startedAt
      const entries: Entry[] = drafts.map((d) => {
        at += d.gapMs + 0.4
        return d.kind === 'data' ? { kind: 'data', side: d.side, bytes: d.bytes, at } : { kind: 'upgraded', at }
      })
      const t = parseTranscript(renderTurns(entries, startedAt).join('\n') + '\n')
      assert.equal(t.steps.length, entries.length, 'one step per read or upgrade')
      t.steps.forEach((step, i) => {
        const e = entries[i]
        assert.equal(step.kind, e.kind)
        assert.equal(step.at, T0 + Math.round(e.at - startedAt))
        if (step.kind === 'data' && e.kind === 'data') {
          assert.equal(step.side, e.side)
          assert.deepEqual([...step.bytes], [...e.bytes])
        }
      })
    }),
    { seed: 20261126, numRuns: 300 },
  )
})

test('clean CRLF lines are written as plain C:/S: lines, the rest escaped', () => {
  assert.deepEqual(renderChunk('server', Buffer.from('+OK 2 messages\r\n1 120\r\n\tfolded\r\n\r\n.\r\n')), ['S: +OK 2 messages', 'S: 1 120', 'S: \tfolded', 'S:', 'S: .'])
  assert.deepEqual(renderChunk('client', Buffer.from('A1 LOGIN x y')), ['C~ A1 LOGIN x y'])
  assert.deepEqual(renderChunk('server', Buffer.from('+ \r\n')), ['S~ + \\r\\n'], 'a blank before CRLF stays inside the escapes')
  assert.deepEqual(renderChunk('client', Buffer.from('DONE  ')), ['C~ DONE\\x20\\x20'], 'a blank at the end of the line is made visible')
  assert.deepEqual(renderChunk('server', Buffer.from('😀')), ['S~ \\xf0\\x9f\\x98\\x80'], 'astral characters as bytes')
  assert.deepEqual(renderChunk('client', Buffer.from([0x16, 0x03, 0x01, 0x5c, 0x0a])), ['C~ \\x16\\x03\\x01\\\\\\n'])
})
