import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Item, Session, SessionEvent } from '../../shared/schema.ts'
import { exportSession } from '../../proxy/export/index.ts'
import { importFile, importJson, ImportError, importText, parseImport, recordImport } from '../../proxy/import/index.ts'
import { IMAP_SESSION, PASSWORD, POP3_SESSION, SMTP_SESSION, SMTP_STARTTLS_SESSION } from '../api/fixtures.ts'
import { openTestStore, recordTranscript, type TestStore } from '../api/helpers.ts'

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

let ts: TestStore
before(async () => {
  ts = await openTestStore()
})
after(() => ts.close())

async function eventsOf(id: string): Promise<SessionEvent[]> {
  await ts.store.flush()
  return ts.store.events(id)
}

function items(events: SessionEvent[], kind: Item['kind']): Item[] {
  return events.flatMap((e) => (e.item?.kind === kind ? [e.item] : []))
}

/** Each command's verb with the first line of the reply paired to it ('code text'). */
function pairs(events: SessionEvent[]): [string, string | undefined][] {
  return events.flatMap((e): [string, string | undefined][] => {
    if (e.item?.kind !== 'command') return []
    const reply = events.find((r) => r.item?.kind === 'reply' && r.item.replyTo === e.seq)?.item
    return [[e.item.verb, reply?.kind === 'reply' ? `${reply.code} ${reply.lines[0]}` : undefined]]
  })
}

describe("the seed's examples", () => {
  test('the SMTP example imports as SMTP and shows the AUTH LOGIN user', async () => {
    const s = await recordImport(ts.feed, importText(fixture('seed-smtp.txt')), { file: 'seed-smtp.txt' })
    assert.equal(s.protocol, 'smtp')
    assert.equal(s.origin?.kind, 'import')
    assert.equal(s.closeReason, 'imported')
    assert.equal(ts.store.get(s.id)?.user, 'nombre_usuario')
    const events = await eventsOf(s.id)
    const login = items(events, 'auth').find((a) => a.kind === 'auth' && a.step === 'response' && a.user)
    assert.ok(login && login.kind === 'auth' && login.mechanism === 'LOGIN' && login.decoded === 'user=nombre_usuario', "login && login.kind === 'auth' && login.mechanism === 'LOGIN' && login.decoded === 'user=nombre_usuario'")
  })

  // The seed leaves out the 220 greeting, the 334 prompts and the 235 of AUTH LOGIN; the
  // importer never invents server replies, so the SMTP decoder pairs around the gaps.
  test("the SMTP example's message is found with its Subject 'Asunto'", async () => {
    const s = await recordImport(ts.feed, importText(fixture('seed-smtp.txt')))
    const events = await eventsOf(s.id)
    const parsed = items(events, 'message').find((m) => m.kind === 'message' && m.phase === 'parsed')
    assert.ok(parsed && parsed.kind === 'message', 'a message was extracted from DATA')
    assert.equal(parsed.summary?.subject, 'Asunto')
    const eml = await ts.store.message(s.id, 1)
    assert.match(eml!.toString(), /^subject: Asunto\r\nEste mensaje es de prueba\.\r\n/)
  })

  test('every command of the SMTP example pairs with the reply written under it', async () => {
    const s = await recordImport(ts.feed, importText(fixture('seed-smtp.txt')))
    const events = await eventsOf(s.id)
    assert.deepEqual(pairs(events), [
      ['HELO', '250 servidor.es'],
      ['AUTH', undefined],
      ['MAIL', '250 2.1.5. OK'],
      ['RCPT', '250 2.1.5. Ok'],
      ['DATA', '354 Start mail input; endi with <CRLF>.<CRLF>'],
      ['QUIT', '221 Bye'],
    ])
    // The body's own reply answers the message, not a command.
    const queued = events.find((e) => e.item?.kind === 'reply' && e.item.lines[0]?.startsWith('OK: queued'))!
    assert.equal(events.find((e) => e.seq === (queued.item as { replyTo?: number }).replyTo)?.item?.kind, 'body')
    const notes = events.flatMap((e) => e.notes ?? []).map((n) => n.code)
    for (const code of ['SMTP_NO_GREETING', 'SMTP_AUTH_UNANSWERED']) assert.ok(notes.includes(code), code)
    assert.ok(!notes.includes('AUTH_INVALID_BASE64'), 'no command was read as a SASL answer')
  })

  test('the POP3 example decodes its commands and keeps the password apart', async () => {
    const s = await recordImport(ts.feed, importText(fixture('seed-pop3.txt')))
    assert.equal(s.protocol, 'pop3')
    assert.equal(ts.store.get(s.id)?.user, 'pepe')
    const events = await eventsOf(s.id)
    const verbs = items(events, 'command').map((c) => (c.kind === 'command' ? c.verb : ''))
    assert.deepEqual(verbs, ['USER', 'PASS', 'LIST', 'QUIT'])
    const pass = events.find((e) => e.item?.kind === 'command' && e.item.verb === 'PASS')!
    assert.equal(pass.item?.kind === 'command' && pass.item.line, 'PASS •••')
    assert.deepEqual(pass.secrets, [{ kind: 'password', value: 'LaContrasenia' }])
  })

  // The seed has no greeting; the importer never invents one, so the POP3 decoder notices
  // the client spoke first and pairs the first +OK with USER.
  test("the POP3 example's scan listing is read as the LIST response", async () => {
    const s = await recordImport(ts.feed, importText(fixture('seed-pop3.txt')))
    const events = await eventsOf(s.id)
    assert.deepEqual(pairs(events), [
      ['USER', '+OK Name is a valid mailbox'],
      ['PASS', '+OK Mailbox locked and ready'],
      ['LIST', '+OK scan listing follows'],
      ['QUIT', '+OK '],
    ])
    const list = events.find((e) => e.item?.kind === 'command' && e.item.verb === 'LIST')!
    const listing = events.find((e) => e.item?.kind === 'reply' && e.item.replyTo === list.seq)!.item
    assert.ok(listing?.kind === 'reply')
    assert.deepEqual(listing.lines.slice(1), ['1 23941', '2 2411', '3 16523', '4 892034'])
    const notes = events.flatMap((e) => e.notes ?? []).map((n) => n.code)
    assert.ok(notes.includes('POP3_NO_GREETING'))
    assert.ok(!notes.includes('POP3_MALFORMED_RESPONSE'), 'no listing line was read as a response')
  })

  test('the IMAP example imports and explains STORE +FLAGS.SILENT', async () => {
    const s = await recordImport(ts.feed, importText(fixture('seed-imap.txt')))
    assert.equal(s.protocol, 'imap')
    const events = await eventsOf(s.id)
    const store = items(events, 'command').find((c) => c.kind === 'command' && c.verb === 'STORE')
    assert.ok(store && store.kind === 'command', 'STORE was decoded')
    assert.equal(store.tag, '1')
    assert.ok(store.explain?.includes('imap.store.+FLAGS.SILENT'), `explained: ${store.explain}`)
    // The fix-ups the transcript needed are notes in the session, in place.
    const notes = events.flatMap((e) => e.notes ?? []).map((n) => n.code)
    for (const code of ['IMPORT_FIXED_UNTAGGED', 'IMPORT_LITERAL_ELIDED', 'IMPORT_ELIDED']) assert.ok(notes.includes(code), code)
  })
})

