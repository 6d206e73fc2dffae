// Crash safety, end to end: a child process records heavy traffic, gets kill -9, and a
// fresh store on the same directory must list every session and read every event that
// was published well before the kill, with no file left corrupt.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Feed } from '../../proxy/feed.ts'
import { CRASH_DETAIL, openStore } from '../../proxy/store/index.ts'
import { defer } from './publish.ts'

/** Ticks are 250 ms apart: what was published 5 ticks before the kill must survive. */
const SAFE_TICKS = 5
const KILL_AT_TICK = 10

test('after kill -9 during heavy traffic every session is listed and readable, nothing is torn', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mailtap-crash-'))
  defer(t, () => rm(dir, { recursive: true, force: true }))
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  defer(t, () => child.kill('SIGKILL'))

  // seq each session had reached, as of each tick.
  const history: Map<string, number>[] = []
  const seen = new Map<string, number>()
  for await (const line of createInterface({ input: child.stdout! })) {
    const { tick, seqs } = JSON.parse(line) as { tick: number; seqs: Record<string, number> }
    for (const [id, seq] of Object.entries(seqs)) seen.set(id, seq)
    history[tick] = new Map(seen)
    if (tick === KILL_AT_TICK) {
      process.kill(child.pid!, 'SIGKILL')
      break
    }
  }
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode ? resolve(null) : child.once('exit', resolve)))

  const store = await openStore({ dir, feed: new Feed() })
  defer(t, () => store.close())
  const safe = history[KILL_AT_TICK - SAFE_TICKS]!
  assert.ok(safe.size > 4, `the child recorded ${safe.size} sessions before the safe tick`)
  for (const [id, seq] of safe) {
    const session = store.get(id)
    assert.ok(session, `session ${id} is listed`)
    assert.notEqual(session.status, 'live')
    const events = await store.events(id)
    assert.ok(events.length >= seq, `${id}: ${events.length} events read, ${seq} were published`)
    events.forEach((e, i) => assert.equal(e.seq, i + 1, `${id}: events in order without holes`))
  }
  // Sessions that were live at the kill end as crashed, and nothing is left live.
  const all = store.list({ limit: 100_000 })
  assert.equal(all.total, (await readdir(join(dir, 'sessions'))).length)
  assert.ok(all.sessions.some((s) => s.closeDetail === CRASH_DETAIL))
  assert.equal(store.list({ status: 'live' }).total, 0)
  // Every line of every log parses; index.json parses.
  JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))
  for (const id of await readdir(join(dir, 'sessions'))) {
    const text = await readFile(join(dir, 'sessions', id, 'events.ndjson'), 'utf8').catch(() => '')
    assert.ok(text === '' || text.endsWith('\n'))
    for (const line of text.split('\n').filter(Boolean)) JSON.parse(line)
  }
})
