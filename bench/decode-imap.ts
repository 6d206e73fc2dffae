// IMAP decoder throughput: a 200 MB FETCH BODY[] literal and 100,000 small
// command/completion pairs (UID FETCH, its FETCH response and the OK), in MB/s and events/s. Run: node --import tsx bench/decode-imap.ts [MB]
import { performance } from 'node:perf_hooks'
import type { MessageSink } from '../shared/schema.ts'
import { createImapDecoder } from '../proxy/protocols/imap.ts'

const MB = 1024 * 1024
const literalMb = Number(process.argv[2] ?? 200)

/** A sink that counts, like the store's does before it writes. */
function countingSink(): { sink: MessageSink; bytes: () => number } {
  let n = 0
  return {
    sink: { open: () => ({ write: (b) => void (n += b.length), close: () => {} }) },
    bytes: () => n,
  }
}

function benchLiteral(): { name: string; bytes: number; ms: number; events: number } {
  const { sink, bytes } = countingSink()
  const dec = createImapDecoder({ messages: sink })
  const size = literalMb * MB
  // 64 KiB chunks, as a socket delivers them; the body is a realistic text line repeated.
  const line = Buffer.from('Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n')
  const chunk = Buffer.alloc(64 * 1024)
  for (let i = 0; i < chunk.length; i += line.length) line.copy(chunk, i)
  let events = dec.feed('server', Buffer.from('* OK ready\r\n'), 0).length
  events += dec.feed('client', Buffer.from('a1 SELECT INBOX\r\n'), 0).length
  events += dec.feed('server', Buffer.from('a1 OK [READ-WRITE] done\r\n'), 0).length
  events += dec.feed('client', Buffer.from('a2 FETCH 1 BODY[]\r\n'), 0).length
  const t0 = performance.now()
  events += dec.feed('server', Buffer.from(`* 1 FETCH (BODY[] {${size}}\r\n`), 1).length
  let left = size
  while (left > 0) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left)
    events += dec.feed('server', piece, 1).length
    left -= piece.length
  }
  events += dec.feed('server', Buffer.from(')\r\na2 OK done\r\n'), 1).length
  const ms = performance.now() - t0
  if (bytes() !== size) throw new Error(`sink got ${bytes()} of ${size} bytes`)
  return { name: `FETCH BODY[] literal (${literalMb} MB)`, bytes: size, ms, events }
}

const PAIRS = 100_000
const cmds: Buffer[] = []
const replies: Buffer[] = []
for (let i = 0; i < PAIRS; i++) {
  cmds.push(Buffer.from(`a${i} UID FETCH ${i + 1} (FLAGS)\r\n`))
  replies.push(Buffer.from(`* ${i + 1} FETCH (UID ${i + 1} FLAGS (\\Seen))\r\na${i} OK Fetch completed (0.001 + 0.000 secs).\r\n`))
}

function benchPairs(pairs = PAIRS): { name: string; bytes: number; ms: number; events: number } {
  const dec = createImapDecoder({})
  let bytes = 0
  let events = dec.feed('server', Buffer.from('* PREAUTH ready\r\n'), 0).length
  events += dec.feed('client', Buffer.from('s SELECT INBOX\r\n'), 0).length
  events += dec.feed('server', Buffer.from('s OK done\r\n'), 0).length
  const t0 = performance.now()
  for (let i = 0; i < pairs; i++) {
    events += dec.feed('client', cmds[i], i).length
    events += dec.feed('server', replies[i], i + 0.5).length
    bytes += cmds[i].length + replies[i].length
  }
  const ms = performance.now() - t0
  return { name: '100,000 command/completion pairs', bytes, ms, events }
}

// A warm-up first: a relay that has run for a while has its decoder compiled, and V8 takes
// some 500,000 pairs to settle on its fastest code for it (until then a pair costs twice as
// much). Then the median of 5 rounds: on a shared machine one round can be twice the next.
for (let i = 0; i < 6; i++) benchPairs()
const rounds = Array.from({ length: 5 }, () => benchPairs()).sort((a, b) => a.ms - b.ms)
const rows = [{ ...rounds[2]!, name: '100,000 command/completion pairs (median of 5)' }, benchLiteral()]
console.log('| case | bytes | time | MB/s | events | events/s |')
console.log('|---|---:|---:|---:|---:|---:|')
for (const r of rows) {
  const secs = r.ms / 1000
  console.log(`| ${r.name} | ${(r.bytes / MB).toFixed(1)} MB | ${r.ms.toFixed(0)} ms | ${(r.bytes / MB / secs).toFixed(0)} | ${r.events} | ${(r.events / secs).toFixed(0)} |`)
}
console.log('\nCompare with bench/relay.ts: decoding should cost the relay under 10%.')