/** What decoding produced, minus what depends on seq numbers (imports add notes first). */
function decodedShape(events: SessionEvent[]): unknown[] {
  return events
    .filter((e) => e.from !== 'proxy' || e.item?.kind === 'message')
    .map((e) => {
      const item = e.item ? (JSON.parse(JSON.stringify(e.item)) as Record<string, unknown>) : undefined
      if (item) {
        delete item.replyTo
        delete item.attempt
        if (item.kind === 'message') delete item.summary
      }
      // The recorder stamps a parsed message with the time the parse finished.
      const at = e.from === 'proxy' ? undefined : e.at
      return { from: e.from, at, raw: e.raw, item, notes: e.notes?.map((n) => n.code), secrets: e.secrets }
    })
}

describe('json round trips', () => {
  for (const [name, protocol, transcript] of [
    ['SMTP with a message', 'smtp', SMTP_SESSION],
    ['SMTP with an intercepted STARTTLS', 'smtp', SMTP_STARTTLS_SESSION],
    ['POP3 with RETR', 'pop3', POP3_SESSION],
    ['IMAP with a literal', 'imap', IMAP_SESSION],
  ] as const) {
    test(`a json export of ${name} imports to the same decoded events`, async () => {
      const original = await recordTranscript(ts.feed, protocol, transcript)
      await ts.store.flush()
      const out = await exportSession(ts.store, original.id, 'json', { secrets: true })
      const imported = await recordImport(ts.feed, parseImport(out.body as Buffer))
      assert.notEqual(imported.id, original.id)
      assert.equal(imported.origin?.of, original.id)
      assert.deepEqual(decodedShape(await eventsOf(imported.id)), decodedShape(await eventsOf(original.id)))
      assert.deepEqual(await ts.store.raw(imported.id, 'client'), await ts.store.raw(original.id, 'client'))
      assert.deepEqual(await ts.store.raw(imported.id, 'server'), await ts.store.raw(original.id, 'server'))
      assert.equal(ts.store.messageCount(imported.id), ts.store.messageCount(original.id))
      const s = ts.store.get(imported.id)!
      assert.equal(s.user, original.user)
      assert.deepEqual(
        s.tls.map((l) => [l.leg, l.how, l.version]),
        original.tls.map((l) => [l.leg, l.how, l.version]),
      )
    })
  }

  test('a redacted json export imports fine, without the secrets', async () => {
    const original = await recordTranscript(ts.feed, 'smtp', SMTP_SESSION)
    await ts.store.flush()
    const out = await exportSession(ts.store, original.id, 'json')
    const imported = await recordImport(ts.feed, parseImport(out.body as Buffer))
    const events = await eventsOf(imported.id)
    assert.ok(!JSON.stringify(events).includes(PASSWORD), "!JSON.stringify(events).includes(PASSWORD)")
    assert.ok(!(await ts.store.raw(imported.id, 'client')).includes(Buffer.from(PASSWORD)), "!(await ts.store.raw(imported.id, 'client')).includes(Buffer.from(PASSWORD))")
    assert.deepEqual(
      items(events, 'command').map((c) => (c.kind === 'command' ? c.verb : '')),
      ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'],
    )
    assert.ok(events.some((e) => e.notes?.some((n) => n.code === 'IMPORT_REDACTED')), "events.some((e) => e.notes?.some((n) => n.code === 'IMPORT_REDACTED'))")
    assert.equal(ts.store.messageCount(imported.id), 1)
  })

  test('a txt export with secrets imports back to the very same bytes', async () => {
    const original = await recordTranscript(ts.feed, 'smtp', SMTP_STARTTLS_SESSION)
    await ts.store.flush()
    const out = await exportSession(ts.store, original.id, 'txt', { secrets: true })
    const parsed = importText((out.body as Buffer).toString('utf8'))
    assert.equal(parsed.protocol, 'smtp')
    const imported = await recordImport(ts.feed, parsed)
    await ts.store.flush()
    assert.deepEqual(await ts.store.raw(imported.id, 'client'), await ts.store.raw(original.id, 'client'))
    assert.deepEqual(await ts.store.raw(imported.id, 'server'), await ts.store.raw(original.id, 'server'))
    const verbs = (id: string) => eventsOf(id).then((e) => items(e, 'command').map((c) => (c.kind === 'command' ? c.verb : '')))
    assert.deepEqual(await verbs(imported.id), await verbs(original.id))
    assert.equal(ts.store.get(imported.id)!.tls.length, 2)
  })

  test('a txt export of odd bytes (NUL, Latin-1, bare LF, no final CRLF) imports back to the same bytes', async () => {
    const odd = 'S: 220 hi\nC~ EHLO caf\\xe9\\x00\\r\\n\nS~ 250 ok\\n\nC: NOOP\nS: 250 ok\nC~ QUI'
    const original = await recordTranscript(ts.feed, 'smtp', odd)
    await ts.store.flush()
    const txt = ((await exportSession(ts.store, original.id, 'txt', { secrets: true })).body as Buffer).toString('utf8')
    assert.ok(txt.includes('C~ EHLO caf\\xe9\\x00\\r\\n'), txt)
    const imported = await recordImport(ts.feed, importText(txt))
    await ts.store.flush()
    assert.deepEqual(await ts.store.raw(imported.id, 'client'), await ts.store.raw(original.id, 'client'))
    assert.deepEqual(await ts.store.raw(imported.id, 'server'), await ts.store.raw(original.id, 'server'))
  })

  test('importFile reads a transcript from disk and records it under its file name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailtap-import-'))
    try {
      const path = join(dir, 'pop.txt')
      await writeFile(path, 'S: +OK hi\nC: USER bob\nS: +OK\nC: QUIT\nS: +OK bye\n')
      const s = await importFile(path, { feed: ts.feed })
      assert.equal(s.origin?.file, 'pop.txt')
      assert.equal(s.route.upstreamUrl, 'pop.txt')
      assert.equal(ts.store.get(s.id)?.user, 'bob')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('malformed imports', () => {
  const bad: [string, unknown, RegExp][] = [
    ['not an object', [1, 2], /must be an object/],
    ['another format', { format: 'har' }, /"format" is "har"/],
    ['a newer version', { format: 'mailtap', formatVersion: 99 }, /formatVersion/],
    ['no session', { format: 'mailtap', formatVersion: 1 }, /"session" is missing/],
    ['a bad protocol', { format: 'mailtap', formatVersion: 1, session: { protocol: 'ftp' } }, /session.protocol/],
    ['bad base64', { format: 'mailtap', formatVersion: 1, session: { protocol: 'smtp' }, events: [], raw: { client: '!!', server: '' } }, /raw.client/],
    ['events without seq', { format: 'mailtap', formatVersion: 1, session: { protocol: 'smtp' }, events: [{}], raw: { client: '', server: '' } }, /events\[0\]/],
  ]
  for (const [what, doc, message] of bad) {
    test(`a json import with ${what} is refused, naming the problem`, () => {
      assert.throws(() => importJson(doc), (e: unknown) => e instanceof ImportError && message.test(e.message))
    })
  }

  test('a transcript that is not UTF-8 is read as Latin-1 and keeps its bytes, with a note', () => {
    const parsed = parseImport(Buffer.from('C: USER jos\xe9\nS: +OK\n', 'latin1'))
    assert.deepEqual(parsed.chunks[0]!.bytes, Buffer.from('USER jos\xe9\r\n', 'latin1'))
    assert.ok(parsed.notes.some((n) => n.code === 'IMPORT_NOT_UTF8'), 'a note says so')
  })

  test('broken json is refused as json, not read as a transcript', () => {
    assert.throws(() => parseImport('{"format": "mailtap",'), /not valid json/)
  })
})
