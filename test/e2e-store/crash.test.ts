// Crash recovery at the command level (issue 5): the real `mailtap` relays heavy real
// SMTP traffic to Postfix, gets kill -9 in the middle of it, is started again on the same
// data directory, and its HTTP API must still list and serve every session that had
// closed at least a second before the kill, end the ones that were live as crashed, and
// have nothing corrupt. Real-server user: mia.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { unzipSync } from 'fflate'
import type { Session, SessionEvent } from '../../shared/schema.ts'
import { loginArgs, python, scripts, swaks } from '../helpers/clients.ts'
import { realServers, users } from '../helpers/real-servers.ts'
import { spawnMailtap, type MailtapProcess } from './process.ts'

const { mia } = users
/** What `mailtap` writes as the close detail of a session it found live on restart. */
const CRASH_DETAIL = 'mailtap stopped unexpectedly'
const LARGE_LINES = 40_000 // ~3 MB of DATA
const PHASE_A_SWAKS = 6
const PHASE_A_PYTHON = 2
/** Sessions this long closed before the kill must survive it (the promise). */
const SAFE_MS = 1000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function api<T>(m: MailtapProcess, path: string): Promise<T> {
  const res = await fetch(m.baseUrl + path)
  const text = await res.text()
  assert.equal(res.status, 200, `GET ${path}: ${res.status} ${text}`)
  return JSON.parse(text) as T
}

async function download(m: MailtapProcess, path: string): Promise<{ bytes: Buffer; headers: Headers }> {
  const res = await fetch(m.baseUrl + path)
  const bytes = Buffer.from(await res.arrayBuffer())
  assert.equal(res.status, 200, `GET ${path}: ${res.status} ${bytes.toString('utf8', 0, 300)}`)
  return { bytes, headers: res.headers }
}

async function listAll(m: MailtapProcess): Promise<Session[]> {
  return (await api<{ sessions: Session[] }>(m, '/api/sessions?limit=1000')).sessions
}

/** A big message: CRLF lines, no leading dots and no swaks %TOKENS%, so it arrives as written. */
function largeMessage(): Buffer {
  const lines = ['From: mia@mail.test', 'To: mia@mail.test', 'Subject: crash test large DATA', 'Message-ID: <large@crash.test>', '']
  for (let i = 0; i < LARGE_LINES; i++) lines.push(`line ${String(i).padStart(6, '0')} the quick brown fox jumps over the lazy dog 0123456789`)
  return Buffer.from(lines.join('\r\n') + '\r\n')
}

function sendWithSwaks(port: number, i: number, extra: string[] = []) {
  return swaks(
    [
      '--server', '127.0.0.1', '--port', String(port),
      '--from', `sender${i}@client.test`, '--to', mia.address,
      '--auth', 'PLAIN', '--auth-user', mia.user, '--auth-password', mia.password,
      '--suppress-data',
      // swaks' --header would rewrite the Subject of a message given whole with --data.
      ...(extra.length ? extra : ['--header', `Subject: crash test ${i}`]),
    ],
    { timeoutMs: 30_000 },
  )
}

function sendWithPython(port: number, i: number) {
  return python(scripts.smtpSend, [...loginArgs('127.0.0.1', port, mia), '--auth', 'login', '--to', mia.address, '--subject', `python ${i}`], {
    timeoutMs: 30_000,
  })
}

/** Reads SMTP replies off a socket: resolves with the next complete reply's text. */
function replyReader(socket: Socket): () => Promise<string> {
  let buffer = ''
  let waiter: (() => void) | undefined
  socket.setEncoding('latin1')
  socket.on('data', (d: string) => {
    buffer += d
    waiter?.()
  })
  return async () => {
    for (;;) {
      // A reply ends with a line whose 4th character is a space.
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\n/.exec(buffer)
      if (m) {
        buffer = buffer.slice(m[0].length)
        return m[0]
      }
      await new Promise<void>((resolve, reject) => {
        waiter = resolve
        socket.once('error', reject)
        socket.once('close', () => reject(new Error(`closed while waiting for a reply; had ${JSON.stringify(buffer)}`)))
      })
    }
  }
}

