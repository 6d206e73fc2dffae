// Fuzzing the SMTP and POP3 decoders with fast-check: mutated fixtures and random bytes,
// cut into random chunks. No input may make a decoder throw, and the output stays bounded
// and points inside the bytes that were fed. Fixed seed by default; FUZZ_RUNS=n for more.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import type { Decoder, Side } from '../../shared/schema.ts'
import { createPop3Decoder } from '../../proxy/protocols/pop3.ts'
import { createSmtpDecoder } from '../../proxy/protocols/smtp.ts'
import { normalise, parseTranscript, replay } from '../helpers/transcript.ts'

const runs = Number(process.env.FUZZ_RUNS ?? 150)
const seed = Number(process.env.FUZZ_SEED ?? 20261126)

function fixtureTurns(protocol: 'smtp' | 'pop3'): { side: Side; bytes: Buffer }[][] {
  const dir = join(import.meta.dirname, '../fixtures', protocol)
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => parseTranscript(readFileSync(join(dir, f), 'utf8'), f).steps.flatMap((s) => (s.kind === 'data' ? [{ side: s.side, bytes: s.bytes }] : [])))
}

type Mutation = { at: number; op: 'flip' | 'insert' | 'delete' | 'crlf' | 'dot'; byte: number }

function mutate(bytes: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(bytes)
  for (const m of muts) {
    if (b.length === 0) break
    const at = m.at % b.length
    const insert = (x: Buffer) => (b = Buffer.concat([b.subarray(0, at), x, b.subarray(at)]))
    if (m.op === 'flip') b[at] = m.byte
    else if (m.op === 'insert') insert(Buffer.from([m.byte]))
    else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)])
    else if (m.op === 'crlf') insert(Buffer.from('\r\n'))
    else insert(Buffer.from('\r\n.\r\n'))
  }
  return b
}

function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const p of points) {
    out.push(bytes.subarray(prev, p))
    prev = p
  }
  out.push(bytes.subarray(prev))
  return out.filter((x) => x.length > 0)
}

/** Feeds the turns, checking every Decoded as it comes out. */
function drive(decoder: Decoder, turns: { side: Side; bytes: Buffer }[], cuts: number[], upgradeAt: number): void {
  const fed = { client: 0, server: 0 }
  let count = 0
  const check = (ds: ReturnType<Decoder['feed']>): void => {
    count += ds.length
    for (const d of ds) {
      JSON.stringify(d)
      if (d.raw) {
        assert.ok(d.raw.offset >= 0 && d.raw.length >= 0, 'raw ref is not negative')
        assert.ok(d.raw.offset + d.raw.length <= fed[d.raw.side], `raw ref ${d.raw.offset}+${d.raw.length} past ${fed[d.raw.side]} fed bytes`)
      }
    }
  }
  turns.forEach((t, i) => {
    for (const piece of cut(t.bytes, cuts)) {
      fed[t.side] += piece.length
      check(decoder.feed(t.side, piece, i))
    }
    if (i === upgradeAt && decoder.upgraded) check(decoder.upgraded(i))
  })
  check(decoder.end('client', turns.length))
  check(decoder.end('server', turns.length))
  // Bounded: at most a few events per line-ish unit of input.
  const total = fed.client + fed.server
  assert.ok(count <= total * 2 + 16, `${count} events for ${total} bytes`)
}

const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('flip', 'insert', 'delete', 'crlf', 'dot'),
  byte: fc.integer({ min: 0, max: 255 }),
}) as fc.Arbitrary<Mutation>

for (const [name, make] of [['SMTP', createSmtpDecoder], ['POP3', createPop3Decoder]] as const) {
  const fixtures = fixtureTurns(name.toLowerCase() as 'smtp' | 'pop3')

  test(`mutated ${name} fixtures in random chunks never make the decoder throw or overrun`, () => {
    fc.assert(
      fc.property(
        fc.nat({ max: fixtures.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.array(mutation, { maxLength: 4 })), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.integer({ min: -1, max: 30 }),
        fc.integer({ min: 16, max: 4096 }),
        (which, edits, cuts, upgradeAt, maxLineBytes) => {
          const turns = fixtures[which].map((t) => ({ ...t }))
          for (const [turn, muts] of edits) {
            if (turns.length) turns[turn % turns.length].bytes = mutate(turns[turn % turns.length].bytes, muts)
          }
          drive(make({ maxLineBytes, messages: { open: () => ({ write() {}, close() {} }) } }), turns, cuts, upgradeAt)
        },
      ),
      { numRuns: runs, seed },
    )
  })

  test(`random bytes from both sides never make the ${name} decoder throw`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 })), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (raw, cuts) => {
          const turns = raw.map(([client, bytes]) => ({ side: (client ? 'client' : 'server') as Side, bytes: Buffer.from(bytes) }))
          drive(make({ maxLineBytes: 64 }), turns, cuts, -1)
        },
      ),
      { numRuns: runs, seed },
    )
  })
}

for (const [name, make] of [['SMTP', createSmtpDecoder], ['POP3', createPop3Decoder]] as const) {
  const dir = join(import.meta.dirname, '../fixtures', name.toLowerCase())
  const transcripts = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => parseTranscript(readFileSync(join(dir, f), 'utf8'), f))

  test(`every ${name} fixture cut into many random chunks decodes exactly as whole`, () => {
    const factory = (o: Parameters<typeof make>[0]) => make(o)
    const wholes = transcripts.map((t) => JSON.stringify(normalise(replay(factory, t))))
    fc.assert(
      fc.property(fc.nat({ max: transcripts.length - 1 }), fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), (which, cuts) => {
        const got = normalise(replay(factory, transcripts[which], (_i, b) => cut(b, cuts)))
        assert.equal(JSON.stringify(got), wholes[which], `${transcripts[which].name} with cuts ${cuts.join(',')}`)
      }),
      { numRuns: runs, seed },
    )
  })
}
