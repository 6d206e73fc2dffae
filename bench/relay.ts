// Relay benchmark: a direct connection, a bare Node socket.pipe() relay and mailtap
// (recording on), side by side in one run, over several runs, on 127.0.0.1:
//   - upload: an SMTP session with a large DATA body of 76-character lines
//   - download: a POP3 RETR of the same size
//   - latency: sequential NOOP/250 round trips (p50, p99)
//   - RSS of the relay process holding 1,000 concurrent sessions
// Prints medians and ratios. Run: node --import tsx bench/relay.ts  (BENCH_MB, BENCH_RUNS)
import net from 'node:net'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import path from 'node:path'

const MB = Number(process.env.BENCH_MB ?? 200)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const NOOPS = Number(process.env.BENCH_NOOPS ?? 10_000)
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000)
const BODY_BYTES = MB * 1024 * 1024

// 76 characters plus CRLF, like base64 mail bodies.
const LINE = Buffer.from('A'.repeat(76) + '\r\n')
const BLOCK = Buffer.concat(Array.from({ length: Math.floor((1024 * 1024) / LINE.length) }, () => LINE))

// ---------------------------------------------------------------------------
// The servers: a fast SMTP sink (also answers NOOP) and a POP3 source.

function smtpSink(): net.Server {
  return net.createServer((s) => {
    s.setNoDelay(true)
    s.write('220 bench ESMTP\r\n')
    let inData = false
    let tail = Buffer.alloc(0)
    let line = ''
    s.on('data', (chunk: Buffer) => {
      if (inData) {
        // Look for CRLF.CRLF across chunk boundaries without copying the body.
        const probe = tail.length ? Buffer.concat([tail, chunk.subarray(0, 5)]) : Buffer.alloc(0)
        if ((probe.length && probe.includes('\r\n.\r\n')) || chunk.includes('\r\n.\r\n')) {
          inData = false
          s.write('250 2.0.0 Ok: queued\r\n')
        }
        tail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - 4)))
        return
      }
      line += chunk.toString('latin1')
      let i: number
      while ((i = line.indexOf('\r\n')) >= 0) {
        const cmd = line.slice(0, i).toUpperCase()
        line = line.slice(i + 2)
        if (cmd === 'DATA') {
          inData = true
          tail = Buffer.from('\r\n')
          s.write('354 go ahead\r\n')
          return
        }
        if (cmd === 'QUIT') return void s.end('221 bye\r\n')
        s.write(cmd.startsWith('EHLO') ? '250-bench\r\n250 PIPELINING\r\n' : '250 2.0.0 Ok\r\n')
      }
    })
    s.on('error', () => undefined)
  })
}

function pop3Source(): net.Server {
  return net.createServer((s) => {
    s.setNoDelay(true)
    s.write('+OK bench POP3\r\n')
    let line = ''
    s.on('data', (chunk: Buffer) => {
      line += chunk.toString('latin1')
      let i: number
      while ((i = line.indexOf('\r\n')) >= 0) {
        const cmd = line.slice(0, i).toUpperCase()
        line = line.slice(i + 2)
        if (cmd.startsWith('RETR')) {
          s.write(`+OK ${BODY_BYTES} octets\r\n`)
          let left = BODY_BYTES
          const pump = () => {
            while (left > 0) {
              const b = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left)
              left -= b.length
              if (!s.write(b)) return void s.once('drain', pump)
            }
            s.write('.\r\n')
          }
          pump()
        } else if (cmd === 'QUIT') s.end('+OK bye\r\n')
        else s.write('+OK\r\n')
      }
    })
    s.on('error', () => undefined)
  })
}

// ---------------------------------------------------------------------------
// The clients.

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s))
    s.setNoDelay(true)
    s.once('error', reject)
  })
}

/** Resolves with the text once `pattern` appears in what the socket receives. */
function expect(s: net.Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    const on = (d: Buffer) => {
      text += d.toString('latin1')
      if (pattern.test(text)) {
        s.removeListener('data', on)
        resolve(text)
      }
    }
    s.on('data', on)
  })
}

async function upload(port: number): Promise<number> {
  const s = await connect(port)
  await expect(s, /^220 .*\r\n/)
  s.write('EHLO bench\r\n')
  await expect(s, /^250 .*\r\n/m)
  s.write('MAIL FROM:<a@bench>\r\n')
  await expect(s, /^250/)
  s.write('RCPT TO:<b@bench>\r\n')
  await expect(s, /^250/)
  s.write('DATA\r\n')
  await expect(s, /^354/)
  const t0 = process.hrtime.bigint()
  const done = expect(s, /^250 /)
  let left = BODY_BYTES
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (left > 0) {
        const b = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left)
        left -= b.length
        if (!s.write(b)) return void s.once('drain', pump)
      }
      s.write('.\r\n')
      resolve()
    }
    pump()
  })
  await done
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  s.end('QUIT\r\n')
  return BODY_BYTES / seconds
}

async function download(port: number): Promise<number> {
  const s = await connect(port)
  await expect(s, /^\+OK.*\r\n/)
  const t0 = process.hrtime.bigint()
  let got = 0
  let tail = ''
  await new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => {
      got += d.length
      tail = (tail + d.subarray(Math.max(0, d.length - 8)).toString('latin1')).slice(-8)
      if (got > BODY_BYTES && tail.endsWith('\r\n.\r\n')) resolve()
    })
    s.write('RETR 1\r\n')
  })
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  s.end('QUIT\r\n')
  return BODY_BYTES / seconds
}

