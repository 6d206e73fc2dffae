// Deleting through the API tells dashboards on /ws: a `session-deleted` message goes to
// list subscribers and to that session's subscribers, whose subscription ends.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { attachHub } from '../../proxy/hub/hub.ts'
import { SessionRecorder } from '../../proxy/session/recorder.ts'
import { TestClient } from '../hub/harness.ts'
import { openTestStore, recordTranscript, startTestApi } from './helpers.ts'

const bounded = { timeout: 20_000 }

async function start(t: { after(fn: () => unknown): void }) {
  const ts = await openTestStore()
  const api = await startTestApi(ts, { attachWs: (server) => void attachHub(server, { feed: ts.feed, store: ts.store }) })
  t.after(async () => {
    await api.close()
    await ts.close()
  })
  const ws = api.url.replace(/^http/, 'ws') + '/ws'
  return { ts, api, ws }
}

test('deleting a session sends session-deleted to list and session subscribers only', bounded, async (t) => {
  const { ts, api, ws } = await start(t)
  const a = await recordTranscript(ts.feed, 'smtp', 'S: 220 hi\nC: QUIT\nS: 221 bye\n')
  const b = await recordTranscript(ts.feed, 'pop3', 'S: +OK hi\nC: QUIT\nS: +OK bye\n')
  await ts.store.flush()

  const lister = await TestClient.connect(t, ws)
  lister.send({ type: 'subscribe-list' })
  const watcher = await TestClient.connect(t, ws)
  watcher.send({ type: 'subscribe', sessionId: a.id })
  const bystander = await TestClient.connect(t, ws)
  bystander.send({ type: 'subscribe', sessionId: b.id })
  await Promise.all([lister.sync(), watcher.sync(), bystander.sync()])

  const res = await fetch(`${api.url}/api/sessions/${a.id}`, { method: 'DELETE' })
  assert.equal(res.status, 200)
  const expected = { type: 'session-deleted', sessionIds: [a.id] }
  assert.deepEqual(await lister.waitFor((m) => m.type === 'session-deleted'), expected)
  assert.deepEqual(await watcher.waitFor((m) => m.type === 'session-deleted'), expected)
  await bystander.sync()
  assert.equal(bystander.messages.filter((m) => m.type === 'session-deleted').length, 0, 'a client watching another session hears nothing')
})

test('deleting all sends the ids of every session removed, never the live one', bounded, async (t) => {
  const { ts, api, ws } = await start(t)
  const a = await recordTranscript(ts.feed, 'smtp', 'S: 220 hi\nC: QUIT\nS: 221 bye\n')
  const b = await recordTranscript(ts.feed, 'imap', 'S: * OK hi\nC: a LOGOUT\nS: * BYE\nS: a OK bye\n')
  const live = new SessionRecorder(ts.feed, {
    protocol: 'smtp',
    route: { id: 'smtp', listenUrl: 'smtp://127.0.0.1:1', upstreamUrl: 'smtp://127.0.0.1:2' },
    client: { address: '127.0.0.1', port: 3 },
    server: { address: '127.0.0.1', port: 2 },
  })
  t.after(() => live.close('proxy-shutdown'))
  live.chunk('server', Buffer.from('220 ready\r\n'))
  await ts.store.flush()

  const lister = await TestClient.connect(t, ws)
  lister.send({ type: 'subscribe-list' })
  await lister.sync()
  const res = await fetch(`${api.url}/api/sessions`, { method: 'DELETE' })
  assert.deepEqual(await res.json(), { deleted: 2 })
  const msg = await lister.waitFor((m) => m.type === 'session-deleted')
  assert.equal(msg.type, 'session-deleted')
  assert.deepEqual([...(msg as { sessionIds: string[] }).sessionIds].sort(), [a.id, b.id].sort())

  // Nothing left to delete: no message at all.
  await fetch(`${api.url}/api/sessions`, { method: 'DELETE' })
  await lister.sync()
  assert.equal(lister.messages.filter((m) => m.type === 'session-deleted').length, 1)
})
