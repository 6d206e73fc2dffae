// Store benchmark: recording throughput with decoding on (events/s, MB/s of raw bytes,
// as a ratio against the same recording with no store listening), memory with 1,000
// live sessions and with 100,000 stored sessions, and the time to list at that size.
// Run: node --expose-gc --import tsx bench/store.ts [sessions=200]
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Feed } from '../proxy/feed.ts'
import { SessionRecorder } from '../proxy/session/recorder.ts'
import { openStore, type Store } from '../proxy/store/index.ts'
import type { IndexEntry } from '../proxy/store/layout.ts'
import { FORMAT_VERSION, type Session } from '../shared/schema.ts'

const MB = 1024 * 1024
const sessions = Number(process.argv[2] ?? 200)
const gc = (globalThis as { gc?: () => void }).gc

function heapMb(): number {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed / MB
}

const route = { id: 'smtp-2525', listenUrl: 'smtp://127.0.0.1:2525', upstreamUrl: 'smtp://127.0.0.1:25' }

/** One SMTP session as the relay would hand it over: server and client chunks in turn. */
function smtpChunks(bodyKb: number): { side: 'client' | 'server'; bytes: Buffer }[] {
  const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod te\r\n'
  const body = line.repeat(Math.ceil((bodyKb * 1024) / line.length))
  const out: [('client' | 'server'), string][] = [
    ['server', '220 mx.example.com ESMTP Postfix\r\n'],
    ['client', 'EHLO laptop.example.com\r\n'],
    ['server', '250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n'],
    ['client', 'AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==\r\n'],
    ['server', '235 2.7.0 Authentication successful\r\n'],
    ['client', 'MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n'],
    ['server', '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n'],
    ['client', `From: alice@example.com\r\nTo: bob@example.org\r\nSubject: bench\r\n\r\n${body}.\r\n`],
    ['server', '250 2.0.0 Ok: queued as 12345\r\n'],
  ]
  for (let i = 0; i < 40; i++) out.push(['client', 'NOOP\r\n'], ['server', '250 2.0.0 Ok\r\n'])
  out.push(['client', 'QUIT\r\n'], ['server', '221 2.0.0 Bye\r\n'])
  // Split big client chunks at 64 KiB, as sockets deliver them.
  return out.flatMap(([side, text]) => {
    const b = Buffer.from(text)
    const parts = []
    for (let i = 0; i < b.length; i += 64 * 1024) parts.push({ side, bytes: b.subarray(i, i + 64 * 1024) })
    return parts
  })
}

async function record(feed: Feed, n: number, chunks: ReturnType<typeof smtpChunks>): Promise<{ events: number; bytes: number }> {
  let events = 0
  let bytes = 0
  const count = () => events++
  feed.on('event', count)
  for (let i = 0; i < n; i++) {
    const rec = new SessionRecorder(feed, {
      protocol: 'smtp',
      route,
      client: { address: '127.0.0.1', port: 40000 + i },
      server: { address: '127.0.0.1', port: 25 },
    })
    for (const c of chunks) {
      rec.chunk(c.side, c.bytes)
      bytes += c.bytes.length
    }
    await rec.close('client-closed')
    // Yield like a real event loop would between socket reads.
    if (i % 10 === 0) await new Promise((r) => setImmediate(r))
  }
  feed.off('event', count)
  return { events, bytes }
}

async function benchThroughput(): Promise<string[][]> {
  const chunks = smtpChunks(100)
  // Warm up the decoder and the MIME summarizer.
  await record(new Feed(), 5, chunks)

  let t0 = performance.now()
  const bare = await record(new Feed(), sessions, chunks)
  const bareMs = performance.now() - t0

  const dir = await mkdtemp(join(tmpdir(), 'mailtap-bench-'))
  const feed = new Feed()
  const store = await openStore({ dir, feed })
  t0 = performance.now()
  const stored = await record(feed, sessions, chunks)
  await store.flush()
  const storedMs = performance.now() - t0
  await store.close()
  await rm(dir, { recursive: true, force: true })

  const row = (name: string, r: { events: number; bytes: number }, ms: number) => [
    name,
    `${Math.round(r.events / (ms / 1000)).toLocaleString('en')}`,
    (r.bytes / MB / (ms / 1000)).toFixed(1),
    `${ms.toFixed(0)} ms`,
  ]
  return [
    row('decode only (no store)', bare, bareMs),
    row('decode + store', stored, storedMs),
    ['store / bare time', '', '', `${(storedMs / bareMs).toFixed(2)}×`],
  ]
}

