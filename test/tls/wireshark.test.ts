// The key log's promise, end to end: a loopback capture taken beside an SMTP STARTTLS
// session is opaque to tshark without the log and readable with it.
// Skipped where dumpcap/tshark are missing or capturing on lo is not allowed, except under
// CI (which installs tshark and runs as root), where that is a failure.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import net from 'node:net'
import { join } from 'node:path'
import { loadOrCreateCa } from '../../proxy/tls/ca.ts'
import { openKeyLog } from '../../proxy/tls/keylog.ts'
import { acceptTls, connectTls } from '../../proxy/tls/upgrade.ts'
import { listen, readUntil, tempDir } from './helpers.ts'

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 20_000, maxBuffer: 16 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  )
}

async function haveTools(): Promise<boolean> {
  try {
    await run('tshark', ['--version'])
    await run('dumpcap', ['--version'])
    return true
  } catch {
    return false
  }
}

/**
 * Starts dumpcap on lo for `port` and a probe port. dumpcap says "Capturing on" before
 * packets really flow, so we poke the probe port until its running "Packets: N" counter
 * moves; undefined when capturing does not work here.
 */
async function startCapture(port: number, file: string): Promise<{ stop: () => Promise<void>; packets: () => number } | undefined> {
  const probe = await listen(net.createServer((s) => s.destroy()))
  try {
    const child = spawn('dumpcap', ['-i', 'lo', '-f', `tcp port ${port} or tcp port ${probe.port}`, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    let exited = false
    child.on('error', () => (exited = true))
    child.on('exit', () => (exited = true))
    child.stderr.on('data', (d) => (err += d.toString()))
    const stop = () =>
      new Promise<void>((done) => {
        if (exited) return done()
        // dumpcap finishes its file on SIGINT; SIGKILL only if it hangs.
        const hard = setTimeout(() => child.kill('SIGKILL'), 5_000)
        child.once('exit', () => (clearTimeout(hard), done()))
        child.kill('SIGINT')
      })
    // dumpcap's running counter ("Packets: N", refreshed about once a second).
    const packets = () => Number([...err.matchAll(/Packets: (\d+)/g)].pop()?.[1] ?? 0)
    for (let i = 0; i < 100 && !exited; i++) {
      if (packets() > 0) return { stop, packets }
      if (/Capturing on/.test(err)) {
        const s = net.connect(probe.port, '127.0.0.1')
        s.on('error', () => {})
        s.on('close', () => {})
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    await stop()
    return undefined
  } finally {
    await probe.close()
  }
}

test('tshark decrypts a captured STARTTLS session with the key log and not without it', { timeout: 60_000 }, async (t) => {
  const skip = (why: string) => {
    if (process.env.CI) throw new Error(`${why} (CI installs tshark via test/servers/servers.sh install)`)
    t.skip(why)
  }
  if (!(await haveTools())) return skip('tshark/dumpcap not installed')
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir, { persistLeaves: false })
  const keylog = openKeyLog(join(dir, 'keys.log'))
  const pcap = join(dir, 'capture.pcapng')

  // A tiny SMTP server that upgrades on STARTTLS and answers over TLS.
  const srv = await listen(
    net.createServer((s) => {
      s.on('error', () => {})
      s.write('220 mail.test ESMTP\r\n')
      s.once('data', async () => {
        s.pause()
        s.write('220 2.0.0 Ready to start TLS\r\n')
        const { tls } = await acceptTls(s, { ca, fallbackNames: ['mail.test'], keylog })
        tls.on('error', () => {})
        tls.on('data', (d) => tls.write(`250 decrypted-reply ${d.toString()}`))
      })
    }),
  )
  t.after(srv.close)
  const capture = await startCapture(srv.port, pcap)
  if (!capture) return skip('cannot capture on lo here')

  const before = capture.packets()
  const c = net.connect(srv.port, '127.0.0.1')
  await readUntil(c, '\r\n')
  c.removeAllListeners('data')
  c.write('STARTTLS\r\n')
  await readUntil(c, 'TLS\r\n')
  c.removeAllListeners('data')
  c.pause()
  const { tls } = await connectTls(c, { host: 'mail.test', verify: 'off', keylog })
  tls.write('MAIL FROM:<hidden@example.test>\r\n')
  await readUntil(tls, 'hidden@example.test>\r\n')
  tls.end()
  await new Promise((r) => tls.once('close', r))
  await keylog.close()
  // Stop only once dumpcap counted the session (well over 10 packets) and went quiet:
  // packets still in its buffer at SIGINT would be missing from the file.
  let last = -1
  for (let i = 0; i < 100; i++) {
    const n = capture.packets()
    if (n > before + 10 && n === last) break
    last = n
    await new Promise((r) => setTimeout(r, 300))
  }
  await capture.stop()

  const decode = ['-r', pcap, '-d', `tcp.port==${srv.port},smtp`]
  const opaque = await run('tshark', decode)
  assert.doesNotMatch(opaque, /hidden@example\.test/)
  const clear = await run('tshark', [...decode, '-o', `tls.keylog_file:${keylog.path}`])
  assert.match(clear, /C: MAIL FROM:<hidden@example\.test>/)
  assert.match(clear, /S: 250 decrypted-reply MAIL FROM/)
})
