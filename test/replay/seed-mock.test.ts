// The seed's three hand-written examples, imported, then served by the mock to python's
// smtplib, poplib and imaplib running the same commands: each script must complete.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { Protocol, SessionEvent } from '../../shared/schema.ts'
import { importText, recordImport } from '../../proxy/import/index.ts'
import { startMock } from '../../proxy/replay/index.ts'
import { openTestStore, type TestStore } from '../api/helpers.ts'
import { python } from '../helpers/clients.ts'

const seed = (name: string) => readFileSync(new URL(`../import/fixtures/${name}`, import.meta.url), 'utf8')
const client = (name: string) => new URL(`./clients/${name}`, import.meta.url).pathname

let ts: TestStore
before(async () => {
  ts = await openTestStore()
})
after(() => ts.close())

async function serveSeed(file: string, protocol: Protocol, script: string) {
  const original = await recordImport(ts.feed, importText(seed(file)), { file })
  assert.equal(original.protocol, protocol)
  await ts.store.flush()
  const mock = await startMock({ store: ts.store, feed: ts.feed, sessionId: original.id, listen: `${protocol}://127.0.0.1:0` })
  try {
    const run = await python<Record<string, unknown>>(client(script), ['--port', String(mock.port)], { timeoutMs: 20_000 })
    return { original, run, mockIds: mock.sessions() }
  } finally {
    await mock.close()
    await ts.store.flush()
  }
}

function codes(events: SessionEvent[]): string[] {
  return events.flatMap((e) => e.notes ?? []).map((n) => n.code)
}

describe("the seed's examples served by the mock", () => {
  test('smtplib runs the SMTP example through HELO, AUTH LOGIN, DATA and QUIT', async () => {
    const { original, run, mockIds } = await serveSeed('seed-smtp.txt', 'smtp', 'seed_smtp.py')
    assert.equal(run.code, 0, run.stdout + run.stderr)
    const replies = run.json!.replies as [string, number, string][]
    assert.deepEqual(
      replies.map((r) => r[1]),
      [250, 334, 334, 235, 250, 250, 354, 250, 221],
    )
    assert.equal(replies[0]![2], 'servidor.es')
    assert.equal(replies[7]![2], '2.0.0 OK: queued as 6D126A066')
    assert.equal(mockIds.length, 1)
    const mock = ts.store.get(mockIds[0]!)!
    assert.deepEqual(mock.origin, { kind: 'mock', of: original.id })
    const notes = codes(await ts.store.events(mock.id))
    assert.ok(notes.includes('MOCK_SYNTHESIZED_GREETING'), 'the missing greeting is reported')
    assert.ok(notes.includes('MOCK_SYNTHESIZED_REPLY'), 'the missing AUTH replies are reported')
    assert.ok(!notes.includes('MOCK_UNEXPECTED_COMMAND'), `no deviation: ${notes.join(', ')}`)
  })

  test('poplib runs the POP3 example and gets the recorded scan listing', async () => {
    const { run, mockIds } = await serveSeed('seed-pop3.txt', 'pop3', 'seed_pop3.py')
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.equal(run.json!.user, '+OK Name is a valid mailbox')
    assert.equal(run.json!.pass, '+OK Mailbox locked and ready')
    assert.deepEqual(run.json!.listing, ['1 23941', '2 2411', '3 16523', '4 892034'])
    const notes = codes(await ts.store.events(mockIds[0]!))
    assert.ok(!notes.includes('MOCK_UNEXPECTED_COMMAND'), `no deviation: ${notes.join(', ')}`)
  })

  test('imaplib runs the IMAP example with its own tags', async () => {
    const { run, mockIds } = await serveSeed('seed-imap.txt', 'imap', 'seed_imap.py')
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.equal(run.json!.exists, '1')
    assert.deepEqual(run.json!.expunged, ['1'])
    assert.match(String((run.json!.list as string[])[0]), /INBOX/)
    const mockSession = ts.store.get(mockIds[0]!)!
    assert.equal(mockSession.status, 'closed')
    const notes = codes(await ts.store.events(mockSession.id))
    assert.ok(!notes.includes('MOCK_UNEXPECTED_COMMAND'), `no deviation: ${notes.join(', ')}`)
  })
})
