// Replay and mock without real servers: recorded transcripts are served by the mock, and
// replayed against that mock (which must then be equivalent), STARTTLS included; a
// client the recording did not expect gets protocol errors and deviation notes.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Protocol, SessionEvent } from '../../shared/schema.ts'
import { formatDiff, replaySession, startMock, type MockServer } from '../../proxy/replay/index.ts'
import { loadOrCreateCa, type Ca } from '../../proxy/tls/ca.ts'
import { openTestStore, recordTranscript, startTestApi, type TestStore } from '../api/helpers.ts'

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'utf8')

let ts: TestStore
let ca: Ca
let caDir: string
before(async () => {
  ts = await openTestStore()
  caDir = await mkdtemp(join(tmpdir(), 'mailtap-replay-ca-'))
  ca = await loadOrCreateCa(caDir)
})
after(async () => {
  await ts.close()
  await rm(caDir, { recursive: true, force: true })
})

async function recorded(protocol: Protocol, file: string) {
  const s = await recordTranscript(ts.feed, protocol, fixture(file))
  await ts.store.flush()
  return s
}

async function withMock<T>(sessionId: string, protocol: Protocol, use: (m: MockServer) => Promise<T>): Promise<T> {
  const mock = await startMock({ store: ts.store, feed: ts.feed, sessionId, listen: `${protocol}://127.0.0.1:0`, ca })
  try {
    return await use(mock)
  } finally {
    await mock.close()
    await ts.store.flush()
  }
}

async function notesOf(id: string): Promise<string[]> {
  const events: SessionEvent[] = await ts.store.events(id)
  return events.flatMap((e) => (e.notes ?? []).map((n) => `${n.code}: ${n.text}`))
}

/** A bare client: sends each line after the previous answer's last line arrived. */
async function converse(port: number, lines: string[], done: (text: string) => boolean): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port })
  let got = ''
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => (got += d))
  const waitFor = (pred: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pred()) {
          socket.off('data', check)
          resolve()
        }
      }
      socket.on('data', check)
      socket.once('close', () => (pred() ? resolve() : reject(new Error(`closed; got ${JSON.stringify(got)}`))))
      check()
    })
  await waitFor(() => got.includes('\n'))
  for (const line of lines) {
    const before = got.length
    socket.write(line + '\r\n')
    await waitFor(() => got.length > before && done(got.slice(before)))
  }
  socket.destroy()
  return got
}

