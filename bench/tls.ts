// TLS benchmark: the time to issue a leaf certificate, cold and cached, and the upload
// throughput of an SMTP STARTTLS session intercepted by mailtap (TLS ended and restarted,
// every byte decoded and recorded) against the same session straight to the server.
// The server is a Node TLS SMTP sink in its own process, mailtap runs in its own process
// (feed, decoder, store, relay, TLS layer as in main.ts); the client is this process.
//   node --import tsx bench/tls.ts
// Measured 2026-11-26 on the shared 2-core box (load average 13, so absolute numbers are
// noisy; BENCH_MB=20): leaf cold 18 ms (p90 26), cached 0.003 ms; upload direct 363 MiB/s,
// intercepted 43 MiB/s (ratio 0.12), passthrough 190 MiB/s (0.52). Intercepting costs two
// extra TLS legs and decoding/recording in ≤16 KiB TLS records instead of 64 KiB reads.
//   env: BENCH_N (50, certificate timings)  BENCH_MB (50)  BENCH_RUNS (3)
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import { loadOrCreateCa } from '../proxy/tls/ca.ts'
import { median, p90, timeN } from './timing.ts'

const N = Number(process.env.BENCH_N ?? 50)
const MB = Number(process.env.BENCH_MB ?? 50)
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3))
const DEADLINE_MS = 120_000
const self = fileURLToPath(import.meta.url)

const LINE = Buffer.from('A'.repeat(76) + '\r\n')
const BLOCK = Buffer.concat(Array.from({ length: Math.floor((1024 * 1024) / LINE.length) }, () => LINE))
const HEADER = Buffer.from('From: a@bench.test\r\nTo: b@bench.test\r\nSubject: bench\r\n\r\n')


// ---------------------------------------------------------------- child: the SMTP sink

/** A minimal ESMTP server with STARTTLS that swallows DATA until CRLF.CRLF. */
async function runSink(dir: string): Promise<void> {
  const ca = await loadOrCreateCa(dir, { persistLeaves: false })
  const leaf = await ca.issue(['127.0.0.1', 'localhost'])
  const server = net.createServer((raw) => {
    raw.on('error', () => {})
    let sock: net.Socket = raw
    let buf = ''
    let inData = false
    let tail = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      if (inData) {
        // Only the last five bytes matter for the terminator; no per-byte work.
        const end = Buffer.concat([tail, chunk.subarray(Math.max(0, chunk.length - 5))])
        tail = end.subarray(Math.max(0, end.length - 5))
        if (tail.toString('latin1').endsWith('\r\n.\r\n')) {
          inData = false
          sock.write('250 2.0.0 Ok: queued\r\n')
        }
        return
      }
      buf += chunk.toString('latin1')
      let i: number
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const verb = line.split(' ')[0]!.toUpperCase()
        if (verb === 'EHLO') sock.write('250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 STARTTLS\r\n')
        else if (verb === 'STARTTLS') {
          sock.write('220 2.0.0 Ready to start TLS\r\n')
          sock.removeListener('data', onData)
          const t = new tls.TLSSocket(sock, { isServer: true, key: leaf.key, cert: leaf.cert })
          t.on('error', () => {})
          t.on('data', onData)
          sock = t
          buf = ''
          return
        } else if (verb === 'DATA') {
          sock.write('354 End data with <CR><LF>.<CR><LF>\r\n')
          inData = true
          tail = Buffer.alloc(0)
          return
        } else if (verb === 'QUIT') {
          sock.end('221 2.0.0 Bye\r\n')
          return
        } else sock.write('250 2.0.0 Ok\r\n')
      }
    }
    sock.on('data', onData)
    sock.write('220 sink.test ESMTP\r\n')
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as net.AddressInfo).port, ca: ca.certPem }) + '\n'))
}

// ------------------------------------------------------------- child: mailtap's relay

async function runRelay(dir: string, upstreamPort: number, upstreamCaFile: string): Promise<void> {
  const { Feed } = await import('../proxy/feed.ts')
  const { openStore } = await import('../proxy/store/index.ts')
  const { parseRoute } = await import('../proxy/config.ts')
  const { listenRoute } = await import('../proxy/relay/listener.ts')
  const { createTlsSupport } = await import('../proxy/tls/support.ts')
  const feed = new Feed()
  await openStore({ dir, feed })
  const ca = await loadOrCreateCa(dir, { persistLeaves: false })
  const tlsSupport = createTlsSupport({ ca, verify: 'warn', upstreamCa: [readFileSync(upstreamCaFile, 'utf8')] })
  const opts = { feed, tls: tlsSupport, idleTimeoutMs: 0, connectTimeoutMs: 5000 }
  const l = await listenRoute(parseRoute(`smtp://127.0.0.1:0=smtp://127.0.0.1:${upstreamPort}`), opts)
  // The same relay and recording, TLS passed through: what the interception itself costs.
  const pass = await listenRoute(parseRoute(`smtp://127.0.0.1:0=smtp://127.0.0.1:${upstreamPort}?tls=passthrough`), opts)
  process.stdout.write(JSON.stringify({ port: l.port, ca: ca.certPem, passPort: pass.port }) + '\n')
}

// ------------------------------------------------------------------ parent: the client

