import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { unzipSync } from 'fflate'
import type { Session, SessionEvent } from '../../shared/schema.ts'
import type { HttpServer } from '../../proxy/api/app.ts'
import { SessionRecorder } from '../../proxy/session/recorder.ts'
import { ATTACHMENT_TEXT, IMAP_SESSION, MIME_MESSAGE, PASSWORD, PLAIN_B64, POP3_SESSION, SMTP_SESSION } from './fixtures.ts'
import { openTestStore, recordTranscript, startTestApi, type TestStore } from './helpers.ts'
import { curl } from '../helpers/clients.ts'

let ts: TestStore
let api: HttpServer
let smtp: Session
let pop3: Session
let imap: Session
let failed: Session
let live: SessionRecorder
const T = Date.UTC(2026, 5, 1, 12, 0, 0)

before(async () => {
  ts = await openTestStore()
  smtp = await recordTranscript(ts.feed, 'smtp', SMTP_SESSION, { startAt: T })
  pop3 = await recordTranscript(ts.feed, 'pop3', POP3_SESSION, { startAt: T + 60_000 })
  imap = await recordTranscript(ts.feed, 'imap', IMAP_SESSION, { startAt: T + 120_000 })
  const rec = new SessionRecorder(ts.feed, {
    protocol: 'smtp',
    route: { id: 'smtp-2525', listenUrl: 'smtp://127.0.0.1:12525', upstreamUrl: 'smtp://127.0.0.1:2525' },
    client: { address: '127.0.0.1', port: 52000 },
    server: { address: '127.0.0.1', port: 2525 },
    at: T + 180_000,
  })
  await rec.close('upstream-unreachable', 'connect ECONNREFUSED 127.0.0.1:2525', T + 180_001)
  failed = rec.session
  live = new SessionRecorder(ts.feed, {
    protocol: 'imap',
    route: { id: 'imap-1143', listenUrl: 'imap://127.0.0.1:11143', upstreamUrl: 'imap://127.0.0.1:1143' },
    client: { address: '127.0.0.1', port: 52001 },
    server: { address: '127.0.0.1', port: 1143 },
    at: T + 240_000,
  })
  live.chunk('server', Buffer.from('* OK ready\r\n'), T + 240_001)
  await ts.store.flush()
  api = await startTestApi(ts, { routes: [], lab: { users: ['alice'] } })
})

after(async () => {
  await live.close('proxy-shutdown')
  await api.close()
  await ts.close()
})

async function get(path: string, init?: RequestInit): Promise<Response> {
  return fetch(api.url + path, init)
}

async function json<T = any>(path: string, status = 200, init?: RequestInit): Promise<T> {
  const res = await get(path, init)
  const body = await res.text()
  assert.equal(res.status, status, `${path}: ${body}`)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  return JSON.parse(body) as T
}

async function error(path: string, status: number, pattern: RegExp, init?: RequestInit): Promise<void> {
  const body = await json<{ error: string }>(path, status, init)
  assert.match(body.error, pattern)
}

describe('health and routes', () => {
  test('health says ok with the version, uptime and number of sessions', async () => {
    const h = await json('/api/health')
    assert.equal(h.ok, true)
    assert.equal(h.version, '0.0.0-test')
    assert.equal(typeof h.uptimeMs, 'number')
    assert.equal(h.sessions, 5)
  })

  test('routes lists the routes and the lab when there is one', async () => {
    assert.deepEqual(await json('/api/routes'), { routes: [], lab: { users: ['alice'] } })
  })

  test('an unknown endpoint is a JSON 404 naming it', async () => {
    await error('/api/nope', 404, /no such endpoint: GET \/api\/nope/)
  })

  test('the CA endpoint is a 404 when TLS interception is not set up', async () => {
    await error('/api/ca.pem', 404, /no local CA/)
  })
})

