// The recording store: what goes in through the feed comes back out, list filters,
// paging, reopen, delete, retention.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Feed } from '../../proxy/feed.ts'
import { openStore, type Store } from '../../proxy/store/index.ts'
import { SessionRecorder } from '../../proxy/session/recorder.ts'
import { FeedSession, command, defer, reply } from './publish.ts'

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mailtap-store-'))
  defer(t, () => rm(dir, { recursive: true, force: true }))
  return dir
}

async function withStore(t: { after(fn: () => unknown): void }, opts: Partial<Parameters<typeof openStore>[0]> = {}) {
  const dir = opts.dir ?? (await tempDir(t))
  const feed = opts.feed ?? new Feed()
  const store = await openStore({ ...opts, dir, feed })
  defer(t, () => store.close())
  return { dir, feed, store }
}

function smtpExchange(s: FeedSession): void {
  s.chunk('server', '220 mx.example ESMTP\r\n', reply('220', 'mx.example ESMTP'))
  s.chunk('client', 'EHLO laptop\r\n', command('EHLO', 'laptop'))
  s.chunk('server', '250 mx.example\r\n', reply('250', 'mx.example'))
  s.chunk('client', 'AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n', command('AUTH', 'PLAIN •••'), {
    secrets: [{ kind: 'password', value: 'secret' }],
  })
  s.chunk('server', '235 2.7.0 ok\r\n', reply('235', 'ok'))
}

test('a session published on the feed reads back: summary, events with secrets, raw bytes and messages', async (t) => {
  const { store, feed } = await withStore(t)
  const s = new FeedSession(feed, { user: 'alice' })
  smtpExchange(s)
  s.message('Subject: hola\r\n\r\nque tal\r\n')
  s.close()

  assert.equal(store.get(s.id)?.status, 'closed')
  const events = await store.events(s.id)
  assert.deepEqual(
    events.map((e) => e.seq),
    [1, 2, 3, 4, 5, 6, 7],
  )
  assert.deepEqual(events[3]!.secrets, [{ kind: 'password', value: 'secret' }])
  assert.equal((await store.raw(s.id, 'client')).toString(), 'EHLO laptop\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n')
  assert.equal((await store.raw(s.id, 'server', { start: 4, end: 14 })).toString(), 'mx.example')
  assert.equal(store.rawLength(s.id, 'server'), '220 mx.example ESMTP\r\n250 mx.example\r\n235 2.7.0 ok\r\n'.length)
  assert.equal(store.messageCount(s.id), 1)
  assert.equal((await store.message(s.id, 1))?.toString(), 'Subject: hola\r\n\r\nque tal\r\n')
  assert.equal(await store.message(s.id, 2), undefined)
  assert.deepEqual(await store.events('no-such-session'), [])
})

test('events and raw bytes of a live session are readable before any timer flushed them', async (t) => {
  const { store, feed } = await withStore(t, { flushIntervalMs: 60_000 })
  const s = new FeedSession(feed)
  smtpExchange(s)
  const events = await store.events(s.id, { after: 2 })
  assert.deepEqual(
    events.map((e) => e.seq),
    [3, 4, 5],
  )
  assert.equal((await store.raw(s.id, 'client')).length, store.rawLength(s.id, 'client'))
})

test('a large message written in many pieces reads back byte for byte from its own file', async (t) => {
  const { store, feed, dir } = await withStore(t)
  const s = new FeedSession(feed)
  const body = Buffer.alloc(300 * 1024)
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff
  s.message(body, 37)
  s.close()
  assert.ok((await store.message(s.id, 1))!.equals(body))
  const onDisk = await stat(join(dir, 'sessions', s.id, 'messages', '1.eml'))
  assert.equal(onDisk.size, body.length)
})

test('events after a seq with a limit page through a long session in order', async (t) => {
  const { store, feed } = await withStore(t)
  const s = new FeedSession(feed)
  for (let i = 0; i < 1500; i++) s.chunk('client', `NOOP ${i}\r\n`, command('NOOP', String(i)))
  const page = await store.events(s.id, { after: 1234, limit: 10 })
  assert.deepEqual(
    page.map((e) => e.seq),
    [1235, 1236, 1237, 1238, 1239, 1240, 1241, 1242, 1243, 1244],
  )
  s.close()
  const again = await store.events(s.id, { after: 1495 })
  assert.deepEqual(
    again.map((e) => e.seq),
    [1496, 1497, 1498, 1499, 1500, 1501],
  )
})