/**
 * A client that gets into DATA and then trickles message lines until stopped: the session
 * that is certainly live, mid-message, when the kill comes.
 */
async function startTrickle(port: number): Promise<{ socket: Socket; stop(): void }> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  const reply = replyReader(socket)
  const expect = async (code: string) => {
    const r = await reply()
    assert.ok(r.startsWith(code), `expected ${code}, got ${JSON.stringify(r)}`)
  }
  await expect('220')
  socket.write('EHLO trickle.test\r\n')
  await expect('250')
  socket.write(`MAIL FROM:<trickle@client.test>\r\n`)
  await expect('250')
  socket.write(`RCPT TO:<${mia.address}>\r\n`)
  await expect('250')
  socket.write('DATA\r\n')
  await expect('354')
  socket.write('Subject: never finished\r\n\r\n')
  let n = 0
  const timer = setInterval(() => socket.write(`trickled line ${n++} ${'x'.repeat(2000)}\r\n`), 20)
  return { socket, stop: () => clearInterval(timer) }
}

test('after kill -9 under heavy traffic, a restarted mailtap serves every session closed a second before, and ends the live ones as crashed', { timeout: 120_000 }, async (t) => {
  const servers = await realServers(t)
  if (!servers) return
  const dataDir = await mkdtemp(join(tmpdir(), 'mailtap-e2e-crash-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const route = `smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}`
  const large = largeMessage()
  const largeFile = join(dataDir, '..', `${dataDir.split('/').pop()}-large.eml`)
  // swaks ends DATA with CRLF . CRLF after the file: the file holds all but the last CRLF.
  await writeFile(largeFile, large.subarray(0, large.length - 2))
  t.after(() => rm(largeFile, { force: true }))

  const first = await spawnMailtap(dataDir, [route])
  t.after(() => first.kill9())
  const port = first.routePort

  // Phase A: many parallel real clients, and one large DATA. All of these end well before the kill.
  const phaseA = await Promise.all([
    ...Array.from({ length: PHASE_A_SWAKS }, (_, i) => sendWithSwaks(port, i)),
    ...Array.from({ length: PHASE_A_PYTHON }, (_, i) => sendWithPython(port, i)),
    sendWithSwaks(port, 99, ['--data', `@${largeFile}`]),
  ])
  for (const r of phaseA) assert.equal(r.code, 0, `a phase A client failed: ${r.stdout.slice(-500)} ${r.stderr}`)
  const phaseACount = phaseA.length
  // mailtap closes a session when its client or server leaves: all of phase A, shortly.
  let phaseAEnd = 0
  for (const deadline = Date.now() + 15_000; ; ) {
    const closed = (await listAll(first)).filter((s) => s.status !== 'live')
    if (closed.length >= phaseACount) {
      phaseAEnd = Math.max(...closed.map((s) => s.endedAt ?? 0))
      break
    }
    assert.ok(Date.now() < deadline, `only ${closed.length} of ${phaseACount} phase A sessions closed`)
    await sleep(50)
  }

  // Phase B: keep traffic flowing up to the kill: four workers looping swaks, one client
  // trickling a message that never ends.
  let running = true
  let workersSent = 0
  const workers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; running; i++) {
      await sendWithSwaks(port, 1000 + w * 100 + i)
      workersSent++
    }
  })
  const trickle = await startTrickle(port)
  t.after(() => {
    trickle.stop()
    trickle.socket.destroy()
  })

  /** The trickling session's client bytes as the API reported them, and when. */
  const trickleReadings: { at: number; bytes: number }[] = []
  // Kill once phase A is a second old, mid-traffic: workers done and in flight, the trickle live.
  for (const deadline = Date.now() + 30_000; ; ) {
    const list = await listAll(first)
    const trickling = list.find((s) => s.status === 'live' && s.totals.bytesFromClient > 100_000)
    if (trickling) trickleReadings.push({ at: Date.now(), bytes: trickling.totals.bytesFromClient })
    const oldReading = trickleReadings.some((r) => Date.now() - r.at > SAFE_MS + 200)
    if (oldReading && workersSent >= 2 && Date.now() - phaseAEnd > SAFE_MS + 200) break
    assert.ok(Date.now() < deadline, `phase B traffic did not get going: ${workersSent} worker sessions, ${JSON.stringify(list.map((s) => [s.status, s.totals.bytesFromClient]))}`)
    await sleep(100)
  }
  const snapshot = await listAll(first)
  const killAt = Date.now()
  await first.kill9()
  running = false
  trickle.stop()
  trickle.socket.destroy()
  await Promise.all(workers)

  const safe = snapshot.filter((s) => s.status !== 'live' && s.endedAt !== undefined && s.endedAt <= killAt - SAFE_MS)
  const liveAtKill = snapshot.filter((s) => s.status === 'live')
  const trickled = liveAtKill.find((s) => s.totals.bytesFromClient > 100_000)!
  assert.ok(safe.length >= phaseACount, `${safe.length} sessions had closed a second before the kill`)
  assert.ok(trickled, 'the trickling session was live at the kill')

  // Restart on the same data directory.
  const second = await spawnMailtap(dataDir, [route])
  t.after(() => second.stop())
  const after = await listAll(second)
  const byId = new Map(after.map((s) => [s.id, s]))
  assert.equal((await api<{ sessions: number }>(second, '/api/health')).sessions, after.length)

  // Every session closed a second before the kill: listed as it was, events and bytes whole.
  for (const before of safe) {
    const s = byId.get(before.id)
    assert.ok(s, `session ${before.id} is listed after the restart`)
    assert.equal(s.status, before.status)
    assert.equal(s.closeReason, before.closeReason)
    assert.equal(s.user, mia.user)
    assert.deepEqual(s.totals, before.totals, `${s.id}: totals survive`)
    const { events } = await api<{ session: Session; events: SessionEvent[] }>(second, `/api/sessions/${s.id}`)
    assert.equal(events.length, before.totals.events, `${s.id}: every event is read back`)
    events.forEach((e, i) => assert.equal(e.seq, i + 1, `${s.id}: events in order without holes`))
    assert.ok(events.some((e) => e.item?.kind === 'reply' && e.item.code === '221'), `${s.id}: the QUIT reply is there`)
    for (const [side, total] of [['client', before.totals.bytesFromClient], ['server', before.totals.bytesFromServer]] as const) {
      const raw = await download(second, `/api/sessions/${s.id}/raw?side=${side}&secrets=show`)
      assert.equal(raw.bytes.length, total, `${s.id}: all ${side} bytes are readable`)
      assert.equal(raw.headers.get('x-raw-length'), String(total))
    }
    const json = JSON.parse((await download(second, `/api/sessions/${s.id}/export?format=json`)).bytes.toString('utf8')) as { events: unknown[] }
    assert.equal(json.events.length, before.totals.events, `${s.id}: the json export has every event`)
    const txt = (await download(second, `/api/sessions/${s.id}/export?format=txt`)).bytes.toString('utf8')
    assert.match(txt, /^C: ehlo /im)
  }

  // The large DATA comes back byte for byte, as a message, in the eml zip and in a pcapng.
  const largeSession = safe.find((s) => s.totals.bytesFromClient > large.length)
  assert.ok(largeSession, 'the large DATA session closed before the kill')
  const eml = (await download(second, `/api/sessions/${largeSession.id}/messages/1.eml`)).bytes
  if (!eml.equals(large)) {
    let i = 0
    while (i < eml.length && eml[i] === large[i]) i++
    assert.fail(`the stored message (${eml.length} bytes) differs from the one sent (${large.length}) at byte ${i}: ${JSON.stringify(eml.subarray(Math.max(0, i - 40), i + 40).toString('latin1'))} vs ${JSON.stringify(large.subarray(Math.max(0, i - 40), i + 40).toString('latin1'))}`)
  }
  const zip = unzipSync((await download(second, `/api/sessions/${largeSession.id}/export?format=eml`)).bytes)
  assert.deepEqual(Object.values(zip).map((b) => b.length), [large.length])
  const pcap = (await download(second, `/api/sessions/${largeSession.id}/export?format=pcapng`)).bytes
  assert.equal(pcap.readUInt32LE(0), 0x0a0d0d0a, 'a pcapng section header block')
  assert.ok(pcap.length > largeSession.totals.bytesFromClient, 'the pcapng carries every byte')

  // Sessions live at the kill are closed as crashed; the trickling one kept what it had.
  const crashed = byId.get(trickled.id)
  assert.ok(crashed, 'the session live at the kill is listed')
  assert.equal(crashed.status, 'closed')
  assert.equal(crashed.closeDetail, CRASH_DETAIL)
  // What it had received a second before the kill is on disk; the last moments may not be.
  const settled = trickleReadings.filter((r) => r.at <= killAt - SAFE_MS).at(-1)!
  assert.ok(
    crashed.totals.bytesFromClient >= settled.bytes,
    `its bytes of a second before the kill survive: ${crashed.totals.bytesFromClient} of ${settled.bytes} (${trickled.totals.bytesFromClient} at the kill)`,
  )
  const trickledRaw = await download(second, `/api/sessions/${trickled.id}/raw?side=client`)
  assert.equal(trickledRaw.headers.get('x-raw-length'), String(trickledRaw.bytes.length))
  assert.ok(trickledRaw.bytes.length >= settled.bytes, `its raw bytes of a second before the kill are readable: ${trickledRaw.bytes.length} of ${settled.bytes}`)
  assert.match(trickledRaw.bytes.toString('latin1'), /^EHLO trickle\.test\r\nMAIL FROM:<trickle@client\.test>\r\n/)
  // Its unfinished message is there too, cut from the capture up to what survived.
  const unfinished = (await download(second, `/api/sessions/${trickled.id}/messages/1.eml`)).bytes.toString('latin1')
  assert.match(unfinished, /^Subject: never finished\r\n\r\ntrickled line 0 x+\r\ntrickled line 1 /)
  assert.ok(trickledRaw.bytes.toString('latin1').includes(unfinished), 'the unfinished message is a run of the client bytes')
  for (const s of liveAtKill) {
    const now = byId.get(s.id)
    if (now) assert.notEqual(now.status, 'live', `${s.id} is no longer live`)
  }
  assert.equal((await api<{ total: number }>(second, '/api/sessions?status=live')).total, 0)

  // Nothing is corrupt: every session listed, the crashed ones included, reads back.
  for (const s of after) {
    const { events } = await api<{ events: SessionEvent[] }>(second, `/api/sessions/${s.id}`)
    events.forEach((e, i) => assert.equal(e.seq, i + 1, `${s.id}: events in order without holes`))
    const raw = await api<{ client: string; server: string }>(second, `/api/sessions/${s.id}/raw`)
    // A session opened just before the kill may have no greeting yet; any bytes start with it.
    const head = Buffer.from(raw.server, 'base64').subarray(0, 4).toString('latin1')
    assert.ok('220 '.startsWith(head), `${s.id}: the raw server side starts with the greeting, not ${JSON.stringify(head)}`)
    if (s.status !== 'closed' || s.closeDetail !== CRASH_DETAIL) assert.equal(head, '220 ', `${s.id}: a session that ended normally has its greeting`)
    JSON.parse((await download(second, `/api/sessions/${s.id}/export?format=json`)).bytes.toString('utf8'))
  }

  // And the restarted mailtap records new traffic on the same store.
  const again = await sendWithSwaks(second.routePort, 5000)
  assert.equal(again.code, 0, again.stderr)
  const until = Date.now() + 10_000
  for (;;) {
    const now = await listAll(second)
    if (now.length === after.length + 1 && now[0]!.status === 'closed') break
    assert.ok(Date.now() < until, 'the new session is recorded after the restart')
    await sleep(50)
  }
})
