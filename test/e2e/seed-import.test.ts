// End to end through the real command: the three examples of the user's notes (seed), as
// text, sent to `POST /api/import` of a running `mailtap`, are decoded and shown by the API
// like live sessions. No real servers needed.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { Item, SessionEvent } from '../../shared/schema.ts'
import { explain } from '../../shared/explain/index.ts'
import { sessionView, startCli, type RunningCli, type SessionView } from './cli.ts'

const seed = (name: string) => readFileSync(new URL(`../import/fixtures/seed-${name}.txt`, import.meta.url))

let cli: RunningCli
const imported: Partial<Record<'smtp' | 'pop3' | 'imap', SessionView>> = {}

before(async () => {
  // One route to a closed port keeps mailtap out of lab mode; nothing connects to it.
  cli = await startCli(['smtp://127.0.0.1:0=smtp://127.0.0.1:9'])
  for (const name of ['smtp', 'pop3', 'imap'] as const) {
    // No ?protocol=: the importer has to recognise each example by itself.
    const r = await cli.post<{ session: { id: string } }>(`/api/import?name=seed-${name}.txt`, seed(name))
    assert.equal(r.status, 201, JSON.stringify(r.json))
    imported[name] = await sessionView(cli, r.json.session.id)
  }
})

after(() => cli?.stop())

function items<K extends Item['kind']>(events: SessionEvent[], kind: K): { ev: SessionEvent; item: Extract<Item, { kind: K }> }[] {
  return events.flatMap((ev) => (ev.item?.kind === kind ? [{ ev, item: ev.item as Extract<Item, { kind: K }> }] : []))
}

function replyTo(events: SessionEvent[], seq: number): Extract<Item, { kind: 'reply' }> | undefined {
  return items(events, 'reply').find((r) => r.item.replyTo === seq)?.item
}

