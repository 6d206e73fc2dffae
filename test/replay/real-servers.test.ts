// Replay and mock with real servers and clients: sessions recorded through mailtap against
// Postfix and Dovecot (STARTTLS and AUTH in each protocol) replay as equivalent, diverge
// once the server's state changed (password, mailbox), and are served back by the mock to
// the client that made them. This file owns the mailboxes of frank and grace.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Session } from '../../shared/schema.ts'
import { formatDiff, replaySession, startMock, type MockServer, type ReplayResult } from '../../proxy/replay/index.ts'
import { loadOrCreateCa, type Ca } from '../../proxy/tls/ca.ts'
import { createTlsSupport } from '../../proxy/tls/support.ts'
import { curl, python, run, scripts, swaks, type RunResult } from '../helpers/clients.ts'
import { startMailtap, type Harness } from '../helpers/mailtap.ts'
import { realServers, resetMailbox, setPassword, type Ports } from '../helpers/real-servers.ts'

const FRANK = { user: 'frank', password: 'frankpw', address: 'frank@mail.test' }
const GRACE = { user: 'grace', password: 'gracepw', address: 'grace@mail.test' }
/** Mail the SMTP replays send goes here: no test reads this mailbox. */
const SINK = 'replay-sink@mail.test'
const SUBJECT = 'replay me'

const imapRead = new URL('./clients/imap_read.py', import.meta.url).pathname
const bin = new URL('../../bin/mailtap.mjs', import.meta.url).pathname

let servers: Ports | undefined
let mt: Harness
let ca: Ca
let caDir: string

/** Waits (bounded) until the user's INBOX holds `n` messages, as a POP3 LIST shows. */
async function waitForMessages(user: { user: string; password: string }, n: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await curl([`pop3://127.0.0.1:${servers!.pop3}/`, '--user', `${user.user}:${user.password}`])
    if (r.code === 0 && (r.stdout.match(/^\d+ \d+/gm) ?? []).length >= n) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${user.user}'s INBOX never got ${n} message(s)`)
}

async function deliver(to: string): Promise<void> {
  const r = await python(scripts.smtpSend, ['--host', '127.0.0.1', '--port', String(servers!.smtp), '--to', to, '--subject', SUBJECT, '--from', FRANK.address])
  assert.equal(r.code, 0, r.stdout + r.stderr)
}

before(async () => {
  servers = await realServers()
  if (!servers) return
  caDir = await mkdtemp(join(tmpdir(), 'mailtap-replay-real-'))
  ca = await loadOrCreateCa(caDir)
  mt = await startMailtap(
    [`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}`, `pop3://127.0.0.1:0=pop3://127.0.0.1:${servers.pop3}`, `imap://127.0.0.1:0=imap://127.0.0.1:${servers.imap}`],
    { tls: createTlsSupport({ ca, verify: 'off' }) },
  )
  await resetMailbox(FRANK.user)
  await resetMailbox(GRACE.user)
  await deliver(FRANK.address)
  await deliver(GRACE.address)
  await waitForMessages(FRANK, 1)
  await waitForMessages(GRACE, 1)
  // A first IMAP session takes the message's \Recent flag, so recordings and replays alike see none.
  const warm = await python(imapRead, ['--port', String(servers.imap), '--user', GRACE.user, '--password', GRACE.password])
  assert.equal(warm.code, 0, warm.stdout + warm.stderr)
})

after(async () => {
  if (!servers) return
  await mt.stop()
  await rm(caDir, { recursive: true, force: true })
})

/** Runs a client through mailtap and returns the session it became. */
async function record(client: () => Promise<RunResult>): Promise<Session> {
  const n = mt.closed.length
  const r = await client()
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const closed = await mt.waitClosed(n + 1)
  await mt.store.flush()
  return closed[n]!
}

function replay(id: string, extra: Partial<Parameters<typeof replaySession>[0]> = {}): Promise<ReplayResult> {
  return replaySession({ store: mt.store, feed: mt.feed, sessionId: id, tls: { verify: 'off' }, ...extra }).then(async (r) => {
    await mt.store.flush()
    return r
  })
}

async function withMock<T>(id: string, listen: string, use: (m: MockServer) => Promise<T>): Promise<{ value: T; mockIds: string[] }> {
  const mock = await startMock({ store: mt.store, feed: mt.feed, sessionId: id, listen, ca })
  try {
    const value = await use(mock)
    return { value, mockIds: mock.sessions() }
  } finally {
    await mock.close()
    await mt.store.flush()
  }
}

async function noteCodes(id: string): Promise<string[]> {
  return (await mt.store.events(id)).flatMap((e) => (e.notes ?? []).map((n) => n.code))
}

function rowOf(result: ReplayResult, pattern: RegExp) {
  const row = result.exchanges.find((r) => pattern.test(r.command))
  assert.ok(row, `no exchange matching ${pattern} in\n${formatDiff(result)}`)
  return row
}

