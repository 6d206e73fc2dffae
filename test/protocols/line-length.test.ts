// LineLengthCheck (a line of message text over the RFC limit) against a byte-by-byte
// reference: random texts, evenly spaced lines (where it reads one byte per probe) and
// irregular ones, each with a planted long or short line, cut into random chunks.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { LineLengthCheck } from '../../proxy/protocols/lines.ts'
import { cutAt } from '../helpers/transcript.ts'

const runs = Number(process.env.FUZZ_RUNS ?? 300)
const seed = Number(process.env.FUZZ_SEED ?? 20261126)

/** True when a line, its LF included, is longer than `limit`; an open last line counts with the CRLF it lacks. */
function reference(text: Buffer, limit: number): boolean {
  let run = 0
  for (const b of text) {
    run++
    if (b === 0x0a) {
      if (run > limit) return true
      run = 0
    }
  }
  return run > limit - 1
}

function check(chunks: Buffer[], limit: number): boolean {
  const c = new LineLengthCheck(limit)
  for (const chunk of chunks) c.scan(chunk)
  return c.tooLong
}

test('evenly spaced lines with one changed: the same answer as the byte-by-byte reference, however cut', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 4, max: 60 }), // limit
      fc.integer({ min: 1, max: 70 }), // spacing of the LFs
      fc.integer({ min: 0, max: 2000 }), // length
      fc.option(fc.tuple(fc.nat(), fc.boolean())), // a byte made LF, or made not LF
      fc.array(fc.nat(), { maxLength: 12 }),
      (limit, spacing, length, planted, cuts) => {
        const text = Buffer.alloc(length, 'A')
        for (let i = spacing - 1; i < length; i += spacing) text[i] = 0x0a
        if (planted && length > 0) text[planted[0] % length] = planted[1] ? 0x0a : 0x41
        assert.equal(check(cutAt(text, cuts), limit), reference(text, limit))
      },
    ),
    { seed, numRuns: runs },
  )
})

test('irregular lines: the same answer as the byte-by-byte reference, however cut', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 4, max: 60 }),
      fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 60 }), // line lengths
      fc.boolean(), // ends with an open line
      fc.array(fc.nat(), { maxLength: 12 }),
      (limit, lengths, open, cuts) => {
        const text = Buffer.from(lengths.map((n) => 'x'.repeat(n) + '\n').join('') + (open ? 'tail' : ''))
        assert.equal(check(cutAt(text, cuts), limit), reference(text, limit))
      },
    ),
    { seed, numRuns: runs },
  )
})

test('a base64 body of 76-character lines passes at the SMTP limit; one line of 999 characters does not', () => {
  const line = 'QUFB'.repeat(19) + '\r\n'
  const body = Buffer.from(line.repeat(5000))
  const chunks = cutAt(body, [65536, 131072, 200001, 300000])
  assert.equal(check(chunks, 1000), false)
  const long = Buffer.from(line.repeat(2500) + 'Q'.repeat(999) + '\r\n' + line.repeat(2500))
  assert.equal(reference(long, 1000), true)
  assert.equal(check(cutAt(long, [65536, 131072]), 1000), true)
  // 998 characters and CRLF is exactly 1000: allowed.
  const edge = Buffer.from(line.repeat(2500) + 'Q'.repeat(998) + '\r\n' + line.repeat(2500))
  assert.equal(check(cutAt(edge, [65536, 131072]), 1000), false)
})
