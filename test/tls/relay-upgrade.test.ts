// The relay's STARTTLS switch against a scripted upstream whose TLS side the test holds
// back: a client that finishes its handshake and leaves while the upstream still
// negotiates, and plaintext an upstream slips in after its go-ahead.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import tls from 'node:tls'
import { Feed } from '../../proxy/feed.ts'
import { parseRoute } from '../../proxy/config.ts'
import { listenRoute } from '../../proxy/relay/listener.ts'
import { loadOrCreateCa } from '../../proxy/tls/ca.ts'
import { createTlsSupport } from '../../proxy/tls/support.ts'
import type { Session, SessionEvent } from '../../shared/schema.ts'
import { listen, makeServerCert, readUntil, tempDir } from './helpers.ts'

/** An SMTP-ish upstream: greets, says 220 to STARTTLS, then waits for `startTls()` to run `then`. */
async function scriptedUpstream(afterGoAhead: (raw: net.Socket) => void) {
  const cert = await makeServerCert({ names: ['upstream.test'] })
  let raw!: net.Socket
  let ready!: () => void
  const goAhead = new Promise<void>((r) => (ready = r))
  const server = net.createServer((s) => {
    raw = s
    s.on('error', () => {})
    s.write('220 upstream.test ESMTP\r\n')
    s.once('data', () => {
      // Whatever follows (mailtap's ClientHello) waits for the TLS server below.
      s.pause()
      s.write('220 2.0.0 go ahead\r\n')
      afterGoAhead(s)
      ready()
    })
  })
  const l = await listen(server)
  return {
    port: l.port,
    close: l.close,
    goAhead,
    /** Plays TLS server on the upstream's socket now; resolves with its TLS socket. */
    startTls(): Promise<tls.TLSSocket> {
      const t = new tls.TLSSocket(raw, { isServer: true, key: cert.key, cert: cert.cert })
      t.on('error', () => {})
      return new Promise((resolve) => t.once('secure', () => resolve(t)))
    },
  }
}

async function relayTo(t: { after: (fn: () => unknown) => void }, upstreamPort: number) {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir, { persistLeaves: false })
  const feed = new Feed()
  const events: SessionEvent[] = []
  feed.on('event', (_id, ev) => events.push(ev))
  const closed = new Promise<Session>((resolve) => feed.once('session-closed', resolve))
  const l = await listenRoute(parseRoute(`smtp://127.0.0.1:0=smtp://127.0.0.1:${upstreamPort}`), {
    feed,
    tls: createTlsSupport({ ca, verify: 'off', handshakeTimeoutMs: 5000 }),
    idleTimeoutMs: 0,
    connectTimeoutMs: 5000,
  })
  t.after(() => l.close())
  return { port: l.port, ca, events, closed }
}

async function clientStartTls(port: number, caPem: string): Promise<tls.TLSSocket> {
  const raw = net.connect({ host: '127.0.0.1', port })
  await readUntil(raw, '\r\n')
  raw.write('STARTTLS\r\n')
  await readUntil(raw, 'go ahead\r\n')
  const s = tls.connect({ socket: raw, ca: caPem, servername: 'localhost' })
  await new Promise<void>((resolve, reject) => (s.once('secureConnect', resolve), s.once('error', reject)))
  return s
}

test('a client that leaves right after its handshake, while the upstream still negotiates, still ends the session', { timeout: 15_000 }, async (t) => {
  const up = await scriptedUpstream(() => {})
  t.after(() => up.close())
  const relay = await relayTo(t, up.port)
  const client = await clientStartTls(relay.port, relay.ca.certPem)
  // The client says goodbye before the upstream has even started its TLS side; give the
  // FIN a moment to reach mailtap (ordering only: the test passes either way it lands).
  client.end()
  client.resume()
  await new Promise((r) => setTimeout(r, 100))
  const upstreamTls = await up.startTls()
  const upstreamEnded = new Promise((resolve) => upstreamTls.once('end', resolve))
  upstreamTls.resume()
  await upstreamEnded
  upstreamTls.end()
  const session = await relay.closed
  assert.equal(session.closeReason, 'client-closed')
  assert.deepEqual(
    relay.events.filter((e) => e.item?.kind === 'tls' && e.item.phase === 'handshake').map((e) => (e.item as { leg: string }).leg),
    ['client', 'server'],
  )
  assert.ok(relay.events.some((e) => e.item?.kind === 'lifecycle' && e.item.phase === 'half-close' && e.item.side === 'client'))
})

test('plaintext an upstream sends after its STARTTLS go-ahead never reaches the client: the upgrade fails and the client is told in TLS', { timeout: 15_000 }, async (t) => {
  // "250 injected" in its own write, right behind the go-ahead: by then mailtap has
  // stopped reading the upstream as plaintext, so it can only be taken for a TLS answer.
  const up = await scriptedUpstream((raw) => setImmediate(() => raw.write('250 injected\r\n')))
  t.after(() => up.close())
  const relay = await relayTo(t, up.port)
  const client = await clientStartTls(relay.port, relay.ca.certPem)
  const text = await readUntil(client, '\r\n')
  assert.match(text, /^421 4\.4\.1 mailtap: TLS to upstream 127\.0\.0\.1:\d+ failed: .*plaintext/)
  assert.doesNotMatch(text, /injected/)
  client.destroy()
  const session = await relay.closed
  assert.equal(session.closeReason, 'tls-failed')
  const failed = relay.events.find((e) => e.item?.kind === 'tls' && e.item.phase === 'failed')
  assert.equal((failed?.item as { leg?: string } | undefined)?.leg, 'server')
  assert.ok(failed?.notes?.some((n) => n.code === 'TLS_UPSTREAM_SENT_PLAINTEXT'), JSON.stringify(failed))
})