function startChild(args: string[]): Promise<{ child: ChildProcess; port: number; ca: string; passPort?: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', self, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) {
        resolve({ child, ...(JSON.parse(out.slice(0, nl)) as { port: number; ca: string; passPort?: number }) })
      }
    })
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}) before listening`)))
  })
}

/** Reads lines until a final SMTP reply line (code + space) arrives. */
function reply(sock: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const onData = (d: Buffer) => {
      text += d.toString('latin1')
      if (/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(text)) {
        sock.removeListener('data', onData)
        sock.removeListener('error', reject)
        resolve(text)
      }
    }
    sock.on('data', onData)
    sock.once('error', reject)
  })
}

/** One STARTTLS session uploading MB megabytes; returns MB/s of the DATA phase. */
async function upload(port: number, ca: string): Promise<number> {
  const raw = net.connect({ host: '127.0.0.1', port })
  await reply(raw)
  raw.write('EHLO bench.test\r\n')
  await reply(raw)
  raw.write('STARTTLS\r\n')
  await reply(raw)
  raw.pause()
  const s = tls.connect({ socket: raw, ca, servername: 'localhost' })
  await new Promise<void>((resolve, reject) => (s.once('secureConnect', resolve), s.once('error', reject)))
  s.write('EHLO bench.test\r\n')
  await reply(s)
  s.write('MAIL FROM:<a@bench.test>\r\nRCPT TO:<b@bench.test>\r\n')
  await reply(s)
  await reply(s)
  s.write('DATA\r\n')
  await reply(s)
  const t0 = performance.now()
  const done = reply(s)
  s.write(HEADER)
  for (let i = 0; i < MB; i++) {
    if (!s.write(BLOCK)) await new Promise((r) => s.once('drain', r))
  }
  s.write('.\r\n')
  await done
  const seconds = (performance.now() - t0) / 1000
  s.write('QUIT\r\n')
  await reply(s).catch(() => '')
  s.destroy()
  return (MB * BLOCK.length) / (1024 * 1024) / seconds
}

function withDeadline<T>(p: Promise<T>, what: string): Promise<T | undefined> {
  return Promise.race([
    p,
    new Promise<undefined>((resolve) =>
      setTimeout(() => {
        console.log(`  ${what}: no result within ${DEADLINE_MS / 1000} s (stuck), skipped`)
        resolve(undefined)
      }, DEADLINE_MS).unref(),
    ),
  ])
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-bench-tls-'))
  const children: ChildProcess[] = []
  try {
    console.log(`mailtap TLS benchmark (node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)})`)
    // Leaf issuance, as in bench/certs.ts: cold is a new key plus a signature.
    const ca = await loadOrCreateCa(path.join(dir, 'certs'), { persistLeaves: false })
    const cold = await timeN(N, (i) => ca.issue([`cold${i}.bench.test`, '127.0.0.1']))
    const cached = await timeN(N, () => ca.issue(['cold0.bench.test', '127.0.0.1']))
    console.log(`leaf certificate, ms (N=${N})      median      p90`)
    console.log(`  issue cold (key + sign)      ${median(cold).toFixed(3).padStart(8)} ${p90(cold).toFixed(3).padStart(8)}`)
    console.log(`  issue cached                 ${median(cached).toFixed(3).padStart(8)} ${p90(cached).toFixed(3).padStart(8)}`)
    console.log(`  cold / cached: ${(median(cold) / median(cached)).toFixed(0)}x`)

    const sink = await startChild(['--sink', path.join(dir, 'sink')])
    children.push(sink.child)
    const caFile = path.join(dir, 'sink-ca.pem')
    ;(await import('node:fs')).writeFileSync(caFile, sink.ca)
    const relay = await startChild(['--relay', path.join(dir, 'relay'), String(sink.port), caFile])
    children.push(relay.child)

    const direct: number[] = []
    const viaMailtap: number[] = []
    const passthrough: number[] = []
    for (let run = 0; run < RUNS; run++) {
      const d = await withDeadline(upload(sink.port, sink.ca), 'direct')
      if (d !== undefined) direct.push(d)
      const m = await withDeadline(upload(relay.port, relay.ca), 'mailtap')
      if (m !== undefined) viaMailtap.push(m)
      const p = await withDeadline(upload(relay.passPort!, sink.ca), 'passthrough')
      if (p !== undefined) passthrough.push(p)
    }
    console.log(`upload of ${MB} MiB over STARTTLS, MiB/s (median of ${RUNS})`)
    if (direct.length) console.log(`  direct to the sink           ${median(direct).toFixed(1).padStart(8)}`)
    if (viaMailtap.length) console.log(`  intercepted by mailtap       ${median(viaMailtap).toFixed(1).padStart(8)}`)
    if (passthrough.length) console.log(`  mailtap, TLS passthrough     ${median(passthrough).toFixed(1).padStart(8)}`)
    if (direct.length && viaMailtap.length) console.log(`  ratio intercepted / direct: ${(median(viaMailtap) / median(direct)).toFixed(2)}`)
    if (direct.length && passthrough.length) console.log(`  ratio passthrough / direct: ${(median(passthrough) / median(direct)).toFixed(2)}`)
  } finally {
    for (const c of children) c.kill()
    rmSync(dir, { recursive: true, force: true })
  }
}

const role = process.argv[2]
if (role === '--sink') await runSink(process.argv[3]!)
else if (role === '--relay') await runRelay(process.argv[3]!, Number(process.argv[4]), process.argv[5]!)
else await main()
