// SMTP and POP3 decoder throughput in MB/s: a 200 MB DATA body and a 200 MB RETR body
// (76-byte lines, 64 KiB chunks as sockets deliver them), 100,000 small command/reply
// pairs each, and the streaming MIME summary the recorder runs on every message.
// Run: node --import tsx bench/decode.ts [bodyMB]   (IMAP: bench/decode-imap.ts)
import { performance } from 'node:perf_hooks'
import type { Decoder, MessageSink } from '../shared/schema.ts'
import { createMessageSummarizer } from '../proxy/mime/summary.ts'
import { createPop3Decoder } from '../proxy/protocols/pop3.ts'
import { createSmtpDecoder } from '../proxy/protocols/smtp.ts'

const MB = 1024 * 1024
const bodyMb = Number(process.argv[2] ?? 200)
const CHUNK = 64 * 1024

interface Row {
  name: string
  bytes: number
  ms: number
  events: number
}

/** Counts message bytes, like the recorder's sink before it hands them on. */
function countingSink(): { sink: MessageSink; bytes: () => number } {
  let n = 0
  return { sink: { open: () => ({ write: (b) => void (n += b.length), close: () => {} }) }, bytes: () => n }
}

/** About 64 KiB of 76-byte lines (74 characters and CRLF). */
function bodyChunk(): Buffer {
  const line = Buffer.from('Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod te\r\n')
  // Whole lines only (862 × 76 = 65,512 bytes), so the body ends at a line boundary.
  const chunk = Buffer.alloc(Math.floor(CHUNK / line.length) * line.length)
  for (let i = 0; i < chunk.length; i += line.length) line.copy(chunk, i)
  return chunk
}

function feedBody(dec: Decoder, side: 'client' | 'server', chunk: Buffer): { bytes: number; events: number } {
  let bytes = 0
  let events = 0
  const size = bodyMb * MB
  while (bytes < size) {
    events += dec.feed(side, chunk, 0).length
    bytes += chunk.length
  }
  // The chunk ends at a line boundary, so the terminator is '.\r\n'.
  events += dec.feed(side, Buffer.from('.\r\n'), 0).length
  return { bytes: bytes + 3, events }
}

function benchSmtpData(): Row {
  const { sink, bytes: sunk } = countingSink()
  const dec = createSmtpDecoder({ messages: sink })
  dec.feed('server', Buffer.from('220 x ESMTP\r\n'), 0)
  dec.feed('client', Buffer.from('EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'), 0)
  dec.feed('server', Buffer.from('250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n'), 0)
  const chunk = bodyChunk()
  const t0 = performance.now()
  const r = feedBody(dec, 'client', chunk)
  const ms = performance.now() - t0
  if (sunk() !== r.bytes - 3) throw new Error(`sink got ${sunk()} of ${r.bytes - 3} bytes`)
  return { name: `SMTP DATA body ${bodyMb} MB`, bytes: r.bytes, ms, events: r.events }
}

function benchPop3Retr(): Row {
  const { sink } = countingSink()
  const dec = createPop3Decoder({ messages: sink })
  dec.feed('server', Buffer.from('+OK ready\r\n'), 0)
  dec.feed('client', Buffer.from('USER a\r\nPASS b\r\n'), 0)
  dec.feed('server', Buffer.from('+OK\r\n+OK\r\n'), 0)
  dec.feed('client', Buffer.from('RETR 1\r\n'), 0)
  dec.feed('server', Buffer.from('+OK message follows\r\n'), 0)
  const t0 = performance.now()
  const r = feedBody(dec, 'server', bodyChunk())
  return { name: `POP3 RETR body ${bodyMb} MB`, bytes: r.bytes, ms: performance.now() - t0, events: r.events }
}

/** Small pairs, written in socket-sized batches of 100 like a busy pipelining client. */
function benchPairs(name: string, dec: Decoder, greeting: string, command: string, reply: string): Row {
  dec.feed('server', Buffer.from(greeting), 0)
  const n = 100_000
  const batch = 100
  const cmds = Buffer.from(command.repeat(batch))
  const reps = Buffer.from(reply.repeat(batch))
  let events = 0
  const t0 = performance.now()
  for (let i = 0; i < n; i += batch) {
    events += dec.feed('client', cmds, i).length
    events += dec.feed('server', reps, i + 0.5).length
  }
  const ms = performance.now() - t0
  return { name, bytes: (cmds.length + reps.length) * (n / batch), ms, events }
}

/** The summary the recorder runs on each message: until end() resolves, all of it. */
async function benchSummary(): Promise<Row> {
  const s = createMessageSummarizer()
  // Multipart, so that it is parsed: a single text part is only counted, on the relay's side.
  const head = Buffer.from(
    'From: a@b\r\nTo: c@d\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n',
  )
  const chunk = bodyChunk()
  const size = 32 * MB // what it parses at most (SUMMARY_PARSE_BYTES)
  const t0 = performance.now()
  s.write(head)
  let bytes = head.length
  while (bytes < size) {
    s.write(chunk)
    bytes += chunk.length
  }
  s.write(Buffer.from('\r\n--b--\r\n'))
  await s.end()
  return { name: `MIME summary ${size / MB} MB multipart`, bytes, ms: performance.now() - t0, events: 0 }
}

/** What a bare scan of the same bytes costs: the floor any decoder sits on. */
function benchIndexOfFloor(): Row {
  const chunk = bodyChunk()
  const size = bodyMb * MB
  let bytes = 0
  let hits = 0
  const t0 = performance.now()
  while (bytes < size) {
    hits += chunk.indexOf('\n.') < 0 ? 0 : 1
    bytes += chunk.length
  }
  return { name: `indexOf floor ${bodyMb} MB`, bytes, ms: performance.now() - t0, events: hits }
}

const all = async (): Promise<Row[]> => [
  benchIndexOfFloor(),
  benchSmtpData(),
  benchPop3Retr(),
  benchPairs('SMTP 100k NOOP/250 pairs', createSmtpDecoder(), '220 x ESMTP\r\n', 'NOOP\r\n', '250 2.0.0 Ok\r\n'),
  benchPairs('SMTP 100k RCPT/250 pairs', createSmtpDecoder(), '220 x ESMTP\r\n', 'RCPT TO:<someone@example.org> NOTIFY=NEVER\r\n', '250 2.1.5 Ok\r\n'),
  benchPairs('POP3 100k STAT/+OK pairs', createPop3Decoder(), '+OK ready\r\n', 'STAT\r\n', '+OK 2 1140\r\n'),
  benchPairs('POP3 100k LIST/listing pairs', createPop3Decoder(), '+OK ready\r\n', 'LIST\r\n', '+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n'),
  await benchSummary(),
]
// Twice, and the second is shown: a relay that has run for a while has its decoders compiled.
await all()
const rows = await all()

const pad = (s: string, n: number) => s.padEnd(n)
console.log(`${pad('case', 34)} ${pad('MB', 8)} ${pad('ms', 9)} ${pad('MB/s', 9)} ${pad('events', 8)} events/s`)
for (const r of rows) {
  const mbs = r.bytes / MB / (r.ms / 1000)
  const eps = r.events / (r.ms / 1000)
  console.log(`${pad(r.name, 34)} ${pad((r.bytes / MB).toFixed(1), 8)} ${pad(r.ms.toFixed(0), 9)} ${pad(mbs.toFixed(0), 9)} ${pad(String(r.events), 8)} ${eps.toFixed(0)}`)
}
console.log('\nCompare the MB/s with bench/relay.ts: decoding should cost the relay under 10%.')
