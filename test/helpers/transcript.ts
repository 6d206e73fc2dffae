// Transcript fixtures for decoder tests: parse `C:`/`S:` files, replay them through a
// decoder whole, byte by byte and split at every offset, and compare with golden files.
//
// Syntax, one directive per line:
//   C: text        client sends text + CRLF        S: text   server sends text + CRLF
//   C~ text        client sends text with escapes (\r \n \t \\ \xHH), no CRLF added
//   S~ text        same for the server
//   @ 1500         the next bytes happen at 1500 ms after the start (`@ +20`: 20 ms later)
//   ---            a turn break: the next bytes are a separate TCP write
//   == upgraded    both legs switched to TLS: decoder.upgraded(at)
//   == end client  that side closed: decoder.end('client', at)
//   # comment      blank lines are ignored
// Consecutive lines from one side form a turn (one TCP write); each turn is 1 ms after
// the previous unless `@` says otherwise. Splits happen only inside turns, so every
// split gives the decoder the same `at` for the same bytes and the output must match.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { Decoded, Decoder, DecoderOptions, MessageItem, MessageSink, MessageWire, Side } from '../../shared/schema.ts'

/** Time of the first turn. Small, readable numbers in golden files. */
export const T0 = 1000

export type Step =
  | { kind: 'data'; side: Side; at: number; bytes: Buffer }
  | { kind: 'upgraded'; at: number }
  | { kind: 'end'; side: Side; at: number }

export interface Transcript {
  name: string
  steps: Step[]
}

export interface CapturedMessage {
  index: number
  source: MessageItem['source']
  bytes: Buffer
  complete?: boolean
  /** Where the decoder said the message lies in the capture (not in goldens). */
  wire?: MessageWire
}

export interface ReplayResult {
  decoded: Decoded[]
  messages: CapturedMessage[]
}

export type DecoderFactory = (options: DecoderOptions) => Decoder

/** Interprets \r \n \t \\ \xHH in a `C~`/`S~` line. */
export function unescapeBytes(s: string): Buffer {
  const out: number[] = []
  for (let i = 0; i < s.length; i++) {
    // By code point: an astral character is two UTF-16 units but one UTF-8 sequence.
    const c = String.fromCodePoint(s.codePointAt(i)!)
    if (c !== '\\' || i + 1 >= s.length) {
      out.push(...Buffer.from(c, 'utf8'))
      i += c.length - 1
      continue
    }
    const n = s[++i]
    if (n === 'r') out.push(13)
    else if (n === 'n') out.push(10)
    else if (n === 't') out.push(9)
    else if (n === '\\') out.push(92)
    else if (n === 'x') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else out.push(92, ...Buffer.from(n, 'utf8'))
  }
  return Buffer.from(out)
}

export function parseTranscript(text: string, name = 'transcript'): Transcript {
  const steps: Step[] = []
  let at = T0
  let explicitAt: number | undefined
  let open: { side: Side; parts: Buffer[] } | undefined
  const close = (): void => {
    if (!open) return
    steps.push({ kind: 'data', side: open.side, at: nextAt(), bytes: Buffer.concat(open.parts) })
    open = undefined
  }
  let started = false
  const nextAt = (): number => {
    if (explicitAt !== undefined) at = explicitAt
    else if (started) at += 1
    started = true
    explicitAt = undefined
    return at
  }
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '' || line.startsWith('#')) continue
    const m = /^([CS])([:~])(?: (.*))?$/.exec(line)
    if (m) {
      const side: Side = m[1] === 'C' ? 'client' : 'server'
      const body = m[3] ?? ''
      const bytes = m[2] === ':' ? Buffer.from(body + '\r\n', 'utf8') : unescapeBytes(body)
      if (open && open.side !== side) close()
      if (!open) open = { side, parts: [] }
      open.parts.push(bytes)
      continue
    }
    close()
    if (line === '---') continue
    const t = /^@ (\+)?(\d+(?:\.\d+)?)$/.exec(line)
    if (t) {
      explicitAt = t[1] ? at + Number(t[2]) : T0 + Number(t[2])
      continue
    }
    if (line === '== upgraded') {
      steps.push({ kind: 'upgraded', at: nextAt() })
      continue
    }
    const e = /^== end (client|server)$/.exec(line)
    if (e) {
      steps.push({ kind: 'end', side: e[1] as Side, at: nextAt() })
      continue
    }
    throw new Error(`${name}: cannot parse transcript line: ${JSON.stringify(line)}`)
  }
  close()
  return { name, steps }
}

export function loadTranscript(path: string): Transcript {
  return parseTranscript(readFileSync(path, 'utf8'), path)
}

/** Total wire bytes of a transcript. */
export function transcriptBytes(t: Transcript): number {
  let n = 0
  for (const s of t.steps) if (s.kind === 'data') n += s.bytes.length
  return n
}

