// Switching real loopback connections to TLS: mailtap as TLS server (leaf by SNI, else
// fallback names), the STARTTLS byte-boundary dance, and handshakes the client refuses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import tls from 'node:tls'
import { Duplex } from 'node:stream'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadOrCreateCa, type Ca } from '../../proxy/tls/ca.ts'
import { acceptTls, connectTls, TlsError } from '../../proxy/tls/upgrade.ts'
import type { TlsLeg } from '../../shared/schema.ts'
import { listen, openssl, readUntil, tempDir } from './helpers.ts'

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<{ ca: Ca; dir: string }> {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  return { ca: await loadOrCreateCa(dir, { persistLeaves: false }), dir }
}

type AcceptResult = { info?: TlsLeg; error?: TlsError }

/** A listener that plays implicit-TLS server with acceptTls and echoes in upper case;
 *  `result(n)` is the outcome of the n-th connection's handshake (0-based). */
async function implicitTlsServer(ca: Ca, fallbackNames: string[]) {
  const settled: ((r: AcceptResult) => void)[] = []
  const outcomes: Promise<AcceptResult>[] = []
  const slot = (n: number) => {
    while (outcomes.length <= n) outcomes.push(new Promise((r) => settled.push(r)))
    return n
  }
  let accepted = 0
  const srv = await listen(
    net.createServer((socket) => {
      socket.on('error', () => {})
      const done = settled[slot(accepted++)]!
      acceptTls(socket, { ca, fallbackNames }).then(
        ({ tls: t, info }) => {
          t.on('error', () => {})
          t.on('data', (d) => t.write(d.toString().toUpperCase()))
          done({ info })
        },
        (error: TlsError) => done({ error }),
      )
    }),
  )
  return { ...srv, result: (n: number) => outcomes[slot(n)]! }
}

test('a Node client that trusts the CA connects by SNI name and by 127.0.0.1 without SNI', async (t) => {
  const { ca } = await setup(t)
  const srv = await implicitTlsServer(ca, ['imap.example.com'])
  t.after(srv.close)
  for (const servername of ['mail.test', undefined]) {
    const c = tls.connect({ host: '127.0.0.1', port: srv.port, ca: ca.certPem, servername })
    await new Promise<void>((resolve, reject) => c.once('secureConnect', resolve).once('error', reject))
    assert.equal(c.authorized, true)
    const peer = c.getPeerCertificate()
    assert.equal(peer.subject.CN, servername ?? 'imap.example.com')
    assert.match(peer.subjectaltname ?? '', /IP Address:127.0.0.1/)
    c.write('hello\r\n')
    assert.equal(await readUntil(c, '\r\n'), 'HELLO\r\n')
    c.end()
  }
  const [bySni, byIp] = await Promise.all([srv.result(0), srv.result(1)])
  assert.equal(bySni?.info?.sni, 'mail.test')
  assert.equal(bySni?.info?.leg, 'client')
  assert.equal(bySni?.info?.how, 'implicit')
  assert.equal(bySni?.info?.version, 'TLSv1.3')
  assert.match(bySni?.info?.cipher ?? '', /^TLS_/)
  assert.equal(byIp?.info?.sni, undefined)
})

test('openssl s_client -servername mail.test sees a leaf for mail.test issued by the mailtap CA', async (t) => {
  const { ca } = await setup(t)
  const srv = await implicitTlsServer(ca, ['127.0.0.1'])
  t.after(srv.close)
  const r = await openssl(['s_client', '-connect', `127.0.0.1:${srv.port}`, '-servername', 'mail.test', '-CAfile', ca.certPath, '-verify_hostname', 'mail.test', '-verify_return_error'])
  assert.match(r.stdout, /subject=CN ?= ?mail\.test/)
  assert.match(r.stdout, new RegExp(`issuer=CN ?= ?${ca.commonName.replace(/[()]/g, '\\$&')}`))
  assert.match(r.stdout, /Verify return code: 0 \(ok\)/)
})

