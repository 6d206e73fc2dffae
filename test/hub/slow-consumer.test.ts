// A dashboard that stops reading must not slow a real TCP session nor grow the proxy's
// memory: it gets a `reset` and loses its subscriptions; one that keeps falling behind
// is closed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { FeedSession, command } from '../store/publish.ts'
import { TestClient, startHub } from './harness.ts'

const LIMIT = 64 * 1024
const LINE = `NOOP ${'x'.repeat(1000)}\r\n`
const TOTAL_BYTES = 12 * 1024 * 1024

/** The ws client's TCP socket, to stop reading from it. */
function rawSocket(c: TestClient): Duplex {
  return (c.ws as unknown as { _socket: Duplex })._socket
}

test('a dashboard that stops reading gets a reset while a real TCP session flows at full speed', { timeout: 60_000 }, async (t) => {
  const h = await startHub(t, { maxBufferedBytes: LIMIT })

  // A TCP sink standing in for the relay's server leg: every line that arrives becomes a
  // feed event, as the recorder would publish it.
  let session!: FeedSession
  let received = 0
  let opened!: () => void
  const sessionOpened = new Promise<void>((resolve) => (opened = resolve))
  let allArrived!: () => void
  const arrived = new Promise<void>((resolve) => (allArrived = resolve))
  const sink = createServer((sock: Socket) => {
    session = new FeedSession(h.feed)
    opened()
    let carry = ''
    sock.on('data', (data: Buffer) => {
      received += data.length
      const text = carry + data.toString('latin1')
      const lines = text.split('\r\n')
      carry = lines.pop()!
      session.chunk('client', data)
      for (const line of lines) session.event({ from: 'client', item: command('NOOP', line.slice(5)) })
      if (received === TOTAL_BYTES) allArrived()
    })
  })
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve))
  const client = connect((sink.address() as { port: number }).port, '127.0.0.1')
  t.after(() => {
    client.destroy()
    return new Promise((resolve) => sink.close(resolve))
  })
  await sessionOpened

  const slow = await TestClient.connect(t, h.url)
  slow.send({ type: 'subscribe-list' })
  slow.send({ type: 'subscribe', sessionId: session.id })
  await slow.sync()
  const healthy = await TestClient.connect(t, h.url)
  healthy.send({ type: 'subscribe-list' })
  await healthy.sync()
  rawSocket(slow).pause()

  // The mail client writes as fast as TCP lets it.
  const chunk = Buffer.from(LINE.repeat(64))
  let sent = 0
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < TOTAL_BYTES) {
        const piece = chunk.subarray(0, Math.min(chunk.length, TOTAL_BYTES - sent))
        sent += piece.length
        if (!client.write(piece)) return void client.once('drain', pump)
      }
      resolve()
    }
    pump()
  })
  // Every byte crossed while the dashboard was not reading: the producer never waited.
  await arrived
  assert.equal(received, TOTAL_BYTES)
  session.close()
  await healthy.waitFor((m) => m.type === 'session-closed')

  // Memory stayed bounded: the hub never queued past the limit for any socket.
  const stats = h.hub.stats()
  assert.ok(stats.peakBufferedBytes <= LIMIT, `peak ${stats.peakBufferedBytes} bytes buffered for a limit of ${LIMIT}`)
  assert.ok(stats.resets >= 1)

  rawSocket(slow).resume()
  const reset = await slow.waitFor((m) => m.type === 'reset')
  assert.equal(reset.type, 'reset')
  // After the reset it received nothing more for the session: it must reload first.
  const afterReset = slow.messages.slice(slow.messages.indexOf(reset) + 1)
  assert.deepEqual(
    afterReset.filter((m) => m.type === 'event'),
    [],
  )
  // The healthy dashboard saw the whole session.
  assert.equal(healthy.messages.filter((m) => m.type === 'reset').length, 0)
})

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5))
}

test('a dashboard that keeps falling behind after its resets is closed', { timeout: 60_000 }, async (t) => {
  const h = await startHub(t, { maxBufferedBytes: LIMIT, maxResets: 1, maxQueuedEvents: 1000 })
  const s = new FeedSession(h.feed)
  const slow = await TestClient.connect(t, h.url)
  const closed = new Promise<void>((resolve) => slow.ws.once('close', () => resolve()))
  rawSocket(slow).pause()
  // It re-subscribes after each reset but never reads: each round overflows again.
  for (let round = 0; slow.ws.readyState === slow.ws.OPEN && h.hub.stats().closedSlow === 0; round++) {
    assert.ok(round < 5, 'closed within maxResets + 1 rounds')
    slow.send({ type: 'subscribe', sessionId: s.id })
    await until(() => h.hub.stats().subscriptions === 1)
    const before = h.hub.stats()
    while (h.hub.stats().resets === before.resets && h.hub.stats().closedSlow === 0) {
      for (let i = 0; i < 200; i++) s.chunk('client', LINE, command('NOOP', LINE))
      await new Promise((r) => setImmediate(r))
    }
  }
  rawSocket(slow).resume()
  await closed
  assert.equal(h.hub.stats().closedSlow, 1)
  assert.equal(h.hub.stats().resets, 1)
})