describe('a recording replayed against its own mock', { concurrency: 4 }, () => {
  // Every transcript fixture of the decoders, real captures included: the mock plays the
  // server side, the replay the client side, and each answer must be the recorded one.
  for (const protocol of ['smtp', 'pop3', 'imap'] as const) {
    for (const name of readdirSync(new URL(`../fixtures/${protocol}/`, import.meta.url)).filter((f) => f.endsWith('.txt'))) {
      const file = `${protocol}/${name}`
      test(`${file} is equivalent, exchange by exchange`, async () => {
        const original = await recorded(protocol, file)
        const result = await withMock(original.id, protocol, (mock) =>
          // Some fixtures end with a command the server never answered: do not wait long for it.
          replaySession({ store: ts.store, feed: ts.feed, sessionId: original.id, to: mock.url, tls: { verify: 'off' }, replyTimeoutMs: 1500 }),
        )
        assert.equal(result.verdict, 'equivalent', formatDiff(result))
        assert.ok(result.exchanges.every((r) => r.equal || r.missing === 'recorded'), formatDiff(result))
        const replayed = ts.store.get(result.replaySessionId)!
        assert.deepEqual(replayed.origin, { kind: 'replay', of: original.id })
        assert.equal(replayed.status, 'closed')
        assert.equal(replayed.protocol, protocol)
      })
    }
  }

  test('STARTTLS is performed on both sides: the mock with the CA, the replay trusting it', async () => {
    const original = await recorded('smtp', 'smtp/starttls.txt')
    let mockIds: string[] = []
    const result = await withMock(original.id, 'smtp', async (mock) => {
      const r = await replaySession({ store: ts.store, feed: ts.feed, sessionId: original.id, to: mock.url, tls: { verify: 'strict', ca: ca.certPem } })
      mockIds = mock.sessions()
      return r
    })
    assert.equal(result.verdict, 'equivalent', formatDiff(result))
    const replayed = ts.store.get(result.replaySessionId)!
    assert.equal(replayed.tls.length, 1)
    assert.equal(replayed.tls[0]!.how, 'starttls')
    assert.equal(replayed.tls[0]!.verify?.ok, true)
    const mockSession = ts.store.get(mockIds[0]!)!
    assert.deepEqual(mockSession.origin, { kind: 'mock', of: original.id })
    assert.equal(mockSession.tls[0]?.how, 'starttls')
    // The AUTH after the upgrade was decoded in the mock's own recording.
    const events = await ts.store.events(mockSession.id)
    assert.ok(events.some((e) => e.item?.kind === 'command' && e.item.verb === 'AUTH'))
  })

  test('a mock on an implicit TLS port (imaps) serves a replay that trusts the CA', async () => {
    const original = await recorded('imap', 'imap/fetch-mime.txt')
    const mock = await startMock({ store: ts.store, feed: ts.feed, sessionId: original.id, listen: 'imaps://127.0.0.1:0', ca })
    let result
    try {
      assert.match(mock.url, /^imaps:\/\//)
      result = await replaySession({ store: ts.store, feed: ts.feed, sessionId: original.id, to: mock.url, tls: { verify: 'strict', ca: ca.certPem } })
    } finally {
      await mock.close()
      await ts.store.flush()
    }
    assert.equal(result.verdict, 'equivalent', formatDiff(result))
    assert.equal(ts.store.get(result.replaySessionId)!.tls[0]?.how, 'implicit')
    assert.equal(ts.store.get(mock.sessions()[0]!)!.tls[0]?.how, 'implicit')
  })

  test('with a speed the recorded pauses are kept (scaled) and progress reaches the total', async () => {
    const original = await recorded('pop3', 'pop3/capa-uidl-retr.txt')
    const progress: [number, number][] = []
    const result = await withMock(original.id, 'pop3', (mock) =>
      replaySession({ store: ts.store, feed: ts.feed, sessionId: original.id, to: mock.url, speed: 100, tls: { verify: 'strict' }, onProgress: (d, t) => progress.push([d, t]) }),
    )
    assert.equal(result.verdict, 'equivalent', formatDiff(result))
    const total = result.exchanges.length - 1
    assert.deepEqual(progress.at(-1), [total, total])
    assert.ok(progress.every(([d], i) => i === 0 || d > progress[i - 1]![0]), 'progress only grows')
  })

  test('new credentials are re-encoded into the recorded AUTH PLAIN', async () => {
    const original = await recorded('pop3', 'pop3/auth.txt')
    const sent: string[] = []
    const result = await withMock(original.id, 'pop3', async (mock) => {
      const r = await replaySession({ store: ts.store, feed: ts.feed, sessionId: original.id, to: mock.url, user: 'nuevo', password: 'otra clave', tls: { verify: 'strict' } })
      await ts.store.flush()
      sent.push((await ts.store.raw(r.replaySessionId, 'client')).toString())
      return r
    })
    // The mock answers AUTH as recorded, whatever the credentials.
    assert.equal(result.verdict, 'equivalent', formatDiff(result))
    assert.match(sent[0]!, new RegExp(`^AUTH PLAIN ${Buffer.from('\0nuevo\0otra clave').toString('base64')}\r$`, 'm'))
    assert.match(sent[0]!, new RegExp(`^${Buffer.from('\0nuevo\0otra clave').toString('base64')}\r$`, 'm'))
    assert.ok(!sent[0]!.includes('AHBlcGUATGFDb250cmFzZW5pYQ=='), 'the recorded password is not sent')
  })
})

describe('a client the recording did not expect', () => {
  test('an SMTP command not in the recording gets 502 and a deviation note, and the mock keeps going', async () => {
    const original = await recorded('smtp', 'smtp/pipelining.txt')
    const { got, ids } = await withMock(original.id, 'smtp', async (mock) => {
      const got = await converse(mock.port, ['EHLO other.client', 'VRFY postmaster', 'QUIT'], (t) => /^\d{3} .*\r\n$/m.test(t))
      return { got, ids: mock.sessions() }
    })
    assert.match(got, /^502 5\.5\.1 Command not in the recording/m)
    assert.match(got, /^221 2\.0\.0 Bye/m)
    const notes = await notesOf(ids[0]!)
    assert.ok(notes.some((n) => n.startsWith('MOCK_UNEXPECTED_COMMAND: VRFY')), notes.join('\n'))
    assert.ok(notes.some((n) => n.startsWith('MOCK_SKIPPED_COMMANDS')), 'skipping MAIL..DATA is reported')
  })

  test('a POP3 command not in the recording gets -ERR', async () => {
    const original = await recorded('pop3', 'pop3/capa-uidl-retr.txt')
    const { got, ids } = await withMock(original.id, 'pop3', async (mock) => {
      const got = await converse(mock.port, ['APOP pepe 0123456789abcdef', 'USER pepe'], (t) => t.endsWith('\r\n'))
      return { got, ids: mock.sessions() }
    })
    assert.match(got, /^-ERR command not in the recording/m)
    assert.match(got, /^\+OK\r\n$/m)
    assert.ok((await notesOf(ids[0]!)).some((n) => n.startsWith('MOCK_UNEXPECTED_COMMAND: APOP')))
  })

  test('an IMAP command not in the recording gets a tagged BAD with the client tag', async () => {
    const original = await recorded('imap', 'imap/fetch-mime.txt')
    const { got, ids } = await withMock(original.id, 'imap', async (mock) => {
      const got = await converse(mock.port, ['x1 EXAMINE INBOX', 'x2 DELETE INBOX', 'x3 LOGOUT'], (t) => /^x\d \S+ .*\r\n$/m.test(t))
      return { got, ids: mock.sessions() }
    })
    assert.match(got, /^x1 OK \[READ-ONLY\] EXAMINE completed\r$/m)
    assert.match(got, /^x2 BAD command not in the recording/m)
    assert.match(got, /^x3 OK LOGOUT completed\r$/m)
    assert.ok((await notesOf(ids[0]!)).some((n) => n.startsWith('MOCK_UNEXPECTED_COMMAND: DELETE')))
  })
})

describe('the API', () => {
  test('POST /api/sessions/:id/mock starts a mock, replay against it is equivalent, DELETE stops it', async () => {
    const original = await recorded('smtp', 'smtp/pipelining.txt')
    const api = await startTestApi(ts)
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const m = await post(`/api/sessions/${original.id}/mock`, { listen: 'smtp://127.0.0.1:0' })
      assert.equal(m.status, 201)
      const { url, mockId } = (await m.json()) as { url: string; mockId: string }
      assert.match(url, /^smtp:\/\/127\.0\.0\.1:\d+$/)
      const r = await post(`/api/sessions/${original.id}/replay`, { to: url })
      assert.equal(r.status, 200)
      const body = (await r.json()) as { verdict: string; replaySessionId: string; diff: { n: number; equal: boolean }[] }
      assert.equal(body.verdict, 'equivalent')
      assert.equal(body.diff[0]!.n, 0)
      assert.ok(ts.store.get(body.replaySessionId))
      // Extra normalisation rules are accepted, and a malformed one is named in a 400.
      const ruled = await post(`/api/sessions/${original.id}/replay`, { to: url, rules: ['host=/mail\\.example\\.com/=>HOST'] })
      assert.equal(ruled.status, 200)
      assert.equal(((await ruled.json()) as { verdict: string }).verdict, 'equivalent')
      const badRule = await post(`/api/sessions/${original.id}/replay`, { to: url, rules: ['nope'] })
      assert.equal(badRule.status, 400)
      assert.match(((await badRule.json()) as { error: string }).error, /bad normalisation rule 'nope'/)
      const bad = await post(`/api/sessions/${original.id}/replay`, { to: 'imap://127.0.0.1:1' })
      assert.equal(bad.status, 400)
      assert.match(((await bad.json()) as { error: string }).error, /is smtp but imap:\/\/127\.0\.0\.1:1 speaks imap/)
      const del = await fetch(`${api.url}/api/mocks/${mockId}`, { method: 'DELETE' })
      assert.equal(del.status, 200)
      assert.equal((await fetch(`${api.url}/api/mocks/${mockId}`, { method: 'DELETE' })).status, 404)
      const missing = await post('/api/sessions/nope/mock', { listen: 'smtp://127.0.0.1:0' })
      assert.equal(missing.status, 404)
    } finally {
      await api.close()
    }
  })
})
