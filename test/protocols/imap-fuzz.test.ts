// Bounded fuzzing of the IMAP decoder over mutated fixtures (fixed seed in CI; set
// FUZZ_RUNS for a longer run): it never throws, and its output stays bounded.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { it } from 'node:test'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import type { Side } from '../../shared/schema.ts'
import { createImapDecoder } from '../../proxy/protocols/imap.ts'
import { captureSink, loadTranscript, normalise, replay, transcriptBytes, type Transcript } from '../helpers/transcript.ts'

const dir = fileURLToPath(new URL('../fixtures/imap/', import.meta.url))
const transcripts = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort().map((f) => loadTranscript(join(dir, f)))

/** One mutation of a byte string: flip, insert, delete or splice in IMAP-ish tokens. */
const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('flip', 'insert', 'delete', 'token'),
  byte: fc.integer({ min: 0, max: 255 }),
  token: fc.constantFrom('{', '}', '{5}\r\n', '{0}', '{4294967296}\r\n', '~{3}\r\n', '{2+}\r\n', '(', ')', '"', '\\', '[', ']', '\r\n', '\n', '* ', '+ ', 'x OK ', 'a COMPRESS DEFLATE\r\n', 'a OK\r\n', '\x16\x03'),
})

it('survives mutated fixtures without throwing, with bounded output', () => {
  fc.assert(
    fc.property(fc.nat({ max: transcripts.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 8 }), fc.array(fc.nat({ max: 64 }), { maxLength: 6 }), (ti, muts, cuts) => {
      const t = transcripts[ti]
      const steps = t.steps.filter((s) => s.kind === 'data') as { side: Side; bytes: Buffer; at: number }[]
      const mutated = steps.map((s) => ({ ...s, bytes: Buffer.from(s.bytes) }))
      for (const m of muts) {
        const s = mutated[m.at % mutated.length]
        const pos = s.bytes.length ? m.at % s.bytes.length : 0
        if (m.op === 'flip' && s.bytes.length) s.bytes[pos] = m.byte
        else if (m.op === 'insert') s.bytes = Buffer.concat([s.bytes.subarray(0, pos), Buffer.from([m.byte]), s.bytes.subarray(pos)])
        else if (m.op === 'delete') s.bytes = Buffer.concat([s.bytes.subarray(0, pos), s.bytes.subarray(pos + 1)])
        else s.bytes = Buffer.concat([s.bytes.subarray(0, pos), Buffer.from(m.token, 'latin1'), s.bytes.subarray(pos)])
      }
      const { sink } = captureSink()
      const dec = createImapDecoder({ messages: sink, maxLineBytes: 4096 })
      let events = 0
      let total = 0
      for (const s of mutated) {
        total += s.bytes.length
        let from = 0
        for (const c of cuts) {
          const to = Math.min(s.bytes.length, from + c)
          events += dec.feed(s.side, s.bytes.subarray(from, to), s.at).length
          from = to
        }
        events += dec.feed(s.side, s.bytes.subarray(from), s.at).length
      }
      events += dec.end('client', 1e6).length + dec.end('server', 1e6).length
      // Each event needs at least a few bytes of input (a line, a literal header).
      assert.ok(events <= 4 * total + 20, `${events} events from ${total} bytes`)
    }),
    { seed: 20261126, numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
  )
  assert.ok(transcripts.length > 5 && transcripts.every((t) => transcriptBytes(t) > 0))
})

it('gives the same output for mutated fixtures wherever TCP splits them', () => {
  fc.assert(
    fc.property(fc.nat({ max: transcripts.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.array(fc.nat({ max: 4096 }), { minLength: 1, maxLength: 6 }), (ti, muts, cuts) => {
      const t = transcripts[ti]
      const steps = t.steps.map((s) => (s.kind === 'data' ? { ...s, bytes: Buffer.from(s.bytes) } : s))
      const data = steps.filter((s) => s.kind === 'data') as { bytes: Buffer }[]
      for (const m of muts) {
        const s = data[m.at % data.length]
        const pos = s.bytes.length ? m.at % s.bytes.length : 0
        if (m.op === 'flip' && s.bytes.length) s.bytes[pos] = m.byte
        else if (m.op === 'delete') s.bytes = Buffer.concat([s.bytes.subarray(0, pos), s.bytes.subarray(pos + 1)])
        else {
          const ins = m.op === 'insert' ? Buffer.from([m.byte]) : Buffer.from(m.token, 'latin1')
          s.bytes = Buffer.concat([s.bytes.subarray(0, pos), ins, s.bytes.subarray(pos)])
        }
      }
      const mutated: Transcript = { name: `${t.name} (mutated)`, steps }
      const whole = JSON.stringify(normalise(replay(createImapDecoder, mutated)))
      const split = normalise(
        replay(createImapDecoder, mutated, (_i, b) => {
          const out: Buffer[] = []
          let from = 0
          for (const c of cuts) {
            const to = Math.min(b.length, from + c)
            out.push(b.subarray(from, to))
            from = to
          }
          out.push(b.subarray(from))
          return out
        }),
      )
      assert.equal(JSON.stringify(split), whole)
    }),
    { seed: 20261127, numRuns: Number(process.env.FUZZ_RUNS ?? 150) },
  )
})