test('list filters by protocol, user, status, text, time range and errors, newest first, paginated', async (t) => {
  const { store, feed } = await withStore(t)
  const base = 1_700_000_000_000
  const a = new FeedSession(feed, { protocol: 'smtp', startedAt: base + 1000, user: 'alice@example.com' })
  a.chunk('server', '550 5.7.1 relay denied\r\n', reply('550', 'relay denied'), {
    notes: [{ level: 'error', code: 'REPLY_ERROR', text: 'rejected' }],
  })
  a.session.lastReply = '550 relay denied'
  a.close()
  const b = new FeedSession(feed, { protocol: 'imap', startedAt: base + 2000, user: 'bob' })
  b.close()
  const c = new FeedSession(feed, { protocol: 'pop3', startedAt: base + 3000, user: 'carol' })
  // An import with an old start time still sorts by time, not by arrival.
  const old = new FeedSession(feed, { protocol: 'smtp', startedAt: base })
  old.close()

  const ids = (r: { sessions: { id: string }[] }) => r.sessions.map((s) => s.id)
  assert.deepEqual(ids(store.list({})), [c.id, b.id, a.id, old.id])
  assert.deepEqual(ids(store.list({ protocol: 'smtp' })), [a.id, old.id])
  assert.deepEqual(ids(store.list({ user: 'ALICE' })), [a.id])
  assert.deepEqual(ids(store.list({ status: 'live' })), [c.id])
  assert.deepEqual(ids(store.list({ q: 'relay DENIED' })), [a.id])
  assert.deepEqual(ids(store.list({ from: base + 1500, to: base + 2500 })), [b.id])
  assert.deepEqual(ids(store.list({ hasErrors: true })), [a.id])
  assert.deepEqual(ids(store.list({ hasErrors: false })), [c.id, b.id, old.id])
  const page = store.list({ offset: 1, limit: 2 })
  assert.deepEqual(ids(page), [b.id, a.id])
  assert.equal(page.total, 4)
})

test('a reopened store lists the same sessions and reads their events', async (t) => {
  const dir = await tempDir(t)
  const feed = new Feed()
  const first = await openStore({ dir, feed })
  const s = new FeedSession(feed, { user: 'alice' })
  smtpExchange(s)
  s.close()
  const live = new FeedSession(feed)
  live.chunk('client', 'EHLO x\r\n', command('EHLO', 'x'))
  await first.close()

  const second = await openStore({ dir, feed: new Feed() })
  defer(t, () => second.close())
  assert.equal(second.get(s.id)?.user, 'alice')
  assert.equal(second.get(s.id)?.totals.events, 6)
  assert.equal((await second.events(s.id)).length, 6)
  // Still live when the store closed: it ends as a proxy shutdown, not as a crash.
  assert.equal(second.get(live.id)?.status, 'closed')
  assert.equal(second.get(live.id)?.closeReason, 'proxy-shutdown')
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))
  assert.equal(index.formatVersion, 1)
})

test('delete removes one closed session and its files; a live session cannot be deleted', async (t) => {
  const { store, feed, dir } = await withStore(t)
  const done = new FeedSession(feed)
  smtpExchange(done)
  done.close()
  const live = new FeedSession(feed)
  await store.flush()
  assert.equal(await store.delete(done.id), true)
  assert.equal(store.get(done.id), undefined)
  assert.equal(await store.delete(done.id), false)
  assert.equal(await store.delete(live.id), false)
  assert.deepEqual(await readdir(join(dir, 'sessions')), [live.id])

  const other = new FeedSession(feed)
  other.close()
  await store.deleteAll()
  assert.deepEqual(
    store.list({}).sessions.map((s) => s.id),
    [live.id],
  )
})

test('retention by count prunes the oldest closed sessions first and never a live one', async (t) => {
  const { store, feed } = await withStore(t, { retention: { maxSessions: 3 } })
  const oldestLive = new FeedSession(feed, { startedAt: 1000 })
  const closed: FeedSession[] = []
  for (let i = 0; i < 5; i++) {
    const s = new FeedSession(feed, { startedAt: 2000 + i })
    s.chunk('client', 'QUIT\r\n', command('QUIT'))
    s.close()
    closed.push(s)
  }
  await store.flush()
  const ids = store.list({}).sessions.map((s) => s.id)
  assert.deepEqual(ids, [closed[4]!.id, closed[3]!.id, oldestLive.id])
})

