// Lab mode end to end through the real `mailtap` command: spawn bin/mailtap.mjs with
// ephemeral lab ports, read its banner, run the printed examples as printed, the seed's three
// exchanges with python3, imapflow, and the faults; each session must show up decoded in the
// API at the printed dashboard URL.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ImapFlow } from 'imapflow'
import type { Session, SessionEvent } from '../../shared/schema.ts'
import { python as pythonScript, scripts } from '../helpers/clients.ts'
import { BIN, ROOT, spawnCli } from '../helpers/cli-process.ts'
import { python, RawClient, run } from './helpers.ts'


interface Cli {
  stdout: string
  stderr: string
  dashboard: string
  ports: { smtp: number; pop3: number; imap: number; smtps: number; pop3s: number; imaps: number }
  /** The example commands as printed, by their banner label. */
  examples: Record<string, string>
  dataDir: string
  stop(): Promise<void>
}

/** Starts `mailtap` like a user would, and waits for the whole banner. */
async function startCli(extra: string[] = []): Promise<Cli> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mailtap-lab-e2e-'))
  // The banner ends with the "type by hand" line.
  const cli = await spawnCli(['--data', dataDir, '--http', '127.0.0.1:0', '--lab-ports', 'auto', ...extra], /^ {2}type by hand .*\n/m, 60_000)
  const stdout = cli.stdout
  const grab = (re: RegExp) => {
    const m = re.exec(stdout)
    assert.ok(m, `banner has ${re}:\n${stdout}`)
    return m[1]!
  }
  const examples: Record<string, string> = {}
  for (const m of stdout.matchAll(/^ {2}(send a mail|\.\.\.or with curl|list the inbox|search over IMAP|read message 1|watch STARTTLS|type by hand) +(.*)$/gm)) {
    examples[m[1]!] = m[2]!
  }
  return {
    get stdout() {
      return cli.stdout
    },
    get stderr() {
      return cli.stderr
    },
    dashboard: grab(/^ {2}Dashboard +(\S+)$/m).replace(/\/?$/, '/'),
    ports: {
      smtp: Number(grab(/^ {2}SMTP +127\.0\.0\.1:(\d+)/m)),
      pop3: Number(grab(/^ {2}POP3 +127\.0\.0\.1:(\d+)/m)),
      imap: Number(grab(/^ {2}IMAP +127\.0\.0\.1:(\d+)/m)),
      smtps: Number(grab(/smtps 127\.0\.0\.1:(\d+)/)),
      pop3s: Number(grab(/pop3s 127\.0\.0\.1:(\d+)/)),
      imaps: Number(grab(/imaps 127\.0\.0\.1:(\d+)/)),
    },
    examples,
    dataDir,
    async stop() {
      await cli.stop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

async function api<T>(cli: Cli, pathAndQuery: string): Promise<T> {
  const res = await fetch(new URL(pathAndQuery.replace(/^\//, ''), cli.dashboard))
  assert.equal(res.status, 200, `${pathAndQuery}: ${res.status} ${await res.clone().text()}`)
  return (await res.json()) as T
}

/**
 * The newest closed session of this protocol matching `match`, with its events, once it is
 * in the API (sessions close asynchronously after the client hangs up).
 */
async function findSession(
  cli: Cli,
  protocol: string,
  match: (s: Session, events: SessionEvent[]) => boolean,
  what: string,
): Promise<{ session: Session; events: SessionEvent[] }> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const { sessions } = await api<{ sessions: Session[] }>(cli, `/api/sessions?protocol=${protocol}&limit=100`)
    for (const s of sessions) {
      if (s.status === 'live') continue
      const { events } = await api<{ events: SessionEvent[] }>(cli, `/api/sessions/${s.id}`)
      if (match(s, events)) return { session: s, events }
    }
    if (Date.now() > deadline) throw new Error(`no ${protocol} session ${what} in the API: ${sessions.map((s) => `${s.user}/${s.status}`).join(', ')}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const items = (events: SessionEvent[]) => events.flatMap((e) => (e.item ? [e.item] : []))
const verbs = (events: SessionEvent[]) => items(events).flatMap((i) => (i.kind === 'command' ? [i.verb] : []))
const subjects = (events: SessionEvent[]) =>
  items(events).flatMap((i) => (i.kind === 'message' && i.phase === 'parsed' && i.summary?.subject ? [i.summary.subject] : []))
const notes = (events: SessionEvent[]) => events.flatMap((e) => e.notes ?? [])

/** Runs a printed example through a shell, as a user pasting it would. */
function paste(command: string, input?: string) {
  return run('bash', ['-c', command], { input })
}

// python3 imaplib with the seed's IMAP exchange. imaplib encodes commands as ASCII; the seed's
// password has a UTF-8 ñ inside a quoted string, so the connection sends UTF-8 as the seed does.
const SEED_IMAP_PY = String.raw`
import imaplib, json, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
M = imaplib.IMAP4('127.0.0.1', port, timeout=15)
M._encoding = 'utf-8'
out = {}
out['login'] = M._simple_command('LOGIN', '"%s"' % user, '"%s"' % password)[0]
M.state = 'AUTH'
out['list'] = [l.decode() for l in M.list('""', '*')[1]]
out['exists'] = int(M.select('INBOX')[1][0])
typ, data = M.fetch('1', 'body')
out['body'] = [d.decode() if isinstance(d, bytes) else repr(d) for d in data]
typ, data = M.fetch('1', 'body[]')
out['full'] = next(p[1].decode('utf-8', 'replace') for p in data if isinstance(p, tuple))
out['store'] = M.store('1', '+flags.silent', '(\\Deleted)')[0]
out['expunge'] = [e.decode() for e in M.expunge()[1] if e]
out['logout'] = M.logout()[0]
print(json.dumps(out))
`

/** Runs mailtap until its stdout matches (then SIGTERM) or it exits on its own. */
function runUntil(args: string[], pattern: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (b: Buffer) => {
      stdout += b.toString('utf8')
      if (pattern.test(stdout)) child.kill('SIGTERM')
    })
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')))
    // Generous: start-up compiles TypeScript, and a busy test machine makes that slow.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

// The three instances start together (most of their start-up is loading TypeScript).
let instances: Promise<Cli[]> | undefined
const startInstances = () =>
  (instances ??= Promise.all([
    startCli(),
    startCli(['--lab-faults', 'rcpt=452,pop3-in-use,imap-overquota']),
    startCli(['--lab-faults', 'auth,mail=421']),
  ]))
after(async () => {
  if (instances) await Promise.all((await instances).map((c) => c.stop()))
})

describe('lab mode through the mailtap command', () => {
  let cli: Cli
  before(async () => {
    ;[cli] = await startInstances()
  })

  test('the banner names the dashboard, every port, the seed users and each example', () => {
    const out = cli.stdout
    assert.match(out, /alice \/ alicepw/)
    assert.match(out, /bob \/ bobpw/)
    assert.match(out, /pepe \/ LaContrasenia/)
    assert.match(out, /usuario \/ contraseña/)
    assert.match(out, /POP3 USER pepe \/ PASS LaContrasenia, IMAP 1 login "usuario" "contraseña"/)
    assert.match(out, /mail=421 or drop: a 421 disconnect/)
    for (const label of ['send a mail', '...or with curl', 'list the inbox', 'search over IMAP', 'read message 1', 'watch STARTTLS', 'type by hand']) {
      assert.ok(cli.examples[label], `example "${label}"`)
    }
    assert.ok(cli.examples['send a mail']!.startsWith(`swaks --server 127.0.0.1:${cli.ports.smtp} `))
    assert.ok(cli.examples['watch STARTTLS']!.includes(`-connect 127.0.0.1:${cli.ports.smtp}`))
    assert.ok(cli.examples['type by hand']!.startsWith(`nc 127.0.0.1 ${cli.ports.pop3}`))
  })

  test('the health check answers at the printed dashboard URL', async () => {
    const health = await api<{ ok: boolean }>(cli, '/api/health')
    assert.equal(health.ok, true)
  })

  test('a mail sent with the printed swaks line is listed by the printed curl line and fetched by POP3 and IMAP', async () => {
    const sent = await paste(cli.examples['send a mail']!)
    assert.equal(sent.code, 0, sent.stdout + sent.stderr)
    assert.match(sent.stdout, /^<- +250 .*queued as/m)
    const smtp = await findSession(cli, 'smtp', (s, ev) => s.user === 'alice' && subjects(ev).includes('Hello from swaks'), 'from swaks')
    assert.ok(verbs(smtp.events).includes('AUTH'))
    assert.ok(verbs(smtp.events).includes('DATA'))

    const listed = await paste(cli.examples['list the inbox']!)
    assert.equal(listed.code, 0, listed.stderr)
    const lines = listed.stdout.trim().split(/\r?\n/)
    assert.ok(lines.length >= 5, `the four samples and the new mail: ${listed.stdout}`)
    const last = lines.length
    assert.match(lines.at(-1)!, new RegExp(`^${last} \\d+\\r?$`))
    await findSession(cli, 'pop3', (s, ev) => s.user === 'bob' && verbs(ev).includes('LIST'), 'listing bob\'s inbox')

    const pop = await pythonScript<{ ok: boolean; retr: string }>(scripts.seedPop3, ['--port', String(cli.ports.pop3), '--user', 'bob', '--password', 'bobpw', '--retr', String(last)])
    assert.equal(pop.json?.ok, true, pop.stdout + pop.stderr)
    assert.match(pop.json!.retr, /Subject: Hello from swaks/)
    await findSession(cli, 'pop3', (s, ev) => s.user === 'bob' && verbs(ev).includes('RETR') && subjects(ev).includes('Hello from swaks'), 'with RETR')

    const imap = await python(
      String.raw`
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]), timeout=15)
M.login('bob', 'bobpw')
M.select('INBOX', readonly=True)
typ, data = M.uid('SEARCH', 'HEADER', 'Subject', '"Hello from swaks"')
uid = data[0].split()[-1]
typ, data = M.uid('FETCH', uid, '(BODY.PEEK[])')
sys.stdout.write(data[0][1].decode('utf-8', 'replace'))
M.logout()
`,
      [cli.ports.imap],
    )
    assert.equal(imap.code, 0, imap.stderr)
    assert.match(imap.stdout, /Subject: Hello from swaks/)
    const decoded = await findSession(cli, 'imap', (s, ev) => s.user === 'bob' && verbs(ev).includes('UID FETCH') && subjects(ev).includes('Hello from swaks'), 'fetching by UID')
    assert.ok(verbs(decoded.events).includes('LOGIN'))
  })

  test('the printed curl send, search and read lines work as pasted', async () => {
    const sent = await paste(cli.examples['...or with curl']!)
    assert.equal(sent.code, 0, sent.stderr)
    await findSession(cli, 'smtp', (s, ev) => s.user === 'alice' && subjects(ev).includes('Hello from curl'), 'from curl')
    const search = await paste(cli.examples['search over IMAP']!)
    assert.equal(search.code, 0, search.stderr)
    assert.match(search.stdout, /^\* SEARCH 1 2 3 4/)
    const read = await paste(cli.examples['read message 1']!)
    assert.equal(read.code, 0, read.stderr)
    assert.match(read.stdout, /Subject: Welcome to the mailtap lab/)
    await findSession(cli, 'imap', (s, ev) => s.user === 'bob' && subjects(ev).includes('Welcome to the mailtap lab'), 'reading message 1')
  })

  test('the printed openssl line negotiates STARTTLS through mailtap and carries EHLO, RSET and QUIT', async () => {
    const r = await paste(cli.examples['watch STARTTLS']!, 'EHLO openssl.test\nRSET\nQUIT\n')
    assert.match(r.stdout, /^250[- ]/m, r.stderr)
    assert.match(r.stdout, /^250 .*\r?\n221 /m, 'RSET and QUIT reach the server')
    const { session, events } = await findSession(cli, 'smtp', (_s, ev) => items(ev).some((i) => i.kind === 'command' && i.verb === 'EHLO' && i.args === 'openssl.test'), 'from openssl')
    assert.deepEqual(verbs(events), ['EHLO', 'STARTTLS', 'EHLO', 'RSET', 'QUIT'])
    assert.ok(items(events).some((i) => i.kind === 'tls' && i.phase === 'go-ahead'))
    assert.ok(session.tls.length > 0, 'the session records its TLS legs')
  })

  test('the printed nc line takes the seed POP3 exchange typed by hand', async () => {
    const r = await paste(cli.examples['type by hand']!.replace(/ {4}then: .*$/, ''), 'USER pepe\nPASS LaContrasenia\nLIST\nQUIT\n')
    assert.match(r.stdout, /^\+OK .*\r\n\+OK .*\r\n\+OK .*\r\n\+OK .*\r\n1 \d+\r\n2 \d+\r\n3 \d+\r\n4 \d+\r\n\.\r\n\+OK/)
    const { events } = await findSession(cli, 'pop3', (s, ev) => s.user === 'pepe' && verbs(ev).join(' ') === 'USER PASS LIST QUIT', 'typed with nc')
    const list = items(events).find((i) => i.kind === 'reply' && i.lines[0] === 'scan listing follows')
    assert.ok(list && list.kind === 'reply', 'the LIST reply is decoded')
    assert.deepEqual(list.lines.slice(1).map((l) => l.split(' ')[0]), ['1', '2', '3', '4'])
  })

  test("the seed's SMTP exchange with smtplib reaches usuario and shows up decoded", async () => {
    const r = await pythonScript<{ ok: boolean; queued: string }>(scripts.seedSmtp, ['--port', String(cli.ports.smtp), '--user', 'pepe', '--password', 'LaContrasenia', '--to', 'usuario@servidor.es'])
    assert.equal(r.json?.ok, true, r.stdout + r.stderr)
    const { events } = await findSession(cli, 'smtp', (s, ev) => s.user === 'pepe' && subjects(ev).includes('Asunto'), 'from the seed')
    assert.deepEqual(verbs(events), ['HELO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'])
    assert.ok(items(events).some((i) => i.kind === 'command' && i.verb === 'MAIL' && i.line === 'MAIL FROM: pepe@pepito.es'))
  })

  test("the seed's POP3 exchange with poplib logs in as pepe and lists four messages", async () => {
    const r = await pythonScript<{ ok: boolean; list: number[][] }>(scripts.seedPop3, ['--port', String(cli.ports.pop3), '--user', 'pepe', '--password', 'LaContrasenia'])
    assert.equal(r.json?.ok, true, r.stdout + r.stderr)
    assert.deepEqual(r.json!.list.map(([n]) => n), [1, 2, 3, 4])
    const { events } = await findSession(cli, 'pop3', (s, ev) => s.user === 'pepe' && verbs(ev).join(' ') === 'USER PASS LIST QUIT' && !ev.some((e) => e.item?.kind === 'command' && e.item.pipelined), 'from poplib')
    assert.ok(items(events).some((i) => i.kind === 'auth' && i.step === 'outcome' && i.outcome === 'success'))
  })

  test("the seed's IMAP exchange with imaplib logs in as \"usuario\" \"contraseña\" and expunges", async () => {
    const r = await python(SEED_IMAP_PY, [cli.ports.imap, 'usuario', 'contraseña'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { login: string; list: string[]; exists: number; body: string[]; store: string; expunge: string[]; logout: string }
    assert.equal(out.login, 'OK')
    assert.ok(out.list.some((l) => /\) "\/" INBOX$/.test(l)), out.list.join('\n'))
    assert.ok(out.exists >= 4)
    assert.match(out.body[0]!, /^1 \(BODY \(/)
    assert.equal(out.store, 'OK')
    assert.deepEqual(out.expunge, ['1'])
    assert.equal(out.logout, 'BYE')
    const { session, events } = await findSession(cli, 'imap', (s, ev) => s.user === 'usuario' && verbs(ev).includes('EXPUNGE'), 'from the seed')
    assert.equal(session.user, 'usuario')
    for (const verb of ['LOGIN', 'LIST', 'SELECT', 'FETCH', 'STORE', 'EXPUNGE', 'LOGOUT']) assert.ok(verbs(events).includes(verb), verb)
    assert.ok(items(events).some((i) => i.kind === 'untagged' && i.name === 'EXPUNGE' && i.number === 1))
    assert.ok(subjects(events).length >= 1, 'the fetched message is summarised')
  })

  test("the seed's IMAP exchange typed line by line, every command tagged 1, decodes without tag findings", async () => {
    const c = await RawClient.connect(cli.ports.imap)
    try {
      await c.until(/^\* OK .*\r\n/m)
      const done = /^1 (OK|NO|BAD) .*\r\n/m
      const lines = ['1 login "usuario" "contraseña"', '1 list "" "*"', '1 select INBOX', '1 fetch 1 body', '1 store 1 +flags.silent (\\Deleted)', '1 expunge', '1 logout']
      for (const line of lines) assert.match(await c.say(line, done), /^1 OK /m, line)
      await c.closedByServer()
    } finally {
      c.close()
    }
    const { events } = await findSession(cli, 'imap', (s, ev) => s.user === 'usuario' && verbs(ev).join(' ') === 'LOGIN LIST SELECT FETCH STORE EXPUNGE LOGOUT', 'typed by hand')
    const tagged = items(events).filter((i) => i.kind === 'reply' && i.tag === '1')
    assert.equal(tagged.length, 7, 'each command has its tagged reply')
    assert.ok(tagged.every((i) => i.kind === 'reply' && i.replyTo !== undefined), 'each reply is paired with its command')
    const tagNotes = notes(events).filter((n) => /TAG/.test(n.code))
    assert.deepEqual(tagNotes, [], 'reusing a tag after its completion is allowed (RFC 3501 2.2.1)')
  })

  test('imapflow lists, fetches and idles through mailtap, with STARTTLS against mailtap\'s CA', async () => {
    const ca = await readFile(path.join(cli.dataDir, 'ca', 'ca.pem'), 'utf8')
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: cli.ports.imap,
      secure: false,
      auth: { user: 'alice', pass: 'alicepw' },
      tls: { ca: [ca] },
      logger: false,
    })
    await client.connect()
    try {
      const boxes = await client.list()
      assert.deepEqual(boxes.map((b) => b.path).sort(), ['Drafts', 'INBOX', 'Sent', 'Trash'])
      const lock = await client.getMailboxLock('INBOX')
      try {
        const first = await client.fetchOne('1', { envelope: true, source: true })
        assert.ok(first && first.envelope?.subject)
        assert.ok(first.source?.toString('utf8').includes(`Subject: ${first.envelope.subject}`))
        // IDLE: a mail delivered meanwhile is announced with EXISTS.
        const announced = new Promise<number>((resolve) => client.once('exists', (d: { count: number }) => resolve(d.count)))
        const idling = client.idle()
        const before = (client.mailbox as { exists: number }).exists
        const sent = await pythonScript<{ ok: boolean }>(scripts.seedSmtp, ['--port', String(cli.ports.smtp), '--user', 'pepe', '--password', 'LaContrasenia', '--to', 'alice@mail.test'])
        assert.equal(sent.json?.ok, true, sent.stdout + sent.stderr)
        assert.equal(await announced, before + 1)
        void idling
      } finally {
        lock.release()
      }
    } finally {
      await client.logout()
    }
    const { session, events } = await findSession(cli, 'imap', (s, ev) => s.user === 'alice' && verbs(ev).includes('IDLE'), 'from imapflow')
    for (const verb of ['STARTTLS', 'LIST', 'SELECT', 'FETCH', 'IDLE']) assert.ok(verbs(events).includes(verb), verb)
    assert.ok(session.tls.length > 0)
    assert.ok(items(events).some((i) => i.kind === 'untagged' && i.name === 'EXISTS'))
  })
})

describe('lab faults through the mailtap command', () => {
  let rcpt: Cli
  let auth: Cli
  before(async () => {
    ;[, rcpt, auth] = await startInstances()
  })

  test('the banner lists the active faults', () => {
    assert.match(rcpt.stdout, /^ {2}Faults +rcpt 452, pop3-in-use, imap-overquota$/m)
    assert.match(auth.stdout, /^ {2}Faults +auth, mail 421$/m)
  })

  test('rejected AUTH is a decoded 535 5.7.8 with a hint about credentials and app passwords', async () => {
    const r = await paste(auth.examples['send a mail']!)
    assert.notEqual(r.code, 0)
    assert.match(r.stdout, /535 5\.7\.8/)
    const { events } = await findSession(auth, 'smtp', (_s, ev) => items(ev).some((i) => i.kind === 'reply' && i.code === '535'), 'with a 535')
    const reply = items(events).find((i) => i.kind === 'reply' && i.code === '535')
    assert.equal(reply?.kind === 'reply' && reply.enhanced, '5.7.8')
    assert.ok(notes(events).some((n) => n.level === 'error' && /app password/i.test(n.hint ?? '')), JSON.stringify(notes(events)))
  })

  test('mail=421 answers MAIL FROM with a 421 and a disconnect, decoded', async () => {
    const r = await python(
      String.raw`
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=15)
s.ehlo('lesson.test')
code, text = s.docmd('MAIL FROM:<alice@mail.test>')
print(code, text.decode())
try:
    print(s.docmd('NOOP')[0])
except smtplib.SMTPServerDisconnected:
    print('disconnected')
`,
      [auth.ports.smtp],
    )
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^421 4\.7\.0 .*\ndisconnected$/m)
    const { events } = await findSession(auth, 'smtp', (_s, ev) => items(ev).some((i) => i.kind === 'reply' && i.code === '421'), 'with a 421')
    const reply = items(events).find((i) => i.kind === 'reply' && i.code === '421')
    assert.equal(reply?.kind === 'reply' && reply.status, 'temp-error')
    assert.ok(notes(events).some((n) => n.level !== 'info' && n.hint), JSON.stringify(notes(events)))
  })

  test('a 452 on RCPT is decoded with its hint', async () => {
    const r = await pythonScript<{ ok: boolean; error: string }>(scripts.seedSmtp, ['--port', String(rcpt.ports.smtp), '--user', 'alice', '--password', 'alicepw', '--to', 'bob@mail.test'])
    assert.equal(r.json?.ok, false)
    assert.match(r.json!.error, /452 4\.5\.3/)
    const { events } = await findSession(rcpt, 'smtp', (_s, ev) => items(ev).some((i) => i.kind === 'reply' && i.code === '452'), 'with a 452')
    const reply = items(events).find((i) => i.kind === 'reply' && i.code === '452')
    assert.equal(reply?.kind === 'reply' && reply.enhanced, '4.5.3')
    assert.ok(notes(events).some((n) => n.level !== 'info' && n.hint), JSON.stringify(notes(events)))
  })

  test('POP3 -ERR [IN-USE] is decoded with its hint', async () => {
    const r = await paste(rcpt.examples['list the inbox']!)
    assert.notEqual(r.code, 0)
    const { events } = await findSession(rcpt, 'pop3', (_s, ev) => items(ev).some((i) => i.kind === 'reply' && i.code === '-ERR'), 'with -ERR')
    const reply = items(events).find((i) => i.kind === 'reply' && i.code === '-ERR')
    assert.equal(reply?.kind === 'reply' && reply.responseCode, 'IN-USE')
    assert.ok(notes(events).some((n) => /IN-USE|in use|locked/i.test(`${n.code} ${n.text} ${n.hint}`) && n.hint), JSON.stringify(notes(events)))
  })

  test('IMAP NO [OVERQUOTA] on APPEND is decoded with its hint', async () => {
    const r = await python(
      String.raw`
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]), timeout=15)
M.login('bob', 'bobpw')
typ, data = M.append('INBOX', None, None, b'Subject: too much\r\n\r\nx\r\n')
print(typ, data[0].decode())
M.logout()
`,
      [rcpt.ports.imap],
    )
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^NO \[OVERQUOTA\]/)
    const { events } = await findSession(rcpt, 'imap', (_s, ev) => items(ev).some((i) => i.kind === 'reply' && i.code === 'NO'), 'with NO')
    const reply = items(events).find((i) => i.kind === 'reply' && i.code === 'NO')
    assert.equal(reply?.kind === 'reply' && reply.responseCode, 'OVERQUOTA')
    assert.ok(notes(events).some((n) => /quota/i.test(`${n.text} ${n.hint}`) && n.hint), JSON.stringify(notes(events)))
  })
})

// Each of these spawns its own short-lived mailtap: let them overlap.
describe('lab ports on the command line', { concurrency: true }, () => {
  // Contract of `npm start`: the fixed ports, or (when one is taken on this machine) one clear line.
  test('without --lab-ports the lab is on 2525, 1110 and 1143, or a taken one is named with --lab-ports auto', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mailtap-lab-e2e-'))
    try {
      const r = await runUntil([BIN, '--data', dataDir, '--http', '127.0.0.1:0'], /^ {2}type by hand .*\n/m)
      if (r.code === 2) {
        assert.match(r.stderr.trim(), /^mailtap: lab port 127\.0\.0\.1:(2525|1110|1143|2465|1995|1993) is already in use .*--lab-ports auto/)
      } else {
        assert.match(r.stdout, /^ {2}SMTP +127\.0\.0\.1:2525 /m, `exit ${r.code}: ${r.stderr}`)
        assert.match(r.stdout, /^ {2}POP3 +127\.0\.0\.1:1110 /m)
        assert.match(r.stdout, /^ {2}IMAP +127\.0\.0\.1:1143 /m)
        assert.match(r.stdout, /smtps 127\.0\.0\.1:2465/)
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  test('a taken lab port is one clear line naming it and suggesting --lab-ports auto', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mailtap-lab-e2e-'))
    try {
      // SMTP on the taken port; the others free, so the SMTP route is the one that fails.
      const r = await run(process.execPath, [BIN, '--data', dataDir, '--http', '127.0.0.1:0', '--lab-ports', `${port},0,0`], { cwd: ROOT, timeoutMs: 60_000 })
      assert.equal(r.code, 2)
      const lines = r.stderr.trim().split('\n')
      assert.equal(lines.length, 1, r.stderr)
      assert.match(lines[0]!, new RegExp(`^mailtap: lab port 127\\.0\\.0\\.1:${port} is already in use .*--lab-ports auto`))
    } finally {
      blocker.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  test('a config file replaces the lab users and domain, and a bad user is one clear line', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mailtap-lab-e2e-'))
    try {
      const good = path.join(dataDir, 'good.json')
      await writeFile(good, JSON.stringify({ labUsers: [{ name: 'ana', password: 'anapw' }, { name: 'luis', password: 'luispw' }], labDomain: 'school.example' }))
      const r = await runUntil([BIN, '--data', dataDir, '--http', '127.0.0.1:0', '--lab-ports', 'auto', '--config', good], /^ {2}type by hand .*\n/m)
      assert.match(r.stdout, /^ {2}Users +ana \/ anapw {4}luis \/ luispw {4}\(domain school\.example; /m, `exit ${r.code}: ${r.stderr}`)
      assert.doesNotMatch(r.stdout, /alice|pepe/)
      assert.match(r.stdout, /--from ana@school\.example --to luis@school\.example/)
      const bad = path.join(dataDir, 'bad.json')
      await writeFile(bad, JSON.stringify({ labUsers: [{ name: 'a b', password: 'x' }] }))
      const b = await run(process.execPath, [BIN, '--data', dataDir, '--http', '127.0.0.1:0', '--lab-ports', 'auto', '--config', bad], { cwd: ROOT, timeoutMs: 60_000 })
      assert.equal(b.code, 2)
      assert.match(b.stderr.trim(), /^mailtap: lab: user name "a b" may only use letters, digits and \. _ \+ -$/)
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  test('quit=421 is refused with a line naming the faults that do disconnect', async () => {
    const r = await run(process.execPath, [BIN, '--lab-faults', 'quit=421'], { cwd: ROOT, timeoutMs: 60_000 })
    assert.equal(r.code, 2)
    assert.match(r.stderr.trim(), /^mailtap: bad value for --lab-faults: "quit" cannot be hooked.*mail=421.*drop/)
  })

  test('--help explains --lab-ports and how to get a 421 disconnect', async () => {
    const r = await run(process.execPath, [BIN, '--help'], { cwd: ROOT, timeoutMs: 60_000 })
    assert.equal(r.code, 0)
    assert.match(r.stdout, /--lab-ports auto\|SMTP,POP3,IMAP\[,SMTPS,POP3S,IMAPS\]/)
    assert.match(r.stdout, /A 421 disconnect: mail=421/)
  })

  test('--lab-ports rejects a malformed list with one line', async () => {
    const r = await run(process.execPath, [BIN, '--lab-ports', '2525,1110'], { cwd: ROOT, timeoutMs: 60_000 })
    assert.equal(r.code, 2)
    assert.match(r.stderr.trim(), /^mailtap: bad value for --lab-ports: '2525,1110' \(expected auto, or SMTP,POP3,IMAP/)
  })
})