describe('session list', () => {
  test('sessions come newest first with the total', async () => {
    const { sessions, total } = await json('/api/sessions')
    assert.equal(total, 5)
    assert.deepEqual(
      sessions.map((s: Session) => s.id),
      [live.session.id, failed.id, imap.id, pop3.id, smtp.id],
    )
  })

  test('protocol, status, user, errors and time filters narrow the list', async () => {
    const ids = async (q: string) => (await json(`/api/sessions?${q}`)).sessions.map((s: Session) => s.id)
    assert.deepEqual(await ids('protocol=pop3'), [pop3.id])
    assert.deepEqual(await ids('status=live'), [live.session.id])
    assert.deepEqual(await ids('status=failed'), [failed.id])
    assert.deepEqual(await ids('errors=1'), [failed.id])
    assert.deepEqual(await ids('user=ali&protocol=smtp'), [smtp.id])
    assert.deepEqual(await ids(`from=${T + 60_000}&to=${new Date(T + 120_000).toISOString()}`), [imap.id, pop3.id])
    assert.deepEqual(await ids('q=quarterly'), [smtp.id])
  })

  test('offset and limit page through the list', async () => {
    const page = await json('/api/sessions?offset=1&limit=2')
    assert.equal(page.total, 5)
    assert.deepEqual(
      page.sessions.map((s: Session) => s.id),
      [failed.id, imap.id],
    )
  })

  const bad: [string, RegExp][] = [
    ['protocol=ftp', /'protocol' must be one of smtp, pop3, imap, got 'ftp'/],
    ['status=open', /'status' must be one of live, closed, failed/],
    ['limit=0', /'limit' must be between 1 and 1000/],
    ['limit=ten', /'limit' must be an integer, got 'ten'/],
    ['offset=-1', /'offset' must be between 0/],
    ['from=yesterday', /'from' must be epoch milliseconds or an ISO date/],
    ['errors=maybe', /'errors' must be 1 or 0/],
    [`from=${T + 1}&to=${T}`, /'from' .* is after 'to'/],
    ['protocol=smtp&protocol=imap', /'protocol' must be given once/],
  ]
  for (const [q, pattern] of bad) {
    test(`a bad query (${q}) is a 400 naming the parameter`, async () => {
      await error(`/api/sessions?${q}`, 400, pattern)
    })
  }
})

describe('one session', () => {
  test('a session comes with its events, secret values masked', async () => {
    const { session, events } = await json(`/api/sessions/${smtp.id}`)
    assert.equal(session.id, smtp.id)
    assert.equal(session.user, 'alice')
    assert.equal(events.length, session.totals.events)
    const auth = events.find((e: SessionEvent) => e.secrets?.length)
    assert.deepEqual(auth.secrets, [
      { kind: 'password', value: '•••' },
      { kind: 'sasl-response', value: '•••' },
    ])
    assert.ok(!JSON.stringify(events).includes(PASSWORD), 'no password anywhere in the events')
  })

  test('secrets=show returns the secret values', async () => {
    const { events } = await json(`/api/sessions/${smtp.id}?secrets=show`)
    const auth = events.find((e: SessionEvent) => e.secrets?.length)
    assert.deepEqual(auth.secrets[0], { kind: 'password', value: PASSWORD })
  })

  test('events page with after and limit', async () => {
    const { events } = await json(`/api/sessions/${smtp.id}?after=3&limit=2`)
    assert.deepEqual(
      events.map((e: SessionEvent) => e.seq),
      [4, 5],
    )
  })

  test('an unknown id is a 404 naming it, a bad page a 400', async () => {
    await error('/api/sessions/does-not-exist', 404, /no session with id 'does-not-exist'/)
    await error(`/api/sessions/${smtp.id}?after=-1`, 400, /'after'/)
    await error(`/api/sessions/${smtp.id}?secrets=please`, 400, /'secrets' must be one of show, hide/)
  })
})

