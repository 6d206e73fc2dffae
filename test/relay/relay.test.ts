// The relay with real sockets on loopback: bytes go through unchanged and are captured
// exactly, backpressure bounds what is in flight, half-close is carried over, and an
// unreachable upstream gets the protocol's own error reply.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { Feed } from '../../proxy/feed.ts'
import { listenRoute } from '../../proxy/relay/listener.ts'
import { parseRoute } from '../../proxy/config.ts'
import type { Session, SessionEvent } from '../../shared/schema.ts'

interface Capture {
  client: Buffer[]
  server: Buffer[]
  events: SessionEvent[]
  closed: Promise<Session>
}

function capture(feed: Feed): Capture {
  const c: Capture = { client: [], server: [], events: [], closed: undefined as never }
  feed.on('chunk', (_id, side, bytes) => c[side].push(Buffer.from(bytes)))
  feed.on('event', (_id, ev) => c.events.push(ev))
  c.closed = new Promise((resolve) => feed.once('session-closed', resolve))
  return c
}

const sha = (b: Buffer | Buffer[]) => createHash('sha256').update(Array.isArray(b) ? Buffer.concat(b) : b).digest('hex')

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as net.AddressInfo).port
}

async function proxy(protocol: string, upstreamPort: number, extra: { idleTimeoutMs?: number; connectTimeoutMs?: number; host?: string } = {}) {
  const feed = new Feed()
  const cap = capture(feed)
  const route = parseRoute(`${protocol}://127.0.0.1:0=${protocol}://${extra.host ?? '127.0.0.1'}:${upstreamPort}`)
  const l = await listenRoute(route, {
    feed,
    idleTimeoutMs: extra.idleTimeoutMs ?? 0,
    connectTimeoutMs: extra.connectTimeoutMs ?? 5000,
  })
  return { feed, cap, port: l.port, close: () => l.close() }
}

function readAll(socket: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = []
  socket.on('data', (d) => parts.push(d))
  return new Promise((resolve, reject) => {
    socket.on('end', () => resolve(Buffer.concat(parts)))
    socket.on('error', reject)
  })
}

test('bytes pass unchanged both ways and the capture equals what each side sent', async () => {
  const fromServer = randomBytes(3 * 1024 * 1024 + 17)
  const fromClient = randomBytes(2 * 1024 * 1024 + 5)
  let serverGot!: Promise<Buffer>
  const upstream = net.createServer({ allowHalfOpen: true }, (s) => {
    serverGot = readAll(s)
    // Server-first, like SMTP: a greeting, then a large body.
    s.write('220 ready\r\n')
    s.end(fromServer)
  })
  const p = await proxy('smtp', await listen(upstream))
  const client = net.connect(p.port, '127.0.0.1')
  const clientGot = readAll(client)
  client.end(fromClient)
  const [got] = await Promise.all([clientGot])
  const session = await p.cap.closed
  assert.equal(sha(got), sha(Buffer.concat([Buffer.from('220 ready\r\n'), fromServer])))
  assert.equal(sha(await serverGot), sha(fromClient))
  assert.equal(sha(p.cap.client), sha(fromClient))
  assert.equal(sha(p.cap.server), sha(got))
  assert.equal(session.totals.bytesFromClient, fromClient.length)
  assert.equal(session.totals.bytesFromServer, got.length)
  assert.equal(session.status, 'closed')
  assert.match(session.closeReason!, /client-closed|server-closed/)
  await p.close()
  upstream.close()
})

test('a client that stops reading holds the upstream back instead of filling memory', async () => {
  const total = 64 * 1024 * 1024
  let sent = 0
  const upstream = net.createServer((s) => {
    const block = Buffer.alloc(256 * 1024, 0x61)
    const pump = () => {
      while (sent < total) {
        sent += block.length
        if (!s.write(block)) return void s.once('drain', pump)
      }
      s.end()
    }
    pump()
    s.on('error', () => undefined)
  })
  const p = await proxy('pop3', await listen(upstream))
  const client = net.connect(p.port, '127.0.0.1')
  client.pause()
  await new Promise((r) => setTimeout(r, 700))
  const relayed = p.cap.server.reduce((n, b) => n + b.length, 0)
  // Kernel buffers on both legs plus one highWaterMark: far below the 64 MB offered.
  assert.ok(relayed < 16 * 1024 * 1024, `relayed ${relayed} bytes to a client that reads nothing`)
  assert.ok(sent < total, 'the upstream was not held back')
  client.resume()
  let got = 0
  client.on('data', (d) => (got += d.length))
  await new Promise((r) => client.on('end', r))
  assert.equal(got, total)
  await p.cap.closed
  await p.close()
  upstream.close()
})

test('a half-close is carried over and the reply still arrives', async () => {
  const upstream = net.createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = []
    s.on('data', (d) => parts.push(d))
    // Only after the client's FIN does the server answer, then close its side.
    s.on('end', () => s.end(`+OK got ${Buffer.concat(parts).length} bytes\r\n`))
  })
  const p = await proxy('pop3', await listen(upstream))
  const client = net.connect({ port: p.port, host: '127.0.0.1', allowHalfOpen: true })
  const got = readAll(client)
  client.end('QUIT\r\n')
  assert.equal((await got).toString(), '+OK got 6 bytes\r\n')
  const session = await p.cap.closed
  assert.equal(session.closeReason, 'client-closed')
  const halfCloses = p.cap.events.filter((e) => e.item?.kind === 'lifecycle' && e.item.phase === 'half-close')
  assert.deepEqual(halfCloses.map((e) => (e.item as { side: string }).side), ['client', 'server'])
  await p.close()
  upstream.close()
})