async function benchLive(): Promise<string[][]> {
  const dir = await mkdtemp(join(tmpdir(), 'mailtap-bench-'))
  const feed = new Feed()
  const store = await openStore({ dir, feed })
  const before = heapMb()
  const rss0 = process.memoryUsage().rss / MB
  const recs: SessionRecorder[] = []
  const greeting = Buffer.from('220 mx.example.com ESMTP\r\n')
  const ehlo = Buffer.from('EHLO laptop\r\n')
  for (let i = 0; i < 1000; i++) {
    const rec = new SessionRecorder(feed, {
      protocol: 'smtp',
      route,
      client: { address: '127.0.0.1', port: 40000 + i },
      server: { address: '127.0.0.1', port: 25 },
    })
    rec.chunk('server', greeting)
    rec.chunk('client', ehlo)
    recs.push(rec)
  }
  await store.flush()
  const after = heapMb()
  const rss1 = process.memoryUsage().rss / MB
  for (const r of recs) await r.close('client-closed')
  await store.close()
  await rm(dir, { recursive: true, force: true })
  return [
    ['1,000 live sessions: heap', `${(after - before).toFixed(1)} MB`, `${(((after - before) * MB) / 1000 / 1024).toFixed(1)} KiB/session`],
    ['1,000 live sessions: rss growth', `${(rss1 - rss0).toFixed(1)} MB`, ''],
  ]
}

function fakeEntry(i: number): IndexEntry {
  const protocols = ['smtp', 'pop3', 'imap'] as const
  const session: Session = {
    id: `${(1_700_000_000_000 + i * 1000).toString(36)}-00${i.toString(16).padStart(6, '0')}`,
    protocol: protocols[i % 3]!,
    route,
    client: { address: '127.0.0.1', port: 40000 + (i % 20000) },
    server: { address: '127.0.0.1', port: 25, host: 'mx.example.com' },
    tls: [],
    user: `user${i % 500}@example.com`,
    startedAt: 1_700_000_000_000 + i * 1000,
    endedAt: 1_700_000_000_000 + i * 1000 + 800,
    status: 'closed',
    closeReason: 'client-closed',
    totals: { events: 60, bytesFromClient: 2000, bytesFromServer: 1500, commands: 25, messages: 1, errors: i % 17 === 0 ? 1 : 0 },
    lastReply: '221 2.0.0 Bye',
    origin: { kind: 'live' },
  }
  return { session, bytes: 4000, messages: 1, subjects: [`report ${i}`] }
}

async function benchStored(): Promise<string[][]> {
  // 100,000 sessions written as an index.json directly: the point is the index in
  // memory and list() over it, not creating 100,000 directories.
  const dir = await mkdtemp(join(tmpdir(), 'mailtap-bench-'))
  const entries = Array.from({ length: 100_000 }, (_, i) => fakeEntry(i))
  await writeFile(join(dir, 'index.json'), JSON.stringify({ formatVersion: FORMAT_VERSION, settings: {}, sessions: entries }))
  entries.length = 0
  const before = heapMb()
  let t0 = performance.now()
  const store: Store = await openStore({ dir, feed: new Feed() })
  const openMs = performance.now() - t0
  const after = heapMb()

  const time = (q: Parameters<Store['list']>[0]) => {
    store.list(q) // warm the search text cache
    const runs = 20
    const t = performance.now()
    let total = 0
    for (let i = 0; i < runs; i++) total = store.list(q).total
    return [(performance.now() - t) / runs, total] as const
  }
  const rows: string[][] = [
    ['100,000 stored sessions: heap', `${(after - before).toFixed(1)} MB`, `open ${openMs.toFixed(0)} ms`],
  ]
  for (const [name, q] of [
    ['list first page', {}],
    ['list page 500', { offset: 50_000, limit: 100 }],
    ['list protocol=imap errors=1', { protocol: 'imap', hasErrors: true }],
    ['list q="user42@"', { q: 'user42@' }],
    ['list q="report 99999"', { q: 'report 99999' }],
  ] as const) {
    const [ms, total] = time(q)
    rows.push([name, `${ms.toFixed(2)} ms`, `${total.toLocaleString('en')} matches`])
  }
  t0 = performance.now()
  await store.flush()
  rows.push(['index.json first save at 100,000', `${(performance.now() - t0).toFixed(0)} ms`, 'every entry stringified'])
  store.updateSettings({ bench: true })
  t0 = performance.now()
  await store.flush()
  rows.push(['index.json later saves', `${(performance.now() - t0).toFixed(0)} ms`, 'closed entries cached; debounce ≥ 5× this'])
  await store.close()
  await rm(dir, { recursive: true, force: true })
  return rows
}

function table(title: string, head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ')
  console.log(`\n${title}\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`)
  for (const r of rows) console.log(line(r))
}

if (!gc) console.log('(run with --expose-gc for steadier memory numbers)')
table(`Recording ${sessions} SMTP sessions (100 KiB message, 40 NOOPs each)`, ['', 'events/s', 'MB/s raw', 'time'], await benchThroughput())
table('Memory', ['', 'amount', ''], [...(await benchLive()), ...(await benchStored())])
