// End to end through the real command: `mailtap` (bin/mailtap.mjs) proxies the three
// exchanges of the user's notes (seed) from python's smtplib, poplib and imaplib to the
// real Postfix and Dovecot, and its HTTP API shows what the issue promises: the AUTH LOGIN
// user with the password redacted, the message and its Subject, POP3 LIST's listing, the
// STORE +FLAGS.SILENT explained, the EXPUNGE, and every command paired with its reply.
// This file owns the mailbox of alice (test files run in parallel).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Item, SessionEvent } from '../../shared/schema.ts'
import { explain } from '../../shared/explain/index.ts'
import { loginArgs, python, scripts, type PythonResult } from '../helpers/clients.ts'
import { realServers, resetMailbox, users, type Ports } from '../helpers/real-servers.ts'
import { sessionView, startCli, type RunningCli, type SessionView } from './cli.ts'

const ALICE = users.alice
const PASSWORD_B64 = Buffer.from(ALICE.password).toString('base64')
/** What seed_smtp.py sends after DATA, without the terminating dot line. */
const SEED_MESSAGE = 'subject: Asunto\r\nEste mensaje es de prueba.\r\nProbamos el protocolo SMTP.\r\n'
const DELIVERY_TIMEOUT_MS = 15_000

let servers: Ports | undefined
let cli: RunningCli | undefined
const runs: Partial<Record<'smtp' | 'pop3' | 'imap', PythonResult<Record<string, unknown>>>> = {}
const views: Partial<Record<'smtp' | 'pop3' | 'imap', SessionView>> = {}

/** Waits until Postfix has delivered to alice's INBOX, asking Dovecot directly (not through mailtap). */
async function waitDelivered(ports: Ports): Promise<void> {
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS
  for (;;) {
    const r = await python<{ list?: unknown[] }>(scripts.seedPop3, loginArgs(ports.host, ports.pop3, ALICE))
    if (r.json?.list?.length) return
    if (Date.now() > deadline) throw new Error(`the seed message never reached alice's INBOX: ${r.stdout}${r.stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

before(async () => {
  servers = await realServers()
  if (!servers) return
  await resetMailbox(ALICE.user)
  const host = servers.host
  cli = await startCli([
    `smtp://127.0.0.1:0=smtp://${host}:${servers.smtp}`,
    `pop3://127.0.0.1:0=pop3://${host}:${servers.pop3}`,
    `imap://127.0.0.1:0=imap://${host}:${servers.imap}`,
  ])
  // One exchange after the other, as the notes tell them: send, list, fetch and delete.
  runs.smtp = await python(scripts.seedSmtp, [...loginArgs('127.0.0.1', cli.ports.smtp!, ALICE), '--to', ALICE.address])
  assert.equal(runs.smtp.code, 0, `seed_smtp.py: ${runs.smtp.stdout}${runs.smtp.stderr}\n${cli.output()}`)
  await waitDelivered(servers)
  runs.pop3 = await python(scripts.seedPop3, loginArgs('127.0.0.1', cli.ports.pop3!, ALICE))
  assert.equal(runs.pop3.code, 0, `seed_pop3.py: ${runs.pop3.stdout}${runs.pop3.stderr}`)
  runs.imap = await python(scripts.seedImap, loginArgs('127.0.0.1', cli.ports.imap!, ALICE))
  assert.equal(runs.imap.code, 0, `seed_imap.py: ${runs.imap.stdout}${runs.imap.stderr}`)
  for (const protocol of ['smtp', 'pop3', 'imap'] as const) {
    const closed = await cli.waitClosed(protocol)
    assert.equal(closed.length, 1, `one ${protocol} session was recorded`)
    views[protocol] = await sessionView(cli, closed[0].id)
  }
})

after(async () => {
  await cli?.stop()
})

function items<K extends Item['kind']>(events: SessionEvent[], kind: K): { ev: SessionEvent; item: Extract<Item, { kind: K }> }[] {
  return events.flatMap((ev) => (ev.item?.kind === kind ? [{ ev, item: ev.item as Extract<Item, { kind: K }> }] : []))
}

function commandEvent(events: SessionEvent[], verb: string): SessionEvent {
  const hit = items(events, 'command').find((c) => c.item.verb === verb)
  assert.ok(hit, `a ${verb} command was decoded`)
  return hit.ev
}

/** The reply or continuation events that name `seq` as the command they answer. */
function answersTo(events: SessionEvent[], seq: number): SessionEvent[] {
  return events.filter((e) => (e.item?.kind === 'reply' || e.item?.kind === 'continuation') && e.item.replyTo === seq)
}