async function latency(port: number): Promise<{ p50: number; p99: number }> {
  const s = await connect(port)
  await expect(s, /^220 .*\r\n/)
  const samples: number[] = []
  let pending: (() => void) | undefined
  let buf = ''
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1')
    if (buf.endsWith('\r\n')) {
      buf = ''
      pending?.()
    }
  })
  for (let i = 0; i < NOOPS; i++) {
    const t0 = process.hrtime.bigint()
    await new Promise<void>((resolve) => {
      pending = resolve
      s.write('NOOP\r\n')
    })
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3)
  }
  s.end('QUIT\r\n')
  samples.sort((a, b) => a - b)
  return { p50: samples[Math.floor(samples.length * 0.5)]!, p99: samples[Math.floor(samples.length * 0.99)]! }
}

// ---------------------------------------------------------------------------
// Relays in child processes.

interface Relay {
  port: number
  rss(): Promise<number>
  stop(): void
}

async function startRelay(mode: 'mailtap' | 'pipe', protocol: string, upstreamPort: number): Promise<Relay> {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'relay-proc.ts'), mode, protocol, String(upstreamPort)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines: string[] = []
  const waiters: ((l: string) => void)[] = []
  let partial = ''
  child.stdout.on('data', (d) => {
    partial += d
    let i
    while ((i = partial.indexOf('\n')) >= 0) {
      const l = partial.slice(0, i)
      partial = partial.slice(i + 1)
      const w = waiters.shift()
      if (w) w(l)
      else lines.push(l)
    }
  })
  const next = () => new Promise<string>((r) => (lines.length ? r(lines.shift()!) : waiters.push(r)))
  const port = Number(await next())
  return {
    port,
    rss: async () => {
      child.stdin.write('rss\n')
      return Number(await next())
    },
    stop: () => child.kill(),
  }
}

async function rssWithSessions(relay: Relay): Promise<number> {
  const sockets: net.Socket[] = []
  for (let i = 0; i < SESSIONS; i++) {
    const s = await connect(relay.port)
    await expect(s, /^220 /)
    sockets.push(s)
  }
  await new Promise((r) => setTimeout(r, 300))
  const rss = await relay.rss()
  for (const s of sockets) s.destroy()
  return rss
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function listenOn(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as net.AddressInfo).port
}

async function main(): Promise<void> {
  const smtpPort = await listenOn(smtpSink())
  const popPort = await listenOn(pop3Source())
  type Row = { up: number[]; down: number[]; p50: number[]; p99: number[]; rss?: number }
  const rows: Record<'direct' | 'pipe' | 'mailtap', Row> = {
    direct: { up: [], down: [], p50: [], p99: [] },
    pipe: { up: [], down: [], p50: [], p99: [] },
    mailtap: { up: [], down: [], p50: [], p99: [] },
  }
  const relays = {
    pipe: { smtp: await startRelay('pipe', 'smtp', smtpPort), pop3: await startRelay('pipe', 'pop3', popPort) },
    mailtap: { smtp: await startRelay('mailtap', 'smtp', smtpPort), pop3: await startRelay('mailtap', 'pop3', popPort) },
  }
  const ports = {
    direct: { smtp: smtpPort, pop3: popPort },
    pipe: { smtp: relays.pipe.smtp.port, pop3: relays.pipe.pop3.port },
    mailtap: { smtp: relays.mailtap.smtp.port, pop3: relays.mailtap.pop3.port },
  }
  console.error(`relay benchmark: ${MB} MB bodies, ${NOOPS} NOOPs, ${RUNS} runs, ${SESSIONS} sessions for RSS`)
  for (let run = 0; run < RUNS; run++) {
    for (const v of ['direct', 'pipe', 'mailtap'] as const) {
      rows[v].up.push(await upload(ports[v].smtp))
      rows[v].down.push(await download(ports[v].pop3))
      const l = await latency(ports[v].smtp)
      rows[v].p50.push(l.p50)
      rows[v].p99.push(l.p99)
      console.error(`  run ${run + 1} ${v}: up ${(rows[v].up.at(-1)! / 1e9).toFixed(2)} GB/s, down ${(rows[v].down.at(-1)! / 1e9).toFixed(2)} GB/s, p50 ${l.p50.toFixed(0)} µs`)
    }
  }
  rows.pipe.rss = await rssWithSessions(relays.pipe.smtp)
  rows.mailtap.rss = await rssWithSessions(relays.mailtap.smtp)

  const d = rows.direct
  const p = rows.pipe
  const fmt = (bps: number) => `${(bps / 1e9).toFixed(2)} GB/s`
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`
  console.log(`\n| variant | upload | download | NOOP p50 | NOOP p99 | RSS, ${SESSIONS} sessions | upload vs direct / pipe | download vs direct / pipe | p50 vs direct / pipe |`)
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const v of ['direct', 'pipe', 'mailtap'] as const) {
    const r = rows[v]
    console.log(
      `| ${v} | ${fmt(median(r.up))} | ${fmt(median(r.down))} | ${median(r.p50).toFixed(0)} µs | ${median(r.p99).toFixed(0)} µs | ` +
        `${r.rss ? (r.rss / 1048576).toFixed(0) + ' MiB' : '—'} | ` +
        `${ratio(median(r.up), median(d.up))} / ${ratio(median(r.up), median(p.up))} | ` +
        `${ratio(median(r.down), median(d.down))} / ${ratio(median(r.down), median(p.down))} | ` +
        `${ratio(median(r.p50), median(d.p50))} / ${ratio(median(r.p50), median(p.p50))} |`,
    )
  }
  for (const r of Object.values(relays)) for (const x of Object.values(r)) x.stop()
  process.exit(0)
}

await main()
