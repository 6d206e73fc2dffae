// The TLS layer as the relay calls it: one object, one call per leg and route.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import tls from 'node:tls'
import { loadOrCreateCa } from '../../proxy/tls/ca.ts'
import { createTlsSupport } from '../../proxy/tls/support.ts'
import type { Route } from '../../shared/schema.ts'
import { listen, makeServerCert, makeTestCa, readUntil, startTlsUpstream, tempDir } from './helpers.ts'

function route(listenPort: number, upstreamPort: number): Route {
  return {
    id: 'imap-test',
    protocol: 'imap',
    listen: { host: '127.0.0.1', port: listenPort, tls: true },
    upstream: { host: '127.0.0.1', port: upstreamPort, tls: true },
    tlsMode: 'intercept',
    listenUrl: `imaps://127.0.0.1:${listenPort}`,
    upstreamUrl: `imaps://127.0.0.1:${upstreamPort}`,
  }
}

test('the relay support ends TLS with the client and starts it to the upstream, with a note for a mismatched upstream name', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir, { persistLeaves: false })
  const upstreamCa = await makeTestCa('lab CA')
  const up = await startTlsUpstream(await makeServerCert({ names: ['mail.test'], issuer: upstreamCa }))
  t.after(up.close)
  const warn = createTlsSupport({ ca, upstreamCa: [upstreamCa.pem] })
  const strict = createTlsSupport({ ca, verify: 'strict', upstreamCa: [upstreamCa.pem] })

  let r!: Route
  let legs!: Promise<{ how: string; notes: string[] }>
  const srv = await listen(
    net.createServer((socket) => {
      socket.on('error', () => {})
      legs = (async () => {
        const client = await warn.acceptClient(socket, r)
        const server = await warn.connectServer(undefined, r)
        client.tls.on('error', () => {})
        server.tls.on('error', () => {})
        server.tls.pipe(client.tls).pipe(server.tls)
        return { how: client.info.how, notes: (server.notes ?? []).map((n) => n.code) }
      })()
    }),
  )
  t.after(srv.close)
  r = route(srv.port, up.port)

  const c = tls.connect({ host: '127.0.0.1', port: srv.port, ca: ca.certPem })
  assert.equal(await readUntil(c, '\r\n'), '* OK upstream ready\r\n')
  // No SNI: the leaf names the route's upstream host.
  assert.equal(c.getPeerCertificate().subject.CN, '127.0.0.1')
  c.destroy()
  assert.deepEqual(await legs, { how: 'implicit', notes: ['TLS_CERT_HOSTNAME_MISMATCH'] })

  await assert.rejects(strict.connectServer(undefined, r), (err: Error & { code?: string; hint?: string }) => {
    assert.equal(err.code, 'TLS_UPSTREAM_CERT_REFUSED')
    assert.match(err.hint ?? '', /--upstream-verify warn/)
    return true
  })
})
