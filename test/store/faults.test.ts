// The store when things go wrong: failing or slow disks, torn files after a crash,
// data from an older or newer mailtap.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Feed } from '../../proxy/feed.ts'
import { CRASH_DETAIL, NewerFormatError, openStore, type StoreIo } from '../../proxy/store/index.ts'
import { nodeIo } from '../../proxy/store/log.ts'
import type { Note, Session } from '../../shared/schema.ts'
import { FeedSession, command, defer, reply } from './publish.ts'

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mailtap-faults-'))
  defer(t, () => rm(dir, { recursive: true, force: true }))
  return dir
}

function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
}

/** node:fs, except that writes to events logs fail while `full` is true. */
function diskThatFills(): { io: StoreIo; full: boolean } {
  const state = {
    full: false,
    io: {
      async open(path, mode) {
        const file = await nodeIo.open(path, mode)
        return {
          write: async (chunks, position) => {
            if (state.full && path.endsWith('events.ndjson')) throw enospc()
            return file.write(chunks, position)
          },
          close: () => file.close(),
        }
      },
    } as StoreIo,
  }
  return state
}

test('a failing disk leaves a gap: the session is marked, one RECORDING_GAP note goes out, recording resumes', async (t) => {
  const dir = await tempDir(t)
  const feed = new Feed()
  const disk = diskThatFills()
  const gaps: { id: string; note: Note }[] = []
  let s!: FeedSession
  let gapped!: () => void
  const gapSeen = new Promise<void>((resolve) => (gapped = resolve))
  const store = await openStore({
    dir,
    feed,
    io: disk.io,
    onGap: (id, note) => {
      gaps.push({ id, note })
      // What the lead wires: SessionRecorder.gap(note) publishes a numbered note event.
      s.event({ from: 'proxy', notes: [note] })
      gapped()
    },
  })

  s = new FeedSession(feed)
  s.chunk('server', '220 hi\r\n', reply('220', 'hi'))
  await new Promise((r) => setTimeout(r, 10))
  disk.full = true
  // Forwarding goes on: publishing never throws or waits while the disk refuses writes.
  for (let i = 0; i < 50; i++) s.chunk('client', `NOOP ${i}\r\n`, command('NOOP'))
  await gapSeen
  assert.equal(gaps.length, 1)
  assert.equal(gaps[0]!.id, s.id)
  assert.equal(gaps[0]!.note.code, 'RECORDING_GAP')
  assert.match(gaps[0]!.note.text, /ENOSPC/)
  disk.full = false
  s.chunk('client', 'QUIT\r\n', command('QUIT'))
  s.close()
  await store.close()

  const reopened = await openStore({ dir, feed: new Feed() })
  defer(t, () => reopened.close())
  const session = reopened.get(s.id)!
  assert.equal(session.gaps, true)
  const events = await reopened.events(s.id)
  // The raw capture kept every byte at its true offset; the events written while the
  // disk was full are missing, the ones after are there.
  assert.equal((await reopened.raw(s.id, 'client')).toString().split('\r\n').at(-2), 'QUIT')
  assert.ok(events.some((e) => e.notes?.some((n) => n.code === 'RECORDING_GAP')))
  assert.ok(events.some((e) => e.item?.kind === 'command' && e.item.verb === 'QUIT'))
  assert.ok(events.length < s.session.totals.events)
})

test('a disk that stops answering costs bounded memory: new data is dropped as a gap', async (t) => {
  const dir = await tempDir(t)
  const feed = new Feed()
  const stuck: (() => void)[] = []
  const io: StoreIo = {
    async open(path, mode) {
      const file = await nodeIo.open(path, mode)
      return {
        write: (chunks, position) =>
          new Promise<void>((resolve, reject) => stuck.push(() => file.write(chunks, position).then(resolve, reject))),
        close: () => file.close(),
      }
    },
  }
  const gaps: string[] = []
  const store = await openStore({ dir, feed, io, maxHeldBytes: 256 * 1024, onGap: (id) => gaps.push(id) })
  const s = new FeedSession(feed)
  const chunk = Buffer.alloc(16 * 1024, 0x61)
  for (let i = 0; i < 200; i++) s.chunk('client', chunk)
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(gaps, [s.id])
  assert.equal(store.get(s.id)?.gaps, true)
  // Let the disk answer again so the store can close.
  const release = setInterval(() => stuck.splice(0).forEach((go) => go()), 5)
  s.close()
  await store.close()
  clearInterval(release)
})