for (const [protocol, reply] of [
  ['smtp', /^421 4\.4\.1 mailtap: upstream 127\.0\.0\.1:\d+ unreachable: connection refused\r\n$/],
  ['pop3', /^-ERR \[SYS\/TEMP\] mailtap: upstream 127\.0\.0\.1:\d+ unreachable: connection refused\r\n$/],
  ['imap', /^\* BYE \[UNAVAILABLE\] mailtap: upstream 127\.0\.0\.1:\d+ unreachable: connection refused\r\n$/],
] as const) {
  test(`a refused ${protocol} upstream gets the protocol's own error reply and a failed session`, async () => {
    const probe = net.createServer()
    const closedPort = await listen(probe)
    await new Promise<void>((r) => probe.close(() => r()))
    const p = await proxy(protocol, closedPort)
    const client = net.connect(p.port, '127.0.0.1')
    const got = await readAll(client)
    assert.match(got.toString(), reply)
    const session = await p.cap.closed
    assert.equal(session.status, 'failed')
    assert.equal(session.closeReason, 'upstream-unreachable')
    assert.match(session.closeDetail!, /connection refused/)
    assert.ok(p.cap.events.some((e) => e.notes?.some((n) => n.code === 'UPSTREAM_UNREACHABLE')))
    await p.close()
  })
}

test('a DNS failure names the upstream and the cause', async () => {
  const p = await proxy('smtp', 25, { host: 'no-such-host.invalid' })
  const client = net.connect(p.port, '127.0.0.1')
  const got = (await readAll(client)).toString()
  assert.match(got, /^421 4\.4\.1 mailtap: upstream no-such-host\.invalid:25 unreachable: DNS lookup failed/)
  const session = await p.cap.closed
  assert.equal(session.closeReason, 'upstream-unreachable')
  await p.close()
})

test('an upstream that never accepts times out with a 421', async () => {
  // A listener with a full accept queue drops further SYNs: the connect hangs.
  const py = spawn('python3', ['-c', `
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
print(s.getsockname()[1], flush=True)
fill = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', s.getsockname()[1]))
    except BlockingIOError: pass
    fill.append(c)
time.sleep(30)
`], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = Number(await new Promise<string>((r) => py.stdout.once('data', (d) => r(String(d).trim()))))
    await new Promise((r) => setTimeout(r, 200))
    const p = await proxy('pop3', port, { connectTimeoutMs: 500 })
    const client = net.connect(p.port, '127.0.0.1')
    const got = (await readAll(client)).toString()
    assert.match(got, /^-ERR \[SYS\/TEMP\] mailtap: upstream 127\.0\.0\.1:\d+ unreachable: connect timed out after 0\.5 s/)
    assert.equal((await p.cap.closed).closeReason, 'upstream-unreachable')
    await p.close()
  } finally {
    py.kill()
  }
})

test('an idle session is closed with reason idle-timeout', async () => {
  const upstream = net.createServer((s) => s.write('* OK ready\r\n'))
  const p = await proxy('imap', await listen(upstream), { idleTimeoutMs: 300 })
  const client = net.connect(p.port, '127.0.0.1')
  client.on('data', () => undefined)
  const session = await p.cap.closed
  assert.equal(session.closeReason, 'idle-timeout')
  client.destroy()
  await p.close()
  upstream.close()
})

test('the idle timeout counts from the last byte of either side: a server talking to a silent client keeps the session, then silence ends it', { timeout: 20_000 }, async () => {
  // Like IMAP IDLE: the server sends updates while the client says nothing.
  let sent = 0
  const upstream = net.createServer((s) => {
    s.on('error', () => undefined)
    s.write('* OK ready\r\n')
    const timer = setInterval(() => {
      s.write(`* ${++sent} EXISTS\r\n`)
      if (sent === 8) clearInterval(timer)
    }, 100)
    s.on('close', () => clearInterval(timer))
  })
  const p = await proxy('imap', await listen(upstream), { idleTimeoutMs: 300 })
  const client = net.connect(p.port, '127.0.0.1')
  let received = ''
  client.on('data', (d) => (received += d.toString()))
  client.on('error', () => undefined)
  const session = await p.cap.closed
  assert.equal(session.closeReason, 'idle-timeout')
  // It was not cut while the server talked (800 ms, more than twice the timeout)...
  assert.equal(sent, 8)
  assert.match(received, /\* 8 EXISTS\r\n$/)
  client.destroy()
  await p.close()
  upstream.close()
})

test('a client reset mid-stream ends the session as client-reset and closes the upstream', async () => {
  let upstreamClosed!: Promise<void>
  const upstream = net.createServer((s) => {
    upstreamClosed = new Promise((r) => s.on('close', () => r()))
    s.on('error', () => undefined)
    s.resume()
    s.write('220 ready\r\n')
  })
  const p = await proxy('smtp', await listen(upstream))
  const client = net.connect(p.port, '127.0.0.1')
  await new Promise((r) => client.once('data', r))
  client.write('DATA\r\npartial body line\r\n')
  await new Promise((r) => setTimeout(r, 50))
  client.resetAndDestroy()
  const session = await p.cap.closed
  assert.equal(session.closeReason, 'client-reset')
  await upstreamClosed
  await p.close()
  upstream.close()
})
