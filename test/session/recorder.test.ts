// The session recorder: once 'session-closed' went out, the session is final. A message
// summary that arrives after the close stopped waiting for it adds no event, so the
// store (which has finished the session) and the session's counts agree.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SessionEvent } from '../../shared/schema.ts'
import { Feed } from '../../proxy/feed.ts'
import { SessionRecorder } from '../../proxy/session/recorder.ts'

test('a message summary that comes after the close is dropped, and the counts match the events', async (t) => {
  // Only the recorder's wait for summaries is on a mocked clock; the worker runs for real.
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const feed = new Feed()
  const events: SessionEvent[] = []
  feed.on('event', (_id, e) => events.push(e))
  let atClose = -1
  feed.on('session-closed', () => (atClose = events.length))
  const rec = new SessionRecorder(feed, {
    protocol: 'smtp',
    route: { id: 'r', listenUrl: 'smtp://127.0.0.1:1', upstreamUrl: 'smtp://127.0.0.1:2' },
    client: { address: '127.0.0.1', port: 1 },
    server: { host: '127.0.0.1', address: '127.0.0.1', port: 2 },
  })
  const say = (side: 'client' | 'server', text: string) => rec.chunk(side, Buffer.from(text))
  say('server', '220 mx ESMTP\r\n')
  say('client', 'EHLO me\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n')
  say('server', '250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n')
  say('client', 'Subject: late\r\n\r\nbody\r\n.\r\n')
  say('server', '250 queued\r\n')
  const closing = rec.close('client-closed')
  // The wait for the summary runs out before the worker can have answered.
  t.mock.timers.tick(2000)
  await closing
  assert.ok(atClose > 0)
  assert.equal(events.at(-1)?.item?.kind, 'lifecycle')
  // Now let the worker answer (real time passes; the recorder's promise settles).
  const pending = (rec as unknown as { pendingSummaries: Set<Promise<void>> }).pendingSummaries
  assert.equal(pending.size, 1, 'the summary was still owed at the close')
  await Promise.all([...pending])
  assert.equal(events.length, atClose, 'no event after session-closed')
  assert.equal(rec.session.totals.events, events.length)
  assert.ok(!events.some((e) => e.item?.kind === 'message' && e.item.phase === 'parsed'))
})