describe('SMTP against Postfix, STARTTLS and AUTH CRAM-MD5', () => {
  let recorded: Session
  const send = (port: number, extra: string[] = []) =>
    python(scripts.smtpSend, ['--port', String(port), '--starttls', '--auth', 'cram-md5', '--user', FRANK.user, '--password', FRANK.password, '--from', FRANK.address, '--to', SINK, '--subject', 'smtp replay', ...extra])

  before(async () => {
    if (!servers) return
    recorded = await record(() => send(mt.ports[0]!))
  })

  test('replayed with the password, the new CRAM-MD5 challenge is answered and the session is equivalent', async (t) => {
    if (!servers) return t.skip('no real servers')
    assert.equal(recorded.tls.length, 2, 'the recording went through STARTTLS')
    const result = await replay(recorded.id, { user: FRANK.user, password: FRANK.password })
    assert.equal(result.verdict, 'equivalent', formatDiff(result))
    assert.match(rowOf(result, /^\(CRAM-MD5 response/).recorded[0]!, /^235 /)
    assert.match(rowOf(result, /^\(message/).replayed[0]!, /^250 2\.0\.0 Ok: queued as /)
    const replayed = mt.store.get(result.replaySessionId)!
    assert.deepEqual(replayed.origin, { kind: 'replay', of: recorded.id })
    assert.equal(replayed.tls[0]?.how, 'starttls')
    assert.equal(replayed.user, FRANK.user)
  })

  test('replayed without the password, the recorded CRAM-MD5 answer fails and the replay says why', async (t) => {
    if (!servers) return t.skip('no real servers')
    const result = await replay(recorded.id)
    assert.equal(result.verdict, 'diverged')
    assert.ok(result.notes.some((n) => n.code === 'REPLAY_AUTH_NEEDS_PASSWORD'))
    const auth = rowOf(result, /^\(CRAM-MD5 response/)
    assert.equal(result.divergedAt, auth.n)
    assert.match(auth.replayed[0]!, /^535 /)
  })

  test('after the password changed, the CLI reports the divergence at AUTH and exits 1', async (t) => {
    if (!servers) return t.skip('no real servers')
    // The CLI opens its own store: give it a data directory of its own with one recording.
    const own = await startMailtap([`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}`], { tls: createTlsSupport({ ca, verify: 'off' }) })
    let session: Session
    try {
      const r = await send(own.ports[0]!)
      assert.equal(r.code, 0, r.stdout + r.stderr)
      session = (await own.waitClosed(1))[0]!
    } finally {
      await own.stop()
    }
    await setPassword(FRANK.user, 'changed-pw')
    try {
      const cli = await run('node', [bin, 'replay', session.id, '--data', own.dataDir, '--to', `smtp://127.0.0.1:${servers.smtp}`, '--user', FRANK.user, '--password', FRANK.password], { timeoutMs: 40_000 })
      assert.equal(cli.code, 1, cli.stdout + cli.stderr)
      assert.match(cli.stdout, /diverged at exchange \d+/)
      assert.match(cli.stdout, /535 5\.7\.8/)
    } finally {
      await setPassword(FRANK.user, FRANK.password)
      await rm(own.dataDir, { recursive: true, force: true })
    }
  })

  test('the mock serves the recording to the same client, STARTTLS with the CA and CRAM-MD5 included', async (t) => {
    if (!servers) return t.skip('no real servers')
    const { value: r, mockIds } = await withMock(recorded.id, 'smtp://127.0.0.1:0', (mock) => send(mock.port, ['--cafile', ca.certPath]))
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json?.ok, true)
    const mockSession = mt.store.get(mockIds[0]!)!
    assert.equal(mockSession.tls[0]?.how, 'starttls')
    const codes = await noteCodes(mockSession.id)
    assert.ok(!codes.includes('MOCK_UNEXPECTED_COMMAND') && !codes.includes('MOCK_SKIPPED_COMMANDS'), codes.join(', '))
  })

  test('swaks speaking plain HELO without TLS or AUTH gets 502 for it and the deviation is reported', async (t) => {
    if (!servers) return t.skip('no real servers')
    const { value: r, mockIds } = await withMock(recorded.id, 'smtp://127.0.0.1:0', (mock) =>
      swaks(['--server', `127.0.0.1:${mock.port}`, '--protocol', 'SMTP', '--from', FRANK.address, '--to', SINK]),
    )
    assert.notEqual(r.code, 0, 'swaks gives up after the 502')
    assert.match(r.stdout, /502 5\.5\.1 Command not in the recording/)
    const events = await mt.store.events(mockIds[0]!)
    const deviation = events.flatMap((e) => e.notes ?? []).find((n) => n.code === 'MOCK_UNEXPECTED_COMMAND')
    assert.ok(deviation, 'the HELO is flagged')
    assert.match(deviation.text, /^HELO is not in the recording \(next recorded: EHLO\)/)
  })
})

describe('POP3 against Dovecot, STLS and SASL with curl', () => {
  let recorded: Session
  const retr = (port: number) => curl([`pop3://127.0.0.1:${port}/1`, '--ssl-reqd', '--cacert', ca.certPath, '--user', `${FRANK.user}:${FRANK.password}`])

  before(async () => {
    if (!servers) return
    recorded = await record(() => retr(mt.ports[1]!))
  })

  test('replayed against the same server with the password (curl chose CRAM-MD5) it is equivalent', async (t) => {
    if (!servers) return t.skip('no real servers')
    assert.equal(recorded.tls.length, 2)
    assert.equal(recorded.user, FRANK.user)
    const result = await replay(recorded.id, { user: FRANK.user, password: FRANK.password })
    assert.equal(result.verdict, 'equivalent', formatDiff(result))
    assert.ok(rowOf(result, /^RETR 1/).stateDependent)
  })

  test('the mock serves the message to curl', async (t) => {
    if (!servers) return t.skip('no real servers')
    const { value: r } = await withMock(recorded.id, 'pop3://127.0.0.1:0', (mock) => retr(mock.port))
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^Subject: ${SUBJECT}\r?$`, 'm'))
  })

  test('once the message is deleted the replay diverges at RETR with a readable diff', async (t) => {
    if (!servers) return t.skip('no real servers')
    await resetMailbox(FRANK.user)
    const result = await replay(recorded.id, { user: FRANK.user, password: FRANK.password })
    assert.equal(result.verdict, 'diverged')
    const row = rowOf(result, /^RETR 1/)
    assert.equal(result.divergedAt, row.n)
    assert.match(row.recorded[0]!, /^\+OK \d+ octets/)
    assert.match(row.replayed[0]!, /^-ERR /)
    const text = formatDiff(result, { width: 120 })
    assert.match(text, new RegExp(`diverged at exchange ${row.n}`))
    assert.match(text, /RETR 1 ⚑ +\+OK \d+ octets +≠ -ERR/)
  })
})

describe('IMAP against Dovecot, STARTTLS and AUTHENTICATE PLAIN with imaplib', () => {
  let recorded: Session
  const read = (port: number, user = GRACE) =>
    python(imapRead, ['--port', String(port), '--starttls', '--cafile', ca.certPath, '--authenticate', '--user', user.user, '--password', user.password])

  before(async () => {
    if (!servers) return
    recorded = await record(() => read(mt.ports[2]!))
  })

  test('replayed against the same server it is equivalent, tags and UIDVALIDITY normalised', async (t) => {
    if (!servers) return t.skip('no real servers')
    assert.equal(recorded.tls.length, 2)
    const result = await replay(recorded.id, { user: GRACE.user, password: GRACE.password })
    assert.equal(result.verdict, 'equivalent', formatDiff(result))
    assert.match(rowOf(result, /FETCH 1 \(BODY\.PEEK\[\]\)/).replayed.join('\n'), new RegExp(`Subject: ${SUBJECT}`))
  })

  test('the mock serves the recording to imaplib with its own tags', async (t) => {
    if (!servers) return t.skip('no real servers')
    const { value: r, mockIds } = await withMock(recorded.id, 'imap://127.0.0.1:0', (mock) => read(mock.port))
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json?.subject, SUBJECT)
    const codes = await noteCodes(mockIds[0]!)
    assert.ok(!codes.includes('MOCK_UNEXPECTED_COMMAND'), codes.join(', '))
  })

  test('curl, which fetches by UID, gets BAD for it and the deviation is reported', async (t) => {
    if (!servers) return t.skip('no real servers')
    const { value: r, mockIds } = await withMock(recorded.id, 'imap://127.0.0.1:0', (mock) =>
      curl([`imap://127.0.0.1:${mock.port}/INBOX;UID=1`, '--ssl-reqd', '--cacert', ca.certPath, '--user', `${GRACE.user}:${GRACE.password}`]),
    )
    assert.notEqual(r.code, 0)
    const notes = (await mt.store.events(mockIds[0]!)).flatMap((e) => e.notes ?? [])
    const deviation = notes.find((n) => n.code === 'MOCK_UNEXPECTED_COMMAND')
    assert.ok(deviation, notes.map((n) => n.code).join(', '))
    assert.match(deviation.text, /^UID FETCH is not in the recording/)
  })

  test('once the mailbox is emptied the replay diverges and reports the message numbers', async (t) => {
    if (!servers) return t.skip('no real servers')
    await resetMailbox(GRACE.user)
    const result = await replay(recorded.id)
    assert.equal(result.verdict, 'diverged')
    const select = rowOf(result, /SELECT INBOX/)
    assert.equal(result.divergedAt, select.n)
    const fetch = rowOf(result, /FETCH 1 \(BODY\.PEEK\[\]\)/)
    assert.ok(fetch.stateDependent)
    assert.ok(fetch.notes?.some((n) => n.code === 'REPLAY_MAILBOX_STATE' && /held 1 message\(s\) when recorded and 0 now/.test(n.text)), formatDiff(result))
  })
})