describe('the seed examples imported over the API', () => {
  test('each example is recognised as its protocol and listed as an imported session', async () => {
    for (const name of ['smtp', 'pop3', 'imap'] as const) {
      const { session } = imported[name]!
      assert.equal(session.protocol, name)
      assert.equal(session.origin?.kind, 'import')
      assert.equal(session.origin?.file, `seed-${name}.txt`)
      assert.equal(session.status, 'closed')
      const notes = imported[name]!.events.flatMap((e) => e.notes ?? []).map((n) => n.code)
      assert.ok(notes.includes('IMPORT_PROTOCOL_GUESSED'), `${name}: the guess is noted`)
    }
    const { sessions, total } = await cli.get<{ sessions: { id: string }[]; total: number }>('/api/sessions')
    assert.equal(total, 3)
    assert.deepEqual(new Set(sessions.map((s) => s.id)), new Set(Object.values(imported).map((v) => v!.session.id)))
  })

  test('the IMAP example explains its STORE +FLAGS.SILENT in English and Spanish', () => {
    const { events } = imported.imap!
    const store = items(events, 'command').find((c) => c.item.verb === 'STORE')
    assert.ok(store, 'STORE was decoded')
    assert.equal(store.item.tag, '1')
    assert.ok(store.item.explain?.includes('imap.store.+FLAGS.SILENT'), `${store.item.explain}`)
    for (const key of store.item.explain!) {
      assert.ok(explain(key, 'en'), `${key} in English`)
      assert.ok(explain(key, 'es'), `${key} in Spanish`)
    }
    assert.equal(replyTo(events, store.ev.seq)?.lines[0], 'STORE completed.')
  })

  test('the IMAP example shows the EXPUNGE, the EXISTS that follows, and their completion', () => {
    const { events } = imported.imap!
    const expunge = items(events, 'command').find((c) => c.item.verb === 'EXPUNGE')
    assert.ok(expunge)
    const after = events.filter((e) => e.seq > expunge.ev.seq && e.item?.kind === 'untagged').slice(0, 2)
    assert.deepEqual(
      after.map((e) => e.item?.kind === 'untagged' && [e.item.name, e.item.number]),
      [['EXPUNGE', 1], ['EXISTS', 0]],
    )
    assert.equal(replyTo(events, expunge.ev.seq)?.code, 'OK')
  })

  test('the IMAP example pairs each command with its tagged completion', () => {
    const { events } = imported.imap!
    const commands = items(events, 'command')
    assert.deepEqual(commands.map((c) => c.item.verb), ['LOGIN', 'LIST', 'SELECT', 'FETCH', 'STORE', 'EXPUNGE', 'LOGOUT'])
    for (const c of commands) {
      const done = replyTo(events, c.ev.seq)
      assert.ok(done, `${c.item.line} has its completion`)
      assert.match(done.lines[0], new RegExp(`^${c.item.verb} completed\\.$`))
      assert.equal(typeof done.latencyMs, 'number')
    }
  })

  test("the IMAP example's LOGIN names the user and hides the password unless asked", async () => {
    const v = imported.imap!
    assert.equal(v.session.user, 'usuario')
    assert.ok(!JSON.stringify(v).includes('contraseña'))
    const shown = await sessionView(cli, v.session.id, '?secrets=show')
    assert.ok(shown.events.some((e) => e.secrets?.some((s) => s.value === 'contraseña')))
    const txt = await cli.getText(`/api/sessions/${v.session.id}/export?format=txt`)
    assert.ok(!txt.text.includes('contraseña'))
    assert.match(txt.text, /^C: 1 login "usuario" "•••"$/m)
  })

  test('the POP3 example decodes USER/PASS/LIST/QUIT and keeps the password apart', async () => {
    const v = imported.pop3!
    assert.equal(v.session.user, 'pepe')
    assert.deepEqual(items(v.events, 'command').map((c) => c.item.line), ['USER pepe', 'PASS •••', 'LIST', 'QUIT'])
    assert.ok(!JSON.stringify(v).includes('LaContrasenia'))
    const txt = await cli.getText(`/api/sessions/${v.session.id}/export?format=txt&secrets=show`)
    assert.match(txt.text, /^C: PASS LaContrasenia$/m)
  })

  test('the SMTP example decodes the lower-case auth login and its user', () => {
    const v = imported.smtp!
    assert.equal(v.session.user, 'nombre_usuario')
    const auth = items(v.events, 'auth')
    assert.ok(auth.some((a) => a.item.step === 'start' && a.item.mechanism === 'LOGIN'))
    assert.ok(auth.some((a) => a.item.step === 'response' && a.item.decoded === 'user=nombre_usuario'))
  })

  // The seed leaves out the SMTP 334/235 replies and the POP3 greeting; the importer never
  // invents replies, so the decoders have to cope with their absence.
  test("the SMTP example's message is found with its Subject 'Asunto', and every command has its reply", async () => {
    const v = imported.smtp!
    const parsed = items(v.events, 'message').find((m) => m.item.phase === 'parsed')
    assert.equal(parsed?.item.summary?.subject, 'Asunto')
    const eml = await cli.getText(`/api/sessions/${v.session.id}/messages/1.eml`)
    assert.match(eml.text, /^subject: Asunto\r\n/)
    const commands = items(v.events, 'command')
    assert.deepEqual(commands.map((c) => c.item.verb), ['HELO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'])
    assert.equal(replyTo(v.events, commands[2].ev.seq)?.lines[0], '2.1.5. OK')
    assert.equal(replyTo(v.events, commands[5].ev.seq)?.code, '221')
  })

  test("the POP3 example's LIST answer carries its scan listing", () => {
    const { events } = imported.pop3!
    const list = items(events, 'command').find((c) => c.item.verb === 'LIST')!
    const reply = replyTo(events, list.ev.seq)
    assert.deepEqual(reply?.lines, ['scan listing follows', '1 23941', '2 2411', '3 16523', '4 892034'])
    assert.ok(!events.some((e) => e.notes?.some((n) => n.code === 'POP3_MALFORMED_RESPONSE')))
  })
})
