// The NSS key log: both legs' secrets, one line each, in the format Wireshark reads.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import tls from 'node:tls'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { loadOrCreateCa } from '../../proxy/tls/ca.ts'
import { openKeyLog, openKeyLogFromOptions } from '../../proxy/tls/keylog.ts'
import { acceptTls, connectTls } from '../../proxy/tls/upgrade.ts'
import { listen, readUntil, tempDir } from './helpers.ts'

const LINE = /^([A-Z0-9_]+) ([0-9a-f]{64}) ([0-9a-f]+)$/

async function readLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter(Boolean)
}

test('a TLS 1.3 handshake on both legs logs the NSS traffic secrets, identical on each end', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir)
  const keylog = openKeyLog(join(dir, 'keys.log'))
  const srv = await listen(
    net.createServer(async (socket) => {
      socket.on('error', () => {})
      const { tls: s } = await acceptTls(socket, { ca, fallbackNames: ['mail.test'], keylog })
      s.on('error', () => {})
      s.write('* OK\r\n')
    }),
  )
  t.after(srv.close)
  const { tls: c, info } = await connectTls(undefined, { host: '127.0.0.1', port: srv.port, verify: 'strict', ca: ca.certPem, keylog })
  await readUntil(c, '\r\n')
  c.destroy()
  await keylog.close()
  assert.equal(info.version, 'TLSv1.3')

  const lines = await readLines(keylog.path)
  for (const line of lines) assert.match(line, LINE)
  const labels = new Set(lines.map((l) => LINE.exec(l)![1]))
  for (const label of ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0', 'EXPORTER_SECRET']) {
    assert.ok(labels.has(label), `${label} logged`)
  }
  // The TLS server and the TLS client derived the same secrets: every line is there twice.
  const counts = new Map<string, number>()
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1)
  assert.deepEqual([...new Set(counts.values())], [2])
  assert.equal(keylog.lines, lines.length)
  assert.equal((await stat(keylog.path)).mode & 0o777, 0o600)
})

test('a TLS 1.2 handshake logs a CLIENT_RANDOM line with the 48-byte master secret', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir)
  const keylog = openKeyLog(join(dir, 'keys.log'))
  const srv = await listen(
    net.createServer(async (socket) => {
      socket.on('error', () => {})
      const { tls: s } = await acceptTls(socket, { ca, fallbackNames: ['mail.test'], keylog })
      s.on('error', () => {})
      s.write('+OK\r\n')
    }),
  )
  t.after(srv.close)
  const c = tls.connect({ host: '127.0.0.1', port: srv.port, ca: ca.certPem, servername: 'mail.test', maxVersion: 'TLSv1.2' })
  await readUntil(c, '\r\n')
  assert.equal(c.getProtocol(), 'TLSv1.2')
  c.destroy()
  await keylog.close()
  const lines = await readLines(keylog.path)
  assert.equal(lines.length, 1)
  const m = LINE.exec(lines[0]!)
  assert.equal(m?.[1], 'CLIENT_RANDOM')
  assert.equal(m?.[3]?.length, 96)
})

test('lines are appended to an existing key log, never overwriting it', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const path = join(dir, 'keys.log')
  const first = openKeyLog(path)
  first.write('CLIENT_RANDOM ' + 'a'.repeat(64) + ' ' + 'b'.repeat(96))
  await first.close()
  const second = openKeyLog(path)
  second.write(Buffer.from('CLIENT_RANDOM ' + 'c'.repeat(64) + ' ' + 'd'.repeat(96) + '\n'))
  await second.close()
  const lines = await readLines(path)
  assert.equal(lines.length, 2)
  assert.ok(lines[0]!.includes('aaaa') && lines[1]!.includes('cccc'))
})

test('--keylog wins over SSLKEYLOGFILE, which is used when the flag is absent', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const env = { SSLKEYLOGFILE: join(dir, 'env.log') }
  const fromFlag = openKeyLogFromOptions(join(dir, 'flag.log'), env)
  const fromEnv = openKeyLogFromOptions(undefined, env)
  assert.equal(fromFlag?.path, join(dir, 'flag.log'))
  assert.equal(fromEnv?.path, join(dir, 'env.log'))
  assert.equal(openKeyLogFromOptions(undefined, {}), undefined)
  await fromFlag?.close()
  await fromEnv?.close()
})