/** Every command (and SASL answer) has exactly one reply, after it, with the latency between the two. */
function assertEveryCommandPaired(events: SessionEvent[]): void {
  // A SASL answer is a line of its own (SMTP AUTH LOGIN); POP3's PASS carries its auth step
  // on the command's own bytes, and the reply answers the command.
  const commandOffsets = new Set(events.filter((e) => e.item?.kind === 'command').map((e) => e.raw?.offset))
  const isSaslLine = (e: SessionEvent) => e.item?.kind === 'auth' && e.item.step === 'response' && e.from === 'client' && !commandOffsets.has(e.raw?.offset)
  const asked = events.filter((e) => e.item?.kind === 'command' || isSaslLine(e))
  assert.ok(asked.length > 0)
  for (const cmd of asked) {
    const label = cmd.item?.kind === 'command' ? cmd.item.line : `${cmd.item?.kind} #${cmd.seq}`
    const answers = answersTo(events, cmd.seq)
    assert.equal(answers.length, 1, `${label} has exactly one reply, got ${answers.length}`)
    const reply = answers[0]
    assert.ok(reply.seq > cmd.seq, `the reply to ${label} comes after it`)
    assert.equal(reply.from, 'server')
    const item = reply.item as Extract<Item, { kind: 'reply' | 'continuation' }>
    assert.equal(typeof item.latencyMs, 'number', `the reply to ${label} has a latency`)
    // The latency is the time between the two events as recorded (rounded by the decoder).
    assert.ok(Math.abs(item.latencyMs! - (reply.at - cmd.at)) < 0.01, `${label}: latency ${item.latencyMs} vs ${reply.at - cmd.at}`)
  }
  // And every reply names a client event that was sent before it.
  for (const e of events) {
    if ((e.item?.kind === 'reply' || e.item?.kind === 'continuation') && e.item.replyTo !== undefined) {
      const asked = events.find((x) => x.seq === (e.item as { replyTo: number }).replyTo)
      assert.equal(asked?.from, 'client', `reply #${e.seq} answers a client event`)
    }
  }
}

function skipUnlessReady(t: { skip(msg?: string): void }): SessionView | undefined {
  if (!servers || !cli) {
    t.skip('no real servers')
    return undefined
  }
  return views.smtp
}

