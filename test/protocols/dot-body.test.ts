// LineFramer.readDotBody against a plain reference: random bodies made of dots, CR, LF
// and letters (dots at line starts, inside lines, runs of them, bare LFs), cut into random
// chunks, give the reference's unstuffed bytes, terminator and bare-LF flag.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { LineFramer } from '../../proxy/protocols/lines.ts'
import { cutAt } from '../helpers/transcript.ts'

const runs = Number(process.env.FUZZ_RUNS ?? 300)
const seed = Number(process.env.FUZZ_SEED ?? 20261126)

/** Line by line, as RFC 5321 4.5.2 reads it (bare LF ends a line too). */
function reference(wire: string): { body: string; end: number; bareLf: boolean } | { body: string; end: -1 } {
  let body = ''
  let pos = 0
  let prevBareLf = false
  while (pos < wire.length) {
    const lf = wire.indexOf('\n', pos)
    if (lf < 0) break
    const line = wire.slice(pos, lf + 1)
    if (line === '.\r\n' || line === '.\n') return { body, end: lf + 1, bareLf: line === '.\n' || prevBareLf }
    body += line.startsWith('.') ? line.slice(1) : line
    prevBareLf = lf === 0 ? true : wire[lf - 1] !== '\r'
    pos = lf + 1
  }
  return { body, end: -1 }
}

test('readDotBody unstuffs like the line-by-line reference, however the body is cut', () => {
  const piece = fc.constantFrom('.', '.', '\r\n', '\r\n', '\n', 'a', 'bc', '\r', '..', '\r\n.\r\n')
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 8 }), (pieces, cuts) => {
      const wire = Buffer.from(pieces.join('') + '\r\n.\r\n', 'latin1')
      const want = reference(wire.toString('latin1'))
      const chunks = cutAt(wire, cuts)
      const f = new LineFramer()
      f.startDotBody()
      const out: Buffer[] = []
      let done: { consumed: number; bareLf: boolean } | undefined
      let consumed = 0
      for (const c of chunks) {
        if (done) break
        f.push(c)
        for (let p = f.readDotBody(); p; p = f.readDotBody()) {
          out.push(...p.parts.map((x) => Buffer.from(x)))
          consumed += p.length
          if (p.done) {
            done = { consumed, bareLf: p.bareLf === true }
            break
          }
        }
      }
      assert.ok(done, 'the terminator is found')
      assert.equal(Buffer.concat(out).toString('latin1'), want.body)
      assert.ok(want.end >= 0)
      assert.equal(done.consumed, want.end)
      if (want.end >= 0 && 'bareLf' in want) assert.equal(done.bareLf, want.bareLf)
    }),
    { numRuns: runs, seed },
  )
})