test('retention by bytes and by age prunes oldest first', async (t) => {
  const { store, feed } = await withStore(t, { retention: { maxBytes: 5000 } })
  const sessions: FeedSession[] = []
  for (let i = 0; i < 6; i++) {
    const s = new FeedSession(feed, { startedAt: 5000 + i })
    s.chunk('client', Buffer.alloc(1000, 0x41))
    s.close()
    sessions.push(s)
  }
  await store.flush()
  const kept = store.list({}).sessions.map((s) => s.id)
  assert.ok(kept.length >= 2 && kept.length < 6, `kept ${kept.length}`)
  assert.deepEqual(kept, sessions.slice(6 - kept.length).reverse().map((s) => s.id))
  assert.ok(store.size().bytes <= 5000)

  const aged = await withStore(t, { retention: { maxAgeMs: 60_000 } })
  const ancient = new FeedSession(aged.feed, { startedAt: Date.now() - 3_600_000 })
  ancient.close('client-closed', Date.now() - 3_500_000)
  const recent = new FeedSession(aged.feed)
  recent.close()
  await aged.store.flush()
  assert.deepEqual(
    aged.store.list({}).sessions.map((s) => s.id),
    [recent.id],
  )
})

test('settings persist in index.json across a reopen', async (t) => {
  const dir = await tempDir(t)
  const first: Store = await openStore({ dir, feed: new Feed() })
  first.updateSettings({ language: 'es' })
  await first.close()
  const second = await openStore({ dir, feed: new Feed() })
  defer(t, () => second.close())
  assert.equal(second.settings().language, 'es')
})

test('data directories and capture files are private to the user', async (t) => {
  const { store, feed, dir } = await withStore(t)
  const s = new FeedSession(feed)
  smtpExchange(s)
  s.close()
  await store.flush()
  assert.equal((await stat(join(dir, 'sessions', s.id))).mode & 0o777, 0o700)
  assert.equal((await stat(join(dir, 'sessions', s.id, 'events.ndjson'))).mode & 0o077, 0)
})

test('a DATA message is kept as its place in the capture, not a second copy; BDAT chunks are copied', async (t) => {
  const { store, feed, dir } = await withStore(t, { flushIntervalMs: 60_000 })
  const rec = new SessionRecorder(feed, {
    protocol: 'smtp',
    route: { id: 'r', listenUrl: 'smtp://127.0.0.1:1', upstreamUrl: 'smtp://127.0.0.1:2' },
    client: { address: '127.0.0.1', port: 1 },
    server: { host: '127.0.0.1', address: '127.0.0.1', port: 2 },
  })
  const body = Buffer.concat(Array.from({ length: 2000 }, (_, i) => Buffer.from(`${i % 3 ? '' : '.'}line ${i} of the body\r\n`)))
  const unstuffed = Buffer.from(body.toString('latin1').replace(/^\./gm, ''), 'latin1')
  const say = (side: 'client' | 'server', text: string | Buffer) => rec.chunk(side, Buffer.from(text))
  say('server', '220 mx ESMTP\r\n')
  say('client', 'EHLO me\r\n')
  say('server', '250-mx\r\n250 CHUNKING\r\n')
  say('client', 'MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n')
  say('server', '250 ok\r\n250 ok\r\n354 go\r\n')
  // Dot-stuffed lines, split across chunks at odd places, then the terminator.
  for (let i = 0; i < body.length; i += 4093) say('client', body.subarray(i, i + 4093))
  // Readable while the session is live and before any flush timer ran.
  say('client', '.\r\n')
  assert.ok((await store.message(rec.id, 1))!.equals(unstuffed), 'message 1 read back live')
  say('server', '250 queued\r\n')
  say('client', 'MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nBDAT 6\r\nHello BDAT 7 LAST\r\nworld\r\n')
  say('server', '250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n')
  await rec.close('client-closed')
  await store.flush()

  const files = (await readdir(join(dir, 'sessions', rec.id, 'messages'))).sort()
  assert.deepEqual(files, ['1.json', '2.eml'])
  assert.ok((await store.message(rec.id, 1))!.equals(unstuffed))
  assert.equal((await store.message(rec.id, 2))!.toString(), 'Hello world\r\n')
  // The capture holds the body once; the map is a few bytes.
  assert.ok((await stat(join(dir, 'sessions', rec.id, 'messages', '1.json'))).size < 200)
  const map = JSON.parse(await readFile(join(dir, 'sessions', rec.id, 'messages', '1.json'), 'utf8'))
  assert.deepEqual(map, { side: 'client', offset: 'EHLO me\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n'.length, framing: 'dot', size: unstuffed.length })

  // Another store on the same directory (a restart) reads it the same way.
  await store.close()
  const again = await openStore({ dir, feed: new Feed() })
  defer(t, () => again.close())
  assert.equal(again.messageCount(rec.id), 2)
  assert.ok((await again.message(rec.id, 1))!.equals(unstuffed))
})