describe('the seed SMTP exchange through the mailtap command', () => {
  test('the API shows the AUTH LOGIN user alice and the session belongs to her', (t) => {
    const v = skipUnlessReady(t)
    if (!v) return
    assert.equal(v.session.user, ALICE.user)
    assert.equal(v.session.status, 'closed')
    const auth = items(v.events, 'auth')
    assert.ok(auth.some((a) => a.item.step === 'start' && a.item.mechanism === 'LOGIN'), 'the lower-case `auth login` starts an AUTH LOGIN')
    const prompts = items(v.events, 'continuation').map((c) => c.item.decoded)
    assert.deepEqual(prompts, ['Username:', 'Password:'])
    const userStep = auth.find((a) => a.item.step === 'response' && a.item.decoded === `user=${ALICE.user}`)
    assert.ok(userStep, 'the base64 user name is decoded')
    const outcome = auth.find((a) => a.item.step === 'outcome')
    assert.equal(outcome?.item.outcome, 'success')
    assert.equal(outcome?.item.user, ALICE.user)
  })

  test('the password never appears in the session the API returns, only its mask', (t) => {
    const v = skipUnlessReady(t)
    if (!v) return
    const text = JSON.stringify(v)
    assert.ok(!text.includes(ALICE.password), 'the password is not in GET /api/sessions/:id')
    assert.ok(!text.includes(PASSWORD_B64), 'nor its base64 form')
    const withSecret = v.events.filter((e) => e.secrets?.length)
    assert.ok(withSecret.length > 0, 'the password step carries a secret')
    for (const e of withSecret) for (const s of e.secrets!) assert.equal(s.value, '•••')
  })

  test('with secrets=show the API and the txt export give the password back', async (t) => {
    const v = skipUnlessReady(t)
    if (!v) return
    const shown = await sessionView(cli!, v.session.id, '?secrets=show')
    const secrets = shown.events.flatMap((e) => e.secrets ?? [])
    assert.ok(secrets.some((s) => s.kind === 'password' && s.value === ALICE.password), JSON.stringify(secrets))
    const txt = await cli!.getText(`/api/sessions/${v.session.id}/export?format=txt&secrets=show`)
    assert.equal(txt.status, 200)
    assert.match(txt.text, new RegExp(`^C: ${PASSWORD_B64.replace(/[+=/]/g, '\\$&')}$`, 'm'))
  })

  test('the txt export and the raw bytes leave the password out unless asked', async (t) => {
    const v = skipUnlessReady(t)
    if (!v) return
    const txt = await cli!.getText(`/api/sessions/${v.session.id}/export?format=txt`)
    assert.equal(txt.status, 200)
    assert.match(txt.text, /^C: auth login$/m)
    assert.match(txt.text, /^C: •••$/m)
    assert.ok(!txt.text.includes(PASSWORD_B64) && !txt.text.includes(ALICE.password), 'no password in the txt export')
    const raw = await cli!.getText(`/api/sessions/${v.session.id}/raw?side=client`)
    assert.equal(raw.status, 200)
    assert.ok(raw.text.includes('auth login\r\n'))
    assert.ok(!raw.text.includes(PASSWORD_B64), 'no password in the raw client bytes')
    const rawShown = await cli!.getText(`/api/sessions/${v.session.id}/raw?side=client&secrets=show`)
    assert.ok(rawShown.text.includes(`${PASSWORD_B64}\r\n`), 'the raw bytes with secrets=show are what the client sent')
  })

  test("the message is found with its Subject 'Asunto' and its exact bytes", async (t) => {
    const v = skipUnlessReady(t)
    if (!v) return
    const parsed = items(v.events, 'message').find((m) => m.item.phase === 'parsed')
    assert.ok(parsed, 'the DATA body was parsed as a message')
    assert.equal(parsed.item.source, 'smtp-data')
    assert.equal(parsed.item.summary?.subject, 'Asunto')
    assert.equal(v.session.totals.messages, 1)
    const eml = await cli!.getText(`/api/sessions/${v.session.id}/messages/1.eml`)
    assert.equal(eml.status, 200)
    assert.match(eml.type, /^message\/rfc822/)
    assert.equal(eml.text, SEED_MESSAGE)
    // The seed has no blank line after its header, so to a MIME parser every line is a header.
    const view = await cli!.get<{ summary: { subject?: string }; headers: [string, string][] }>(`/api/sessions/${v.session.id}/messages/1`)
    assert.equal(view.summary.subject, 'Asunto')
    assert.ok(view.headers.some(([name, value]) => name.toLowerCase() === 'subject' && value === 'Asunto'), JSON.stringify(view.headers))
  })

  test('every command, and each AUTH LOGIN answer, is paired with its reply and latency', (t) => {
    const v = skipUnlessReady(t)
    if (!v) return
    assertEveryCommandPaired(v.events)
    const verbs = items(v.events, 'command').map((c) => c.item.verb)
    assert.deepEqual(verbs, ['HELO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'])
    // The 250 after the body answers the body, as the 354 answered DATA.
    const queued = items(v.events, 'reply').find((r) => r.item.lines.some((l) => /queued as/.test(l)))
    assert.ok(queued && queued.item.replyTo !== undefined)
    const answered = v.events.find((e) => e.seq === queued.item.replyTo)
    assert.deepEqual(answered?.item && { kind: answered.item.kind, phase: (answered.item as { phase?: string }).phase }, { kind: 'body', phase: 'end' })
    const steps = runs.smtp!.json!.steps as { code: number }[]
    assert.equal(steps.at(-2)!.code, 250, 'smtplib saw the message accepted')
  })
})

describe('the seed POP3 exchange through the mailtap command', () => {
  test("LIST's listing is shown, and it is what poplib received", (t) => {
    if (!skipUnlessReady(t)) return
    const v = views.pop3!
    const list = commandEvent(v.events, 'LIST')
    const [reply] = answersTo(v.events, list.seq)
    assert.ok(reply?.item?.kind === 'reply')
    assert.equal(reply.item.code, '+OK')
    const listing = (runs.pop3!.json!.list as [number, number][]).map(([n, size]) => `${n} ${size}`)
    assert.equal(listing.length, 1, 'the message sent over SMTP is the one message in the INBOX')
    assert.deepEqual(reply.item.lines.slice(1), listing)
  })

  test('USER names alice, PASS is masked, and the states of RFC 1939 are shown', (t) => {
    if (!skipUnlessReady(t)) return
    const v = views.pop3!
    assert.equal(v.session.user, ALICE.user)
    assert.ok(!JSON.stringify(v).includes(ALICE.password))
    const pass = commandEvent(v.events, 'PASS')
    assert.equal(pass.item?.kind === 'command' && pass.item.line, 'PASS •••')
    const states = items(v.events, 'command').map((c) => `${c.item.verb}:${c.item.state}`)
    assert.deepEqual(states, ['USER:authorization', 'PASS:authorization', 'LIST:transaction', 'QUIT:transaction'])
    const bye = answersTo(v.events, commandEvent(v.events, 'QUIT').seq)[0]
    assert.equal(bye?.item?.kind === 'reply' && bye.item.state, 'update')
  })

  test('every POP3 command is paired with its reply and latency', (t) => {
    if (!skipUnlessReady(t)) return
    assertEveryCommandPaired(views.pop3!.events)
  })
})

