// The live hub at /ws: list updates, ordered events without secrets, replay then live,
// resume after reconnect, access control.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WebSocket } from 'ws'
import type { ServerMessage } from '../../shared/wire.ts'
import { FeedSession, command, reply } from '../store/publish.ts'
import { TestClient, range, startHub } from './harness.ts'

const bounded = { timeout: 30_000 }

test('a client gets hello, then the session list: opened, a few throttled updates, closed', bounded, async (t) => {
  const h = await startHub(t)
  const c = await TestClient.connect(t, h.url)
  assert.equal((c.messages[0] as Extract<ServerMessage, { type: 'hello' }>).wireVersion, 1)
  c.send({ type: 'subscribe-list' })
  await c.sync()

  const s = new FeedSession(h.feed)
  for (let i = 0; i < 300; i++) s.chunk('client', `NOOP ${i}\r\n`, command('NOOP'))
  // Updates are throttled, but the latest state always arrives.
  await c.waitFor((m) => m.type === 'session-updated' && m.session.totals.events === 300)
  const updates = c.messages.filter((m) => m.type === 'session-updated').length
  assert.ok(updates >= 1 && updates < 300, `${updates} updates for 300 published`)
  s.close()
  const closed = await c.waitFor<Extract<ServerMessage, { type: 'session-closed' }>>((m) => m.type === 'session-closed')
  assert.equal(closed.session.id, s.id)
  assert.equal(closed.session.totals.events, 301)
  const types = c.messages.filter((m) => 'session' in m).map((m) => m.type)
  assert.equal(types[0], 'session-opened')
  assert.equal(types.at(-1), 'session-closed')
  // Not subscribed to the session: no events.
  assert.deepEqual(c.eventSeqs(s.id), [])
})

test('events of a subscribed session arrive in order with secret values removed', bounded, async (t) => {
  const h = await startHub(t)
  const c = await TestClient.connect(t, h.url)
  const s = new FeedSession(h.feed)
  c.send({ type: 'subscribe', sessionId: s.id })
  s.chunk('server', '220 hi\r\n', reply('220', 'hi'))
  s.chunk('client', 'AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\r\n', command('AUTH', 'PLAIN •••'), {
    secrets: [{ kind: 'password', value: 'hunter2' }],
  })
  for (let i = 0; i < 200; i++) s.chunk('client', `NOOP ${i}\r\n`, command('NOOP'))
  await c.waitFor((m) => m.type === 'event' && m.event.seq === 202)
  assert.deepEqual(c.eventSeqs(s.id), range(1, 202))
  const auth = c.messages.find((m) => m.type === 'event' && m.event.seq === 2) as Extract<ServerMessage, { type: 'event' }>
  assert.deepEqual(auth.event.secrets, [{ kind: 'password', value: '•••' }])
  assert.ok(!JSON.stringify(c.messages).includes('hunter2'))
  // The store still has the secret, for an explicit request through the API.
  assert.equal((await h.store.events(s.id, { after: 1, limit: 1 }))[0]!.secrets![0]!.value, 'hunter2')
})

test('subscribing mid-session replays the stored events, then continues live, without duplicates or gaps', bounded, async (t) => {
  const h = await startHub(t)
  const s = new FeedSession(h.feed)
  for (let i = 0; i < 3000; i++) s.chunk('client', `NOOP ${i}\r\n`, command('NOOP'))
  const c = await TestClient.connect(t, h.url)
  c.send({ type: 'subscribe', sessionId: s.id })
  // Keep publishing while the history loads.
  await new Promise<void>((resolve) => {
    let n = 0
    const more = () => {
      for (let i = 0; i < 50; i++) s.chunk('server', '250 ok\r\n', reply('250', 'ok'))
      if (++n < 40) setImmediate(more)
      else resolve()
    }
    more()
  })
  await c.waitFor((m) => m.type === 'event' && m.event.seq === 5000)
  assert.deepEqual(c.eventSeqs(s.id), range(1, 5000))
})

test('a client that reconnects with the last seq it saw resumes from the next event', bounded, async (t) => {
  const h = await startHub(t)
  const s = new FeedSession(h.feed)
  const first = await TestClient.connect(t, h.url)
  first.send({ type: 'subscribe', sessionId: s.id })
  for (let i = 0; i < 100; i++) s.chunk('client', `NOOP ${i}\r\n`, command('NOOP'))
  await first.waitFor((m) => m.type === 'event' && m.event.seq === 100)
  const lastSeen = Math.max(...first.eventSeqs(s.id))
  first.ws.close()

  // Traffic goes on while the dashboard is away.
  for (let i = 0; i < 150; i++) s.chunk('server', '250 ok\r\n', reply('250', 'ok'))
  const second = await TestClient.connect(t, h.url)
  second.send({ type: 'subscribe', sessionId: s.id, afterSeq: lastSeen })
  for (let i = 0; i < 50; i++) s.chunk('client', `NOOP ${i}\r\n`, command('NOOP'))
  s.close()
  await second.waitFor((m) => m.type === 'event' && m.event.seq === 301)
  assert.deepEqual(second.eventSeqs(s.id), range(lastSeen + 1, 301))
})

test('subscribing to an unknown session answers with an error, and bad input does not break the socket', bounded, async (t) => {
  const h = await startHub(t)
  const c = await TestClient.connect(t, h.url)
  c.send({ type: 'subscribe', sessionId: 'nope' })
  const err = await c.waitFor<Extract<ServerMessage, { type: 'error' }>>((m) => m.type === 'error')
  assert.match(err.message, /unknown session nope/)
  c.ws.send('not json')
  c.ws.send(JSON.stringify({ type: 'launch-missiles' }))
  await c.sync()
  assert.equal(c.messages.filter((m) => m.type === 'error').length, 3)
})

test('an upgrade refused by verifyClient gets 403 and never a socket', bounded, async (t) => {
  const h = await startHub(t, { verifyClient: (req) => req.headers.authorization === 'Bearer s3cret' })
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(h.url)
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.on('error', () => undefined)
  })
  assert.equal(status, 403)
  const ok = new WebSocket(h.url, { headers: { authorization: 'Bearer s3cret' } })
  t.after(() => ok.terminate())
  await new Promise((resolve, reject) => ok.once('open', resolve).once('error', reject))
})