test('a client that does not trust the CA is reported as rejecting the certificate, with the fix', async (t) => {
  const { ca, dir } = await setup(t)
  const srv = await implicitTlsServer(ca, ['mail.test'])
  t.after(srv.close)
  // Trust some other CA only: openssl then aborts with an unknown-CA alert.
  const otherPath = join(dir, 'other-ca.pem')
  const { dir: otherDir, cleanup } = await tempDir()
  t.after(cleanup)
  await writeFile(otherPath, (await loadOrCreateCa(otherDir)).certPem)
  const r = await openssl(['s_client', '-connect', `127.0.0.1:${srv.port}`, '-servername', 'mail.test', '-CAfile', otherPath, '-verify_return_error'])
  assert.notEqual(r.code, 0)
  const result = await srv.result(0)
  assert.ok(result?.error instanceof TlsError)
  assert.equal(result.error.code, 'TLS_CLIENT_REJECTED_CERT')
  assert.match(result.error.message, /client rejected mailtap's certificate \(unknown CA\) — install the CA: mailtap ca/)
  assert.match(result.error.message, /OpenSSL: .*unknown ca/i)
  assert.equal(result.error.info?.sni, 'mail.test')
})

test('plaintext sent to a TLS listener is explained as wrong port or TLS mode', async (t) => {
  const { ca } = await setup(t)
  const srv = await implicitTlsServer(ca, ['mail.test'])
  t.after(srv.close)
  const c = net.connect(srv.port, '127.0.0.1')
  c.on('error', () => {})
  c.write('EHLO client.test\r\n')
  const result = await srv.result(0)
  c.destroy()
  assert.equal(result?.error?.code, 'TLS_CLIENT_SENT_PLAINTEXT')
  assert.match(result?.error?.message ?? '', /wrong port or TLS mode/)
})

test('a client that never starts TLS times out with the wrong-mode explanation', async (t) => {
  const { ca } = await setup(t)
  const [a, b] = await socketPair(t)
  const pending = acceptTls(b, { ca, fallbackNames: ['mail.test'], handshakeTimeoutMs: 50 })
  await assert.rejects(pending, (err: TlsError) => err.code === 'TLS_CLIENT_NO_HELLO' && /plaintext greeting/.test(err.message))
  a.destroy()
})

/** A connected loopback pair: [client side, server side]. */
async function socketPair(t: { after: (fn: () => Promise<void>) => void }): Promise<[net.Socket, net.Socket]> {
  let accepted!: (s: net.Socket) => void
  const got = new Promise<net.Socket>((r) => (accepted = r))
  const srv = await listen(net.createServer((s) => accepted(s)))
  t.after(srv.close)
  const a = net.connect(srv.port, '127.0.0.1')
  const b = await got
  await new Promise((r) => (a.connecting ? a.once('connect', r) : r(null)))
  a.on('error', () => {})
  b.on('error', () => {})
  return [a, b]
}

/** Reads CRLF lines off `socket` in plaintext until `isLast(line)`; hands back the rest of that chunk. */
function readLinesUntil(socket: net.Socket, isLast: (line: string) => boolean): Promise<{ lines: string[]; rest: Buffer; chunk: Buffer }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0)
    const lines: string[] = []
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      let eol: number
      while ((eol = buf.indexOf('\r\n')) >= 0) {
        const line = buf.subarray(0, eol).toString('latin1')
        buf = buf.subarray(eol + 2)
        lines.push(line)
        if (isLast(line)) {
          // The STARTTLS dance: stop plaintext reading in this very tick.
          socket.removeListener('data', onData)
          socket.pause()
          resolve({ lines, rest: buf, chunk })
          return
        }
      }
    }
    socket.on('data', onData)
  })
}

test('STARTTLS: a ClientHello in the same chunk as the command is handed back and the session goes on in TLS', async (t) => {
  const { ca } = await setup(t)
  const [raw, serverSide] = await socketPair(t)

  // Server: plaintext greeting, then read until STARTTLS, upgrade with the rest unshifted.
  serverSide.write('220 mail.test ESMTP\r\n')
  const serverDone = (async () => {
    const { lines, rest, chunk } = await readLinesUntil(serverSide, (l) => l === 'STARTTLS')
    if (rest.length) serverSide.unshift(rest)
    const { tls: s, info } = await acceptTls(serverSide, { ca, fallbackNames: ['mail.test'] })
    s.on('error', () => {})
    const got = await readUntil(s, '\r\n')
    s.write(`250 got ${got.trim()}\r\n`)
    return { lines, rest, chunk, info }
  })()

  // Client: one raw write carries "STARTTLS\r\n" and the whole ClientHello. The TLS
  // engine writes through an adaptor that glues its first output after the command.
  await readUntil(raw, '\r\n')
  let prefix: Buffer | undefined = Buffer.from('STARTTLS\r\n')
  const adaptor = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      const data = prefix ? Buffer.concat([prefix, chunk]) : chunk
      prefix = undefined
      raw.write(data, cb)
    },
    final(cb) {
      raw.end()
      cb()
    },
  })
  raw.on('data', (d) => adaptor.push(d))
  raw.on('end', () => adaptor.push(null))
  const c = tls.connect({ socket: adaptor, servername: 'mail.test', ca: ca.certPem })
  await new Promise<void>((resolve, reject) => c.once('secureConnect', resolve).once('error', reject))
  c.write('MAIL FROM:<a@b.test>\r\n')
  assert.equal(await readUntil(c, '\r\n'), '250 got MAIL FROM:<a@b.test>\r\n')

  const { lines, rest, chunk, info } = await serverDone
  assert.deepEqual(lines, ['STARTTLS'])
  // The condition under test really happened: hello bytes trailed the command in one chunk.
  assert.ok(chunk.length > 'STARTTLS\r\n'.length, 'the command and the hello arrived as one chunk')
  assert.equal(rest[0], 0x16)
  assert.equal(info.how, 'starttls')
  assert.equal(info.sni, 'mail.test')
  c.destroy()
})