describe('raw bytes', () => {
  test('one side comes as octets, secrets masked byte for byte', async () => {
    const res = await get(`/api/sessions/${smtp.id}/raw?side=client`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/octet-stream')
    const body = Buffer.from(await res.arrayBuffer())
    const stored = await ts.store.raw(smtp.id, 'client')
    assert.equal(body.length, stored.length)
    assert.equal(res.headers.get('x-raw-length'), String(stored.length))
    assert.ok(!body.includes(Buffer.from(PLAIN_B64)), 'the AUTH payload is masked')
    assert.equal(body.toString('latin1'), stored.toString('latin1').replace(PLAIN_B64, '*'.repeat(PLAIN_B64.length)))
  })

  test('a byte range cut through a secret is masked too, and secrets=show unmasks', async () => {
    const stored = await ts.store.raw(smtp.id, 'client')
    const at = stored.indexOf(Buffer.from(PLAIN_B64))
    const range = `start=${at + 4}&end=${at + 10}`
    const masked = Buffer.from(await (await get(`/api/sessions/${smtp.id}/raw?side=client&${range}`)).arrayBuffer())
    assert.equal(masked.toString(), '******')
    const shown = Buffer.from(await (await get(`/api/sessions/${smtp.id}/raw?side=client&${range}&secrets=show`)).arrayBuffer())
    assert.equal(shown.toString(), PLAIN_B64.slice(4, 10))
  })

  test('without a side both come as base64 JSON', async () => {
    const both = await json(`/api/sessions/${pop3.id}/raw?secrets=show`)
    assert.deepEqual(Buffer.from(both.client, 'base64'), await ts.store.raw(pop3.id, 'client'))
    assert.deepEqual(Buffer.from(both.server, 'base64'), await ts.store.raw(pop3.id, 'server'))
  })

  test('a bad side or range is a 400', async () => {
    await error(`/api/sessions/${smtp.id}/raw?side=both`, 400, /'side' must be one of client, server/)
    await error(`/api/sessions/${smtp.id}/raw?side=client&start=10&end=5`, 400, /'end' \(5\) is before 'start' \(10\)/)
  })
})

describe('messages', () => {
  test('a message downloads as .eml, byte for byte', async () => {
    const res = await get(`/api/sessions/${smtp.id}/messages/1.eml`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'message/rfc822')
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="?[^"]+-message-1\.eml"?$/)
    assert.equal(await res.text(), MIME_MESSAGE)
  })

  test('a parsed message has its summary, headers, bodies and attachment list', async () => {
    const m = await json(`/api/sessions/${smtp.id}/messages/1`)
    assert.equal(m.summary.subject, 'Quarterly report')
    assert.deepEqual(
      m.headers.find((h: [string, string]) => h[0] === 'Subject'),
      ['Subject', 'Quarterly report'],
    )
    assert.equal(m.text.trim(), 'Hello Bob, the report is attached.')
    assert.match(m.html, /<p>Hello <b>Bob<\/b>/)
    assert.deepEqual(m.attachments, [{ index: 1, filename: 'report.csv', contentType: 'text/csv', size: ATTACHMENT_TEXT.length }])
  })

  test('an attachment is a download, never rendered', async () => {
    const res = await get(`/api/sessions/${smtp.id}/messages/1/attachments/1`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/octet-stream')
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="?report\.csv"?$/)
    assert.equal(await res.text(), ATTACHMENT_TEXT)
  })

  test('the HTML view carries a CSP that runs nothing and loads nothing', async () => {
    const res = await get(`/api/sessions/${smtp.id}/messages/1/html`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
    const csp = res.headers.get('content-security-policy') ?? ''
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /img-src data:/)
    assert.match(csp, /(^|; )sandbox($|;)/)
    assert.ok(!/script-src/.test(csp), 'no script source is allowed')
    assert.match(await res.text(), /<p>Hello/)
  })

  test('a POP3 RETR message is there too', async () => {
    const m = await json(`/api/sessions/${pop3.id}/messages/1`)
    assert.equal(m.summary.subject, 'Hola POP')
  })

  test('missing or malformed message and attachment numbers are 4xx naming them', async () => {
    await error(`/api/sessions/${smtp.id}/messages/2`, 404, /no message 2 in session .* \(it has 1\)/)
    await error(`/api/sessions/${smtp.id}/messages/first`, 400, /message number must be a positive integer, got 'first'/)
    await error(`/api/sessions/${smtp.id}/messages/1/attachments/9`, 404, /no attachment 9 .* \(it has 1\)/)
    await error(`/api/sessions/${failed.id}/messages/1`, 404, /has no messages/)
    await error(`/api/sessions/${smtp.id}/messages/1/html`.replace(smtp.id, 'nope'), 404, /no session with id 'nope'/)
  })
})

