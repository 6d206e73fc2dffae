import assert from 'node:assert/strict'
import http from 'node:http'
import { after, before, describe, test } from 'node:test'
import { WebSocket } from 'ws'
import type { HttpServer } from '../../proxy/api/app.ts'
import { attachHub, type Hub } from '../../proxy/hub/hub.ts'
import { openTestStore, startTestApi, type TestStore } from './helpers.ts'

/** A raw request, so Host and Origin can be anything (fetch fixes Host). */
function request(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Opens /ws and reports the HTTP status of a refusal, or 101 and the first message. */
function openSocket(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; first?: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers })
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 })
      res.resume()
      ws.terminate()
    })
    ws.once('message', (data) => {
      resolve({ status: 101, first: JSON.parse(data.toString()) })
      ws.close()
    })
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err)
    })
  })
}

let ts: TestStore
before(async () => {
  ts = await openTestStore()
})
after(() => ts.close())

describe('DNS rebinding and cross-origin requests on a loopback bind', () => {
  let api: HttpServer
  let hub: Hub
  before(async () => {
    api = await startTestApi(ts, { attachWs: (server) => (hub = attachHub(server, { feed: ts.feed, store: ts.store })) })
  })
  after(async () => {
    await hub.close()
    await api.close()
  })

  test('a loopback bind needs no token', () => {
    assert.equal(api.token, undefined)
  })

  test('the loopback names and IP literals on our port are accepted as Host', async () => {
    for (const host of [`127.0.0.1:${api.port}`, `localhost:${api.port}`, `LOCALHOST:${api.port}`, `[::1]:${api.port}`, `10.0.0.5:${api.port}`]) {
      const res = await request(api.port, '/api/health', { host })
      assert.equal(res.status, 200, host)
    }
  })

  test('a Host that is a name we do not know is refused: DNS rebinding', async () => {
    for (const host of [`evil.example:${api.port}`, 'evil.example', `127.0.0.1.nip.io:${api.port}`, `127.0.0.1:${api.port + 1}`]) {
      const res = await request(api.port, '/api/health', { host })
      assert.equal(res.status, 403, host)
      assert.match(JSON.parse(res.body).error, /is not allowed \(DNS rebinding protection\)/)
    }
  })

  test('a request from another origin is refused, our own origin is fine', async () => {
    const host = `127.0.0.1:${api.port}`
    const cross = await request(api.port, '/api/sessions', { host, origin: 'http://evil.example' })
    assert.equal(cross.status, 403)
    assert.match(JSON.parse(cross.body).error, /cross-origin request from 'http:\/\/evil.example' refused/)
    assert.equal((await request(api.port, '/api/sessions', { host, origin: 'null' })).status, 403)
    assert.equal((await request(api.port, '/api/sessions', { host, origin: `http://localhost:${api.port}` })).status, 403)
    const same = await request(api.port, '/api/sessions', { host, origin: `http://${host}` })
    assert.equal(same.status, 200)
    assert.ok(!Object.keys(same.headers).some((h) => h.startsWith('access-control-')), 'no CORS headers')
  })

  test('a cross-site subresource request without Origin is refused by its Fetch Metadata', async () => {
    const host = `127.0.0.1:${api.port}`
    const img = await request(api.port, '/api/sessions', { host, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' })
    assert.equal(img.status, 403)
    assert.match(JSON.parse(img.body).error, /cross-site request was refused/)
    const sameSite = await request(api.port, '/api/sessions', { host, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors' })
    assert.equal(sameSite.status, 403)
    // Following a link from elsewhere, and our own page's requests, are fine.
    assert.equal((await request(api.port, '/api/health', { host, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' })).status, 200)
    assert.equal((await request(api.port, '/api/health', { host, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' })).status, 200)
  })

  test('the WebSocket applies the same Host and Origin checks', async () => {
    assert.equal((await openSocket(api.port, '/ws', { host: `evil.example:${api.port}` })).status, 403)
    assert.equal((await openSocket(api.port, '/ws', { origin: 'http://evil.example' })).status, 403)
    const ok = await openSocket(api.port, '/ws', { origin: `http://127.0.0.1:${api.port}` })
    assert.equal(ok.status, 101)
    assert.equal((ok.first as { type: string }).type, 'hello')
  })
})

describe('a non-loopback bind', () => {
  let api: HttpServer
  let hub: Hub
  before(async () => {
    api = await startTestApi(ts, { host: '0.0.0.0', attachWs: (server) => (hub = attachHub(server, { feed: ts.feed, store: ts.store })) })
  })
  after(async () => {
    await hub.close()
    await api.close()
  })

  test('gets a generated random token of at least 32 characters', () => {
    assert.ok(api.token && api.token.length >= 32, `token: ${api.token}`)
  })

  test('refuses the API without the token, and with a wrong one', async () => {
    const host = `127.0.0.1:${api.port}`
    const none = await request(api.port, '/api/sessions', { host })
    assert.equal(none.status, 401)
    assert.match(JSON.parse(none.body).error, /a token is required/)
    assert.match(String(none.headers['www-authenticate']), /^Bearer/)
    assert.equal((await request(api.port, '/api/sessions', { host, authorization: 'Bearer wrong' })).status, 401)
    assert.equal((await request(api.port, '/api/sessions?token=wrong', { host })).status, 401)
  })

  test('accepts the token as a Bearer header or as ?token=', async () => {
    const host = `127.0.0.1:${api.port}`
    assert.equal((await request(api.port, '/api/health', { host, authorization: `Bearer ${api.token}` })).status, 200)
    assert.equal((await request(api.port, `/api/health?token=${api.token}`, { host })).status, 200)
  })

  test('still checks the Host header when the token is right', async () => {
    const res = await request(api.port, '/api/health', { host: `attacker.example:${api.port}`, authorization: `Bearer ${api.token}` })
    assert.equal(res.status, 403)
  })

  test('refuses the WebSocket without the token and opens it with the token', async () => {
    assert.equal((await openSocket(api.port, '/ws')).status, 401)
    assert.equal((await openSocket(api.port, '/ws?token=nope')).status, 401)
    const ok = await openSocket(api.port, `/ws?token=${api.token}`)
    assert.equal(ok.status, 101)
    const bearer = await openSocket(api.port, '/ws', { authorization: `Bearer ${api.token}` })
    assert.equal(bearer.status, 101)
  })
})

describe('a token given on a loopback bind', () => {
  test('is enforced too', async () => {
    const api = await startTestApi(ts, { token: 'given-token-1234567890' })
    try {
      const host = `127.0.0.1:${api.port}`
      assert.equal((await request(api.port, '/api/health', { host })).status, 401)
      assert.equal((await request(api.port, '/api/health', { host, authorization: 'Bearer given-token-1234567890' })).status, 200)
    } finally {
      await api.close()
    }
  })
})