describe('the seed IMAP exchange through the mailtap command', () => {
  test('STORE +FLAGS.SILENT is decoded and explained in English and Spanish', (t) => {
    if (!skipUnlessReady(t)) return
    const v = views.imap!
    const store = commandEvent(v.events, 'STORE')
    assert.ok(store.item?.kind === 'command')
    assert.match(store.item.line, /STORE 1 \+FLAGS\.SILENT \(\\Deleted\)$/i)
    const keys = store.item.explain ?? []
    assert.ok(keys.includes('imap.store.+FLAGS.SILENT'), `explain keys: ${keys}`)
    for (const key of keys) {
      const en = explain(key, 'en')
      const es = explain(key, 'es')
      assert.ok(en && en.length > 10, `${key} has an English text`)
      assert.ok(es && es.length > 10, `${key} has a Spanish text`)
    }
    assert.match(explain('imap.store.+FLAGS.SILENT', 'en')!, /silent/i)
    assert.match(explain('imap.store.+FLAGS.SILENT', 'es')!, /silencio/i)
    const [ok] = answersTo(v.events, store.seq)
    assert.equal(ok?.item?.kind === 'reply' && ok.item.code, 'OK')
  })

  test('the EXPUNGE is shown: the command, the expunged message and the completion', (t) => {
    if (!skipUnlessReady(t)) return
    const v = views.imap!
    const cmd = commandEvent(v.events, 'EXPUNGE')
    const untagged = items(v.events, 'untagged').filter((u) => u.item.name === 'EXPUNGE')
    assert.deepEqual(untagged.map((u) => u.item.number), [1])
    assert.ok(untagged[0].ev.seq > cmd.seq)
    assert.ok(untagged[0].item.explain?.every((k) => explain(k, 'es')))
    const [done] = answersTo(v.events, cmd.seq)
    assert.ok(done?.item?.kind === 'reply')
    assert.equal(done.item.code, 'OK')
    assert.ok(done.seq > untagged[0].ev.seq, 'the completion follows the untagged EXPUNGE')
    assert.deepEqual(runs.imap!.json!.expunged, ['1'], 'imaplib saw the same')
  })

  test('the fetched message is the one sent over SMTP, with the size POP3 listed', (t) => {
    if (!skipUnlessReady(t)) return
    const v = views.imap!
    assert.equal(runs.imap!.json!.appended, false, 'the INBOX already had the delivered message')
    const parsed = items(v.events, 'message').find((m) => m.item.phase === 'parsed')
    assert.ok(parsed)
    assert.equal(parsed.item.source, 'imap-fetch')
    assert.equal(parsed.item.summary?.subject, 'Asunto')
    const listed = (runs.pop3!.json!.list as [number, number][])[0][1]
    assert.equal(parsed.item.size, listed)
  })

  test('LOGIN names alice and the password is masked', (t) => {
    if (!skipUnlessReady(t)) return
    const v = views.imap!
    assert.equal(v.session.user, ALICE.user)
    assert.ok(!JSON.stringify(v).includes(ALICE.password))
    const login = commandEvent(v.events, 'LOGIN')
    assert.deepEqual(login.secrets, [{ kind: 'password', value: '•••' }])
  })

  test('every IMAP command is paired with its tagged completion and latency', (t) => {
    if (!skipUnlessReady(t)) return
    const v = views.imap!
    assertEveryCommandPaired(v.events)
    const verbs = items(v.events, 'command').map((c) => c.item.verb)
    for (const verb of ['LOGIN', 'LIST', 'SELECT', 'FETCH', 'STORE', 'EXPUNGE', 'LOGOUT']) assert.ok(verbs.includes(verb), `${verb} in ${verbs}`)
    for (const { ev, item } of items(v.events, 'command')) {
      const [done] = answersTo(v.events, ev.seq)
      assert.equal(done.item?.kind === 'reply' && done.item.tag, item.tag, `${item.line}: completion by tag`)
    }
  })
})

describe('the seed sessions in the list', () => {
  test("the list finds all three by alice's name, and the two that carried the message by its Subject", async (t) => {
    if (!skipUnlessReady(t)) return
    const ids = (protocols: ('smtp' | 'pop3' | 'imap')[]) => new Set(protocols.map((p) => views[p]!.session.id))
    const byUser = await cli!.get<{ sessions: { id: string }[]; total: number }>('/api/sessions?user=alice')
    assert.equal(byUser.total, 3)
    assert.deepEqual(new Set(byUser.sessions.map((s) => s.id)), ids(['smtp', 'pop3', 'imap']))
    const bySubject = await cli!.get<{ sessions: { id: string; protocol: string }[]; total: number }>('/api/sessions?q=asunto')
    assert.deepEqual(new Set(bySubject.sessions.map((s) => s.id)), ids(['smtp', 'imap']))
    const withErrors = await cli!.get<{ total: number }>('/api/sessions?errors=1')
    assert.equal(withErrors.total, 0, 'the seed exchanges went through without an error reply')
  })
})