test('STARTTLS on both ends: connectTls and acceptTls take over sockets that spoke plaintext', async (t) => {
  const { ca } = await setup(t)
  const [clientSide, serverSide] = await socketPair(t)
  serverSide.write('* OK IMAP ready\r\n')
  const server = (async () => {
    await readLinesUntil(serverSide, (l) => l === 'a1 STARTTLS')
    serverSide.write('a1 OK Begin TLS negotiation now\r\n')
    const { tls: s, info } = await acceptTls(serverSide, { ca, fallbackNames: ['127.0.0.1'] })
    s.on('error', () => {})
    s.on('data', (d) => s.write(`* echo ${d.toString()}`))
    return info
  })()
  await readLinesUntil(clientSide, (l) => l.startsWith('* OK'))
  clientSide.resume()
  clientSide.write('a1 STARTTLS\r\n')
  const reply = await readLinesUntil(clientSide, (l) => l.startsWith('a1 '))
  assert.deepEqual(reply.lines, ['a1 OK Begin TLS negotiation now'])
  const { tls: c, info } = await connectTls(clientSide, { host: '127.0.0.1', verify: 'strict', ca: ca.certPem })
  c.write('a2 NOOP\r\n')
  assert.equal(await readUntil(c, '\r\n'), '* echo a2 NOOP\r\n')
  assert.equal(info.how, 'starttls')
  assert.equal(info.leg, 'server')
  assert.equal(info.verify?.ok, true)
  assert.equal(info.chain?.[0]?.sans.includes('127.0.0.1'), true)
  assert.equal((await server).how, 'starttls')
  c.destroy()
})

test('a peer that closed before the handshake is reported as aborted, on either leg', { timeout: 20_000 }, async (t) => {
  const { ca } = await setup(t)
  const [a, b] = await socketPair(t)
  b.pause()
  a.end()
  await new Promise((r) => b.once('readable', r)) // the FIN reached b, unread
  b.pause()
  await assert.rejects(acceptTls(b, { ca, fallbackNames: ['mail.test'], handshakeTimeoutMs: 60_000 }), (err: TlsError) => {
    assert.equal(err.code, 'TLS_HANDSHAKE_ABORTED')
    assert.match(err.message, /client closed the connection before the TLS handshake/)
    return true
  })
  const [c, d] = await socketPair(t)
  c.pause()
  d.end()
  await new Promise((r) => c.once('readable', r))
  c.pause()
  await assert.rejects(connectTls(c, { host: '127.0.0.1', verify: 'warn', handshakeTimeoutMs: 60_000 }), /closed the connection before the TLS handshake/)
})

test('a half-open peer that sends FIN during the handshake is reported as aborted, not left waiting', { timeout: 20_000 }, async (t) => {
  const { ca } = await setup(t)
  // Client leg: a listener like mailtap's (allowHalfOpen, pauseOnConnect); the client hangs up at once.
  let accepted!: (s: net.Socket) => void
  const got = new Promise<net.Socket>((r) => (accepted = r))
  const srv = await listen(net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => accepted(s)))
  t.after(srv.close)
  const c = net.connect(srv.port, '127.0.0.1', () => c.end())
  c.on('error', () => {})
  const s = await got
  s.on('error', () => {})
  await assert.rejects(acceptTls(s, { ca, fallbackNames: ['mail.test'], handshakeTimeoutMs: 60_000 }), (err: TlsError) => err.code === 'TLS_HANDSHAKE_ABORTED')

  // Server leg: the upstream reads the ClientHello and half-closes without answering.
  const up = await listen(net.createServer({ allowHalfOpen: true }, (u) => (u.on('error', () => {}), u.once('data', () => u.end()))))
  t.after(up.close)
  const sock = net.connect({ port: up.port, host: '127.0.0.1', allowHalfOpen: true })
  sock.on('error', () => {})
  await new Promise((r) => sock.once('connect', r))
  await assert.rejects(connectTls(sock, { host: '127.0.0.1', verify: 'warn', handshakeTimeoutMs: 60_000 }), (err: TlsError) => err.code === 'TLS_HANDSHAKE_ABORTED')
})