test('a torn last line is cut off and a session live at the crash is closed as crashed', async (t) => {
  const dir = await tempDir(t)
  const feed = new Feed()
  const store = await openStore({ dir, feed })
  const s = new FeedSession(feed, { user: 'alice' })
  s.chunk('server', '220 hi\r\n', reply('220', 'hi'))
  s.chunk('client', 'EHLO x\r\n', command('EHLO', 'x'))
  await store.flush()
  // Simulate kill -9: no close; a half-written line at the end of the log.
  await appendFile(join(dir, 'sessions', s.id, 'events.ndjson'), '{"seq":3,"at":1,"fr')
  const orphan = 'zz-orphan-session'
  await mkdir(join(dir, 'sessions', orphan))
  await writeFile(join(dir, 'sessions', orphan, 'session.json'), JSON.stringify({ ...s.session, id: orphan, status: 'live' }))
  await writeFile(join(dir, 'sessions', orphan, 'events.ndjson'), JSON.stringify({ seq: 1, at: 5, from: 'proxy' }) + '\n')

  const reopened = await openStore({ dir, feed: new Feed() })
  defer(t, () => reopened.close())
  const session = reopened.get(s.id)!
  assert.equal(session.status, 'closed')
  assert.equal(session.closeReason, 'error')
  assert.equal(session.closeDetail, CRASH_DETAIL)
  assert.deepEqual(
    (await reopened.events(s.id)).map((e) => e.seq),
    [1, 2],
  )
  const text = await readFile(join(dir, 'sessions', s.id, 'events.ndjson'), 'utf8')
  assert.ok(text.endsWith('\n'))
  for (const line of text.trimEnd().split('\n')) JSON.parse(line)
  assert.equal(reopened.get(orphan)?.closeDetail, CRASH_DETAIL)
  assert.equal(reopened.list({}).total, 2)
  await store.close()
})

test('a hand-made format 0 directory is migrated on open', async (t) => {
  const dir = await tempDir(t)
  const session: Session = {
    id: 'v0-session',
    protocol: 'pop3',
    route: { id: 'pop3-1110', listenUrl: 'pop3://127.0.0.1:1110', upstreamUrl: 'pop3://127.0.0.1:110' },
    client: { address: '127.0.0.1', port: 5000 },
    server: { address: '127.0.0.1', port: 110 },
    tls: [],
    startedAt: 1_600_000_000_000,
    endedAt: 1_600_000_001_000,
    status: 'closed',
    // Format 0 counted events and bytes only.
    totals: { events: 1, bytesFromClient: 6, bytesFromServer: 0 } as Session['totals'],
  }
  const sdir = join(dir, 'sessions', session.id)
  await mkdir(sdir, { recursive: true })
  await writeFile(join(dir, 'index.json'), JSON.stringify({ sessions: [session] }))
  await writeFile(join(sdir, 'events.ndjson'), JSON.stringify({ seq: 1, at: 1, from: 'client' }) + '\n')
  await writeFile(join(sdir, 'client.bin'), 'STAT\r\n')
  await writeFile(join(sdir, 'message-1.eml'), 'Subject: old\r\n\r\nold body\r\n')

  const store = await openStore({ dir, feed: new Feed() })
  defer(t, () => store.close())
  assert.equal(store.get(session.id)?.totals.commands, 0)
  assert.equal(store.messageCount(session.id), 1)
  assert.equal((await store.message(session.id, 1))?.toString(), 'Subject: old\r\n\r\nold body\r\n')
  assert.equal((await store.raw(session.id, 'client')).toString(), 'STAT\r\n')
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))
  assert.equal(index.formatVersion, 1)
  assert.equal(index.sessions[0].session.id, session.id)
})

test('a data directory written by a newer mailtap is refused with a clear error', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'index.json'), JSON.stringify({ formatVersion: 99, settings: {}, sessions: [] }))
  await assert.rejects(openStore({ dir, feed: new Feed() }), (err: Error) => {
    assert.ok(err instanceof NewerFormatError)
    assert.match(err.message, /format 99.*newer mailtap/)
    return true
  })
})

test('an unreadable index.json is set aside and the index rebuilt from the session directories', async (t) => {
  const dir = await tempDir(t)
  const feed = new Feed()
  const store = await openStore({ dir, feed })
  const s = new FeedSession(feed)
  s.chunk('client', 'EHLO x\r\n', command('EHLO', 'x'))
  s.close()
  await store.close()
  await writeFile(join(dir, 'index.json'), '{"formatVersion":1,"sess')
  const reopened = await openStore({ dir, feed: new Feed() })
  defer(t, () => reopened.close())
  assert.equal(reopened.get(s.id)?.status, 'closed')
  assert.equal(reopened.get(s.id)?.closeReason, 'client-closed')
  assert.equal((await reopened.events(s.id)).length, 2)
})