/** A MessageSink that keeps every message in memory, for tests. */
export function captureSink(): { sink: MessageSink; messages: CapturedMessage[] } {
  const messages: CapturedMessage[] = []
  const sink: MessageSink = {
    open(index, source, wire) {
      const parts: Buffer[] = []
      const msg: CapturedMessage = { index, source, bytes: Buffer.alloc(0), wire }
      messages.push(msg)
      return {
        write(bytes) {
          // Copy: the decoder hands out views into its input.
          parts.push(Buffer.from(bytes))
          msg.bytes = Buffer.concat(parts)
        },
        close(complete) {
          msg.complete = complete
        },
      }
    },
  }
  return { sink, messages }
}

/**
 * Replays a transcript. `chunking(stepIndex, bytes)` says how each data turn is cut
 * into feed() calls (default: whole). Ends both sides after the last step unless the
 * transcript ended them.
 */
export function replay(
  factory: DecoderFactory,
  t: Transcript,
  chunking: (stepIndex: number, bytes: Buffer) => Buffer[] = (_i, b) => [b],
): ReplayResult {
  const { sink, messages } = captureSink()
  const decoder = factory({ messages: sink })
  const decoded: Decoded[] = []
  const ended = new Set<Side>()
  let last = T0
  t.steps.forEach((step, i) => {
    last = step.at
    if (step.kind === 'data') {
      for (const piece of chunking(i, step.bytes)) decoded.push(...decoder.feed(step.side, piece, step.at))
    } else if (step.kind === 'upgraded') {
      if (decoder.upgraded) decoded.push(...decoder.upgraded(step.at))
    } else {
      ended.add(step.side)
      decoded.push(...decoder.end(step.side, step.at))
    }
  })
  for (const side of ['client', 'server'] as const) {
    if (!ended.has(side)) decoded.push(...decoder.end(side, last + 1))
  }
  return { decoded, messages }
}

/** The JSON form results are compared in (undefined dropped, bytes as text or base64). */
export function normalise(r: ReplayResult): { decoded: unknown[]; messages: unknown[] } {
  return {
    decoded: JSON.parse(JSON.stringify(r.decoded)),
    messages: r.messages.map((m) => {
      const text = m.bytes.toString('utf8')
      const roundTrips = Buffer.from(text, 'utf8').equals(m.bytes)
      return {
        index: m.index,
        source: m.source,
        complete: m.complete,
        size: m.bytes.length,
        ...(roundTrips ? { text } : { base64: m.bytes.toString('base64') }),
      }
    }),
  }
}

function splitAt(bytes: Buffer, cut: number): Buffer[] {
  return [bytes.subarray(0, cut), bytes.subarray(cut)]
}

function oneByOne(bytes: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1))
  return out
}

/**
 * Replays whole, one byte at a time, and split in two at every offset (a bounded, evenly
 * spread sample of offsets for long transcripts), asserting identical normalised output.
 * Returns the normalised result of the whole replay.
 */
export function replayAllSplits(
  factory: DecoderFactory,
  t: Transcript,
  options: { maxSplits?: number } = {},
): ReturnType<typeof normalise> {
  const whole = normalise(replay(factory, t))
  const expected = JSON.stringify(whole)
  const check = (label: string, r: ReplayResult): void => {
    const got = normalise(r)
    if (JSON.stringify(got) !== expected) {
      assert.deepStrictEqual(got, whole, `${t.name}: ${label} gives different output than the whole replay`)
    }
  }
  check('one byte at a time', replay(factory, t, (_i, b) => oneByOne(b)))

  // Every offset k inside a turn: cut that turn at k.
  const cuts: { step: number; at: number }[] = []
  t.steps.forEach((s, i) => {
    if (s.kind !== 'data') return
    for (let k = 1; k < s.bytes.length; k++) cuts.push({ step: i, at: k })
  })
  const max = options.maxSplits ?? 1000
  const stride = cuts.length > max ? cuts.length / max : 1
  for (let f = 0; f < cuts.length; f += stride) {
    const c = cuts[Math.floor(f)]
    check(`split in turn ${c.step} at byte ${c.at}`, replay(factory, t, (i, b) => (i === c.step ? splitAt(b, c.at) : [b])))
  }
  return whole
}

/** `bytes` cut at the given points (taken modulo its length + 1, sorted, repeats dropped): fuzzed chunking. */
export function cutAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let last = 0
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(last, p))
    last = p
  }
  return chunks
}

/**
 * Compares with a golden JSON file; `UPDATE_GOLDEN=1` rewrites it instead. Review a
 * rewritten golden by eye: it must be right, not just self-consistent.
 */
export function expectGolden(path: string, value: unknown): void {
  const text = JSON.stringify(value, null, 2) + '\n'
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(path, text)
    return
  }
  if (!existsSync(path)) assert.fail(`golden file ${path} is missing (run with UPDATE_GOLDEN=1 and review it)`)
  assert.deepStrictEqual(JSON.parse(text), JSON.parse(readFileSync(path, 'utf8')), `${path} differs from the decoder's output (UPDATE_GOLDEN=1 to rewrite after review)`)
}