describe('exports', () => {
  const formats: [string, RegExp, RegExp][] = [
    ['txt', /^text\/plain/, /^attachment; filename="?mailtap-[^"]+\.txt"?$/],
    ['json', /^application\/json/, /^attachment; filename="?mailtap-[^"]+\.json"?$/],
    ['pcapng', /^application\/x-pcapng/, /^attachment; filename="?mailtap-[^"]+\.pcapng"?$/],
    ['eml', /^application\/zip/, /^attachment; filename="?mailtap-[^"]+-messages\.zip"?$/],
  ]
  for (const [format, type, name] of formats) {
    test(`format=${format} is a download of the right type`, async () => {
      const res = await get(`/api/sessions/${smtp.id}/export?format=${format}`)
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', type)
      assert.match(res.headers.get('content-disposition') ?? '', name)
      const body = Buffer.from(await res.arrayBuffer())
      assert.ok(body.length > 0, 'the download is not empty')
      assert.ok(!body.includes(Buffer.from(PASSWORD)), 'no password without secrets=show')
      if (format === 'eml') assert.deepEqual(Object.keys(unzipSync(body)), ['message-1.eml'])
    })
  }

  test('secrets=show puts the secrets in the export', async () => {
    const res = await get(`/api/sessions/${smtp.id}/export?format=txt&secrets=show`)
    assert.match(await res.text(), new RegExp(`AUTH PLAIN ${PLAIN_B64.replace(/[+/=]/g, '\\$&')}`))
  })

  test('full=1 keeps every line of a long txt transcript', async () => {
    const big = 'S: 220 hi\nC: DATA\nS: 354 go\n' + Array.from({ length: 3000 }, (_, i) => `C: body line ${i} with enough text to pass the limit`).join('\n') + '\nC: .\nS: 250 ok\n'
    const s = await recordTranscript(ts.feed, 'smtp', big)
    await ts.store.flush()
    const short = await (await get(`/api/sessions/${s.id}/export?format=txt`)).text()
    assert.match(short, /^# … \d+ bytes elided/m)
    const full = await (await get(`/api/sessions/${s.id}/export?format=txt&full=1`)).text()
    assert.ok(!/^# … /m.test(full), 'nothing elided')
    assert.ok(full.includes('C: body line 2999 with enough text'), 'the last line is there')
    assert.ok(full.includes('C: body line 1500 with enough text'), 'the middle is there')
  })

  test('a missing or unknown format is a 400 listing the formats', async () => {
    await error(`/api/sessions/${smtp.id}/export`, 400, /'format' is required: one of txt, json, pcapng, eml/)
    await error(`/api/sessions/${smtp.id}/export?format=har`, 400, /unknown export format 'har'/)
    await error(`/api/sessions/nope/export?format=txt`, 404, /no session with id 'nope'/)
    await error(`/api/sessions/${failed.id}/export?format=eml`, 404, /has no messages/)
  })
})

describe('imports', () => {
  test('a pasted seed-style transcript becomes a decoded session', async () => {
    const body = 'USER ana\n>+OK\nPASS x\n>+OK\nQUIT\n>+OK bye\n'
    const { session } = await json('/api/import?name=notes.txt', 201, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })
    assert.equal(session.protocol, 'pop3')
    assert.equal(session.origin.kind, 'import')
    assert.equal(session.origin.file, 'notes.txt')
    const { events } = await json(`/api/sessions/${session.id}`)
    assert.ok(events.some((e: SessionEvent) => e.item?.kind === 'command' && e.item.verb === 'QUIT'), 'QUIT was decoded')
  })

  test('a json export posted back becomes a new session of the same protocol', async () => {
    const exported = await (await get(`/api/sessions/${imap.id}/export?format=json&secrets=show`)).text()
    const { session } = await json('/api/import', 201, { method: 'POST', body: exported, headers: { 'content-type': 'application/json' } })
    assert.equal(session.protocol, 'imap')
    assert.equal(session.origin.of, imap.id)
    assert.equal(session.user, 'alice')
  })

  test('the protocol can be forced', async () => {
    const { session } = await json('/api/import?protocol=smtp', 201, { method: 'POST', body: 'C: NOOP\nS: 250 ok\n' })
    assert.equal(session.protocol, 'smtp')
  })

  test('a bad import is a 4xx that says why', async () => {
    await error('/api/import', 400, /request body is empty/, { method: 'POST', body: '' })
    await error('/api/import', 400, /import failed: could not tell the protocol/, { method: 'POST', body: 'hello\n>world\n' })
    await error('/api/import', 400, /import failed: .*not valid json/, { method: 'POST', body: '{"format":' })
    await error('/api/import', 400, /import failed: the json is not a mailtap export/, { method: 'POST', body: '{"a":1}' })
    await error('/api/import?protocol=ftp', 400, /'protocol' must be one of/, { method: 'POST', body: 'C: NOOP\n' })
  })

  test('a multipart form upload imports the file, named after it', async () => {
    const form = new FormData()
    form.append('file', new Blob(['USER ana\n>+OK\nQUIT\n>+OK bye\n']), 'from-a-form.txt')
    const { session } = await json('/api/import', 201, { method: 'POST', body: form })
    assert.equal(session.protocol, 'pop3')
    assert.equal(session.origin.file, 'from-a-form.txt')
    const { events } = await json(`/api/sessions/${session.id}`)
    assert.ok(events.some((e: SessionEvent) => e.item?.kind === 'command' && e.item.verb === 'USER'), 'USER was decoded')
  })

  test('curl -F file=@transcript.txt with a protocol field imports like a raw body', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailtap-import-form-'))
    try {
      const file = join(dir, 'notes.txt')
      await writeFile(file, 'C: NOOP\nS: 250 ok\n')
      const r = await curl(['-F', `file=@${file}`, '-F', 'protocol=smtp', `${api.url}/api/import`])
      assert.equal(r.code, 0, r.stderr)
      const { session } = JSON.parse(r.stdout) as { session: Session }
      assert.equal(session.protocol, 'smtp')
      assert.equal(session.origin?.file, 'notes.txt')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a form with the transcript pasted in a text field imports it', async () => {
    const form = new FormData()
    form.append('transcript', 'C: NOOP\nS: 250 ok\n')
    form.append('protocol', 'smtp')
    const { session } = await json('/api/import?name=pasted', 201, { method: 'POST', body: form })
    assert.equal(session.protocol, 'smtp')
    assert.equal(session.origin.file, 'pasted')
  })

  test('a form without a file, or with two unnamed files, is a 400 that says what to send', async () => {
    const empty = new FormData()
    empty.append('protocol', 'smtp')
    await error('/api/import', 400, /the form has no file: send it as a field named 'file'/, { method: 'POST', body: empty })
    const two = new FormData()
    two.append('a', new Blob(['C: NOOP\n']), 'a.txt')
    two.append('b', new Blob(['C: NOOP\n']), 'b.txt')
    await error('/api/import', 400, /the form has 2 files \(a, b\)/, { method: 'POST', body: two })
    await error('/api/import', 400, /multipart\/form-data body could not be read/, {
      method: 'POST',
      body: '--x\r\nbroken',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
    })
  })
})

describe('deleting', () => {
  test('a closed session can be deleted, then it is gone', async () => {
    const s = await recordTranscript(ts.feed, 'smtp', 'S: 220 hi\nC: QUIT\nS: 221 bye\n')
    await ts.store.flush()
    assert.deepEqual(await json(`/api/sessions/${s.id}`, 200).then((r) => r.session.id), s.id)
    assert.deepEqual(await json(`/api/sessions/${s.id}`, 200, { method: 'DELETE' }), { deleted: s.id })
    await error(`/api/sessions/${s.id}`, 404, /no session/)
    await error(`/api/sessions/${s.id}`, 404, /no session/, { method: 'DELETE' })
  })

  test('a live session cannot be deleted', async () => {
    await error(`/api/sessions/${live.session.id}`, 409, /is live/, { method: 'DELETE' })
  })

  test('deleting all keeps only the live session', async () => {
    const before = (await json('/api/sessions')).total
    const { deleted } = await json('/api/sessions', 200, { method: 'DELETE' })
    assert.equal(deleted, before - 1)
    const { sessions } = await json('/api/sessions')
    assert.deepEqual(
      sessions.map((s: Session) => s.id),
      [live.session.id],
    )
  })
})

describe('every response', () => {
  test('carries nosniff and a CSP, and never CORS headers', async () => {
    for (const path of ['/api/health', '/api/sessions/nope', '/api/nope', '/']) {
      const res = await get(path, { headers: { Origin: api.url } })
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path)
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/, path)
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path)
      for (const [name] of res.headers) assert.ok(!name.startsWith('access-control-'), `${path}: ${name}`)
      await res.arrayBuffer()
    }
  })
})

describe('the dashboard', () => {
  let dir: string
  let web: HttpServer
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailtap-static-'))
    await mkdir(join(dir, 'assets'))
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>mailtap</title><div id="root"></div>')
    await writeFile(join(dir, 'assets', 'app.js'), 'console.log(1)')
    web = await startTestApi(ts, { staticDir: dir })
  })
  after(async () => {
    await web.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('its files are served, and client-side routes fall back to index.html', async () => {
    const index = await fetch(`${web.url}/`)
    assert.match(await index.text(), /<title>mailtap<\/title>/)
    const asset = await fetch(`${web.url}/assets/app.js`)
    assert.match(asset.headers.get('content-type') ?? '', /javascript/)
    assert.equal(await asset.text(), 'console.log(1)')
    const route = await fetch(`${web.url}/sessions/abc`, { headers: { accept: 'text/html' } })
    assert.match(await route.text(), /<div id="root">/)
  })

  test('the fallback never answers for the API', async () => {
    const res = await fetch(`${web.url}/api/nothing-here`, { headers: { accept: 'text/html' } })
    assert.equal(res.status, 404)
    assert.deepEqual(await res.json(), { error: 'no such endpoint: GET /api/nothing-here' })
  })
})
