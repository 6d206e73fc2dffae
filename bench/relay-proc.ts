// A relay under test, in its own process so its CPU and RSS are its own: either mailtap's
// relay (recording on: the store subscribed to the feed, decoders running), the same relay
// with no store listening ('mailtap-nostore', to split the cost) and also without decoding
// ('mailtap-raw': the relay and recorder alone), a bare `socket.pipe()`
// relay, or that pipe also appending every chunk to one file per direction ('tee': the
// least any relay that records to disk must do). Prints its port, then answers 'rss\n' on stdin with its RSS in
// bytes (after a GC when run with --expose-gc), 'cpu\n' with CPU times in µs: all its threads,
// its main thread, and (mailtap) the recorder's tap on that thread; mailtap answers once its
// store has written what it holds. Closing stdin stops it: the store is
// closed, its temporary data directory removed, and (under --cpu-prof) the profile written.
import net from 'node:net'
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const [mode, protocol, upstreamPort] = process.argv.slice(2) as ['mailtap' | 'mailtap-nostore' | 'mailtap-raw' | 'pipe' | 'tee', string, string]

let stop: () => Promise<void> = async () => {}
/** What the store recorded so far (mailtap mode): the benchmark checks nothing was dropped. */
let stats: () => Promise<{ sessions: number; gaps: number; bytes: number }> = async () => ({ sessions: 0, gaps: 0, bytes: 0 })
let dataDir: string | undefined
let tapNs = 0n

/** CPU time of this process's main thread (the relay's), in µs, from /proc (Linux):
 * schedstat's nanoseconds, else stat's clock ticks. */
function mainThreadCpuUs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e3
  } catch {
    try {
      const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
      return ((Number(f[11]) + Number(f[12])) * 1e6) / 100
    } catch {
      return NaN
    }
  }
}

async function start(): Promise<number> {
  if (mode === 'pipe' || mode === 'tee') {
    const dir = mode === 'tee' ? (dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-bench-tee-'))) : undefined
    let n = 0
    const server = net.createServer((c) => {
      const u = net.connect(Number(upstreamPort), '127.0.0.1')
      // Same socket options as mailtap's relay, so the comparison is the forwarding alone.
      c.setNoDelay(true)
      u.setNoDelay(true)
      c.pipe(u).pipe(c)
      c.on('error', () => u.destroy())
      u.on('error', () => c.destroy())
      if (dir) {
        // Like a recorder: every chunk is also appended to a file, never delaying the pipe.
        const id = n++
        for (const [side, s] of [['client', c], ['server', u]] as const) {
          const file = createWriteStream(path.join(dir, `${id}-${side}.bin`))
          s.on('data', (chunk: Buffer) => file.write(chunk))
          s.once('close', () => file.end())
        }
      }
    })
    await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 2048 }, r))
    return (server.address() as net.AddressInfo).port
  }
  const { Feed } = await import('../proxy/feed.ts')
  // Time spent in the recorder's tap (decoders, MIME summary's share of the relay's
  // thread, the store's queueing), to set against the relay thread's own CPU time.
  const { SessionRecorder } = await import('../proxy/session/recorder.ts')
  const chunk = SessionRecorder.prototype.chunk
  SessionRecorder.prototype.chunk = function (this: InstanceType<typeof SessionRecorder>, ...args: Parameters<typeof chunk>) {
    const t0 = process.hrtime.bigint()
    try {
      return chunk.apply(this, args)
    } finally {
      tapNs += process.hrtime.bigint() - t0
    }
  }
  const { listenRoute } = await import('../proxy/relay/listener.ts')
  const { parseRoute } = await import('../proxy/config.ts')
  const { openStore } = await import('../proxy/store/index.ts')
  const feed = new Feed()
  const route = parseRoute(`${protocol}://127.0.0.1:0=${protocol}://127.0.0.1:${upstreamPort}`)
  const l = await listenRoute(route, { feed, idleTimeoutMs: 0, connectTimeoutMs: 5000, decode: mode !== 'mailtap-raw' })
  if (mode === 'mailtap-nostore' || mode === 'mailtap-raw') return l.port
  const dir = (dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-bench-')))
  const store = await openStore({ dir, feed })
  stop = () => store.close().catch(() => undefined)
  stats = async () => {
    await store.flush()
    const { sessions, total } = store.list({ limit: 1_000_000 })
    return {
      sessions: total,
      gaps: sessions.filter((x) => x.gaps).length,
      bytes: sessions.reduce((n, x) => n + x.totals.bytesFromClient + x.totals.bytesFromServer, 0),
    }
  }
  return l.port
}

const port = await start()
process.stdout.write(`${port}\n`)
process.stdin.setEncoding('utf8')
process.stdin.on('data', (line) => {
  if (String(line).startsWith('rss')) {
    ;(globalThis as { gc?: () => void }).gc?.()
    process.stdout.write(`${process.memoryUsage().rss}\n`)
  } else if (String(line).startsWith('stats')) {
    void stats().then((s) => process.stdout.write(`${JSON.stringify(s)}\n`))
  } else if (String(line).startsWith('cpu')) {
    // Once what is queued for the disk is written (mailtap), the CPU time of every thread.
    void stats().then(() => {
      const { user, system } = process.cpuUsage()
      process.stdout.write(`${JSON.stringify({ all: user + system, main: mainThreadCpuUs(), tap: Number(tapNs / 1000n) })}\n`)
    })
  }
})
process.stdin.on('end', () => {
  // Never linger: a store that cannot close in time still gets its directory removed.
  const exit = () => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  }
  setTimeout(exit, 10_000)
  void stop().finally(exit)
})
