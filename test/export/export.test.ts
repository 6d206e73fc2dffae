import assert from 'node:assert/strict'
import { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { after, before, describe, test } from 'node:test'
import { unzipSync } from 'fflate'
import type { Session } from '../../shared/schema.ts'
import { exportSession, ExportError } from '../../proxy/export/index.ts'
import { IMAP_SESSION, MIME_MESSAGE, PASSWORD, PLAIN_B64, POP3_SESSION, SMTP_SESSION, SMTP_STARTTLS_SESSION } from '../api/fixtures.ts'
import { openTestStore, recordTranscript, type TestStore } from '../api/helpers.ts'
import { SessionRecorder } from '../../proxy/session/recorder.ts'

/** A real TLS ClientHello, produced in memory (no socket). */
function clientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    const wire = new Duplex({
      read() {},
      write(chunk, _enc, done) {
        resolve(Buffer.from(chunk))
        done()
      },
    })
    const t = tlsConnect({ socket: wire, servername: 'imap.example.com' })
    t.on('error', () => undefined)
    setImmediate(() => t.destroy())
  })
}
import { tsharkFields, tsharkSkip } from './tshark.ts'

let ts: TestStore
let smtp: Session
let starttls: Session
let pop3: Session
let imap: Session

before(async () => {
  ts = await openTestStore()
  smtp = await recordTranscript(ts.feed, 'smtp', SMTP_SESSION, { clientPort: 51001 })
  starttls = await recordTranscript(ts.feed, 'smtp', SMTP_STARTTLS_SESSION, { clientPort: 51002, serverPort: 25 })
  pop3 = await recordTranscript(ts.feed, 'pop3', POP3_SESSION, { clientPort: 51003, closeReason: 'server-closed' })
  imap = await recordTranscript(ts.feed, 'imap', IMAP_SESSION, { clientPort: 51004 })
  await ts.store.flush()
})
after(() => ts.close())

async function text(id: string, secrets = false, maxBlockBytes?: number): Promise<string> {
  const out = await exportSession(ts.store, id, 'txt', { secrets, maxBlockBytes })
  assert.ok(Buffer.isBuffer(out.body), "Buffer.isBuffer(out.body)")
  return out.body.toString('utf8')
}

async function bytes(id: string, format: string, secrets = false): Promise<Buffer> {
  const out = await exportSession(ts.store, id, format, { secrets })
  assert.ok(Buffer.isBuffer(out.body), "Buffer.isBuffer(out.body)")
  return out.body
}

describe('txt export', () => {
  test('a transcript has a header and the C: and S: lines as they crossed the wire', async () => {
    const t = await text(smtp.id)
    const lines = t.split('\n')
    assert.equal(lines[0], `# mailtap session ${smtp.id}`)
    assert.ok(lines.includes('# protocol: smtp'), "lines.includes('# protocol: smtp')")
    assert.ok(lines.includes('# client: 127.0.0.1:51001'), "lines.includes('# client: 127.0.0.1:51001')")
    const wire = lines.filter((l) => /^[CS]: /.test(l))
    assert.deepEqual(wire.slice(0, 5), ['S: 220 mx.example.com ESMTP', 'C: EHLO client.example.com', 'S: 250-mx.example.com', 'S: 250-PIPELINING', 'S: 250 AUTH PLAIN LOGIN'])
    assert.ok(wire.includes('C: Hello Bob, the report is attached.'), "wire.includes('C: Hello Bob, the report is attached.')")
    assert.equal(wire[wire.length - 1], 'S: 221 2.0.0 Bye')
    // Every body line is there: the client's lines between 354 and the dot are the message.
    const start = wire.indexOf('S: 354 End data with <CR><LF>.<CR><LF>')
    const end = wire.indexOf('C: .')
    const body = wire.slice(start + 1, end).map((l) => l.slice(3))
    assert.equal(body.join('\r\n') + '\r\n', MIME_MESSAGE)
  })

  test('an AUTH line shows its decoding as a comment right after it, the secret masked', async () => {
    const lines = (await text(smtp.id)).split('\n')
    const i = lines.indexOf('C: AUTH PLAIN •••')
    assert.ok(i > 0, 'the AUTH line is shown with the secret masked')
    assert.match(lines[i + 1]!, /^# AUTH PLAIN started user alice: user=alice password=•••$/)
    assert.ok(!lines.join('\n').includes(PLAIN_B64), "!lines.join('\\n').includes(PLAIN_B64)")
    assert.ok(!lines.join('\n').includes(PASSWORD), "!lines.join('\\n').includes(PASSWORD)")
    assert.ok(lines.includes('# secrets: redacted as ••• (export with secrets=show to keep them)'), "lines.includes('# secrets: redacted as ••• (export with secrets=show to keep them)')")
  })

  test('secrets=show keeps the AUTH payload on the C: line', async () => {
    const t = await text(smtp.id, true)
    assert.ok(t.split('\n').includes(`C: AUTH PLAIN ${PLAIN_B64}`), "t.split('\\n').includes(`C: AUTH PLAIN ${PLAIN_B64}`)")
    assert.ok(t.includes(`# secret (password): ${PASSWORD}`), "t.includes(`# secret (password): ${PASSWORD}`)")
  })

  test('a POP3 password typed in clear is masked on its line', async () => {
    const lines = (await text(pop3.id)).split('\n')
    assert.ok(lines.includes('C: PASS •••'), "lines.includes('C: PASS •••')")
    assert.ok(!lines.join('\n').includes(PASSWORD), "!lines.join('\\n').includes(PASSWORD)")
  })

  test('the message that crossed the proxy is summarised in a comment', async () => {
    const t = await text(smtp.id)
    assert.match(t, /^# message 1: From: .*alice@example\.com.*Subject: Quarterly report, 1 attachment\(s\)$/m)
  })

  test('a long body is elided in the middle, keeping its last lines and saying how much is left out', async () => {
    const lines = (await text(smtp.id, false, 200)).split('\n')
    const elided = lines.find((l) => l.startsWith('# … '))
    assert.ok(elided, 'an elision comment is there')
    const n = Number(/# … (\d+) bytes elided/.exec(elided!)![1])
    const shownBody = lines.slice(lines.indexOf('S: 354 End data with <CR><LF>.<CR><LF>') + 1, lines.indexOf('C: .') + 1).filter((l) => l.startsWith('C: '))
    const shownBytes = shownBody.reduce((sum, l) => sum + Buffer.byteLength(l.slice(3)) + 2, 0)
    // Body plus its terminating dot line.
    assert.equal(n + shownBytes, Buffer.byteLength(MIME_MESSAGE) + 3)
    assert.deepEqual(shownBody.slice(-2), ['C: --b1--', 'C: .'])
  })

  test('after an intercepted STARTTLS the TLS legs are noted and the cleartext follows', async () => {
    const lines = (await text(starttls.id)).split('\n')
    const go = lines.indexOf('S: 220 2.0.0 Ready to start TLS')
    assert.equal(lines[go + 1], '# STARTTLS accepted: both legs switch to TLS here')
    assert.match(lines[go + 2]!, /^# TLS client leg: TLSv1\.3 TLS_AES_256_GCM_SHA384 \(intercept, starttls\)/)
    assert.equal(lines.filter((l) => l === 'C: EHLO client.example.com').length, 2)
  })
})

// tshark takes a second to start: the runs go in parallel.
describe('pcapng export', { skip: tsharkSkip, concurrency: true }, () => {
  test('tshark finds the SMTP commands of the session in order', async () => {
    const file = await bytes(smtp.id, 'pcapng')
    const rows = await tsharkFields(file, 'smtp.req', ['smtp.req.command'])
    assert.deepEqual(rows.map((r) => r[0]), ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'])
    assert.ok(!file.includes(Buffer.from(PLAIN_B64)), 'the AUTH payload is masked')
    assert.ok(file.includes(Buffer.from('Quarterly report')), 'the message body is there')
  })

  test('secrets=show keeps the AUTH payload in the packets', async () => {
    const file = await bytes(smtp.id, 'pcapng', true)
    assert.ok(file.includes(Buffer.from(PLAIN_B64)), "file.includes(Buffer.from(PLAIN_B64))")
  })

  test('tshark finds the POP3 commands and the server closing first', async () => {
    const file = await bytes(pop3.id, 'pcapng')
    const rows = await tsharkFields(file, '', ['pop.request.command', 'tcp.flags.fin', 'tcp.srcport'])
    assert.deepEqual(rows.filter((r) => r[0]).map((r) => r[0]), ['USER', 'PASS', 'STAT', 'RETR', 'QUIT'])
    const fins = rows.filter((r) => r[1] === '1')
    assert.equal(fins[0]![2], '110', 'the server sent the first FIN')
  })

  test('tshark finds the IMAP tags and commands', async () => {
    const file = await bytes(imap.id, 'pcapng')
    // One packet may carry several requests: tshark then lists each field comma-separated.
    const rows = (await tsharkFields(file, 'imap.request', ['imap.request_tag', 'imap.request.command'])).flatMap((r) => {
      const tags = r[0]!.split(',')
      const commands = r[1]!.split(',')
      return tags.map((t, i) => [t, commands[i]])
    })
    assert.deepEqual(rows, [
      ['a1', 'LOGIN'],
      ['a2', 'SELECT'],
      ['a3', 'FETCH'],
      ['a4', 'STORE'],
      ['a5', 'LOGOUT'],
    ])
    assert.ok(!file.includes(Buffer.from(PASSWORD)), 'the LOGIN password is masked')
    assert.ok(file.includes(Buffer.from(`a1 LOGIN alice "${'*'.repeat(PASSWORD.length)}"`)), 'masked in place, same length')
  })

  test('a passthrough session that is TLS from the first byte goes on the TLS port, read as TLS', async () => {
    const at = Date.now()
    const rec = new SessionRecorder(ts.feed, {
      protocol: 'imap',
      route: { id: 'imaps-993', listenUrl: 'imaps://127.0.0.1:10993', upstreamUrl: 'imaps://127.0.0.1:993' },
      client: { address: '127.0.0.1', port: 51010 },
      server: { address: '127.0.0.1', port: 993 },
      at,
    })
    rec.passthrough(at)
    rec.chunk('client', await clientHello(), at + 1)
    await rec.close('client-closed', undefined, at + 2)
    await ts.store.flush()
    const rows = await tsharkFields(await bytes(rec.session.id, 'pcapng'), 'tls.handshake.type == 1', ['tcp.dstport', 'tls.handshake.extensions_server_name'])
    assert.deepEqual(rows, [['993', 'imap.example.com']])
  })

  test('the cleartext after an intercepted STARTTLS is a second stream tshark dissects as SMTP', async () => {
    const file = await bytes(starttls.id, 'pcapng')
    // Wireshark 4.0 shows STARTTLS's verb as its first four letters.
    const rows = (await tsharkFields(file, 'smtp.req', ['tcp.stream', 'smtp.req.command'])).map(([s, c]) => [s, c === 'STAR' ? 'STARTTLS' : c])
    assert.deepEqual(rows, [
      ['0', 'EHLO'],
      ['0', 'STARTTLS'],
      ['1', 'EHLO'],
      ['1', 'AUTH'],
      ['1', 'NOOP'],
      ['1', 'QUIT'],
    ])
  })
})

describe('eml and json exports', () => {
  test('eml export zips every message as message-<n>.eml, byte for byte', async () => {
    const out = await exportSession(ts.store, smtp.id, 'eml')
    assert.equal(out.contentType, 'application/zip')
    const files = unzipSync(out.body as Buffer)
    assert.deepEqual(Object.keys(files), ['message-1.eml'])
    assert.equal(Buffer.from(files['message-1.eml']!).toString('utf8'), MIME_MESSAGE)
  })

  test('a session without messages has no eml export', async () => {
    await assert.rejects(exportSession(ts.store, starttls.id, 'eml'), (e: unknown) => e instanceof ExportError && e.status === 404)
  })

  test('json export is complete: every event, both raw streams and the messages', async () => {
    const doc = JSON.parse((await bytes(smtp.id, 'json', true)).toString('utf8'))
    assert.equal(doc.format, 'mailtap')
    assert.equal(doc.session.id, smtp.id)
    assert.equal(doc.events.length, (await ts.store.events(smtp.id)).length)
    assert.equal(Buffer.from(doc.raw.client, 'base64').length, ts.store.rawLength(smtp.id, 'client'))
    assert.equal(Buffer.from(doc.messages[0], 'base64').toString('utf8'), MIME_MESSAGE)
  })

  test('a redacted json export masks secret values and the raw bytes that carried them, same length', async () => {
    const doc = JSON.parse((await bytes(smtp.id, 'json')).toString('utf8'))
    assert.equal(doc.secrets, false)
    const text = JSON.stringify(doc)
    assert.ok(!text.includes(PASSWORD) && !text.includes(PLAIN_B64), "!text.includes(PASSWORD) && !text.includes(PLAIN_B64)")
    const client = Buffer.from(doc.raw.client, 'base64')
    assert.equal(client.length, ts.store.rawLength(smtp.id, 'client'))
    assert.ok(client.toString('latin1').includes(`AUTH PLAIN ${'*'.repeat(PLAIN_B64.length)}\r\n`), "client.toString('latin1').includes(`AUTH PLAIN ${'*'.repeat(PLAIN_B64.length)}\\r\\n`)")
  })

  test('unknown sessions and formats are errors that say what was wrong', async () => {
    await assert.rejects(exportSession(ts.store, 'nope', 'txt'), /no session with id 'nope'/)
    await assert.rejects(exportSession(ts.store, smtp.id, 'pdf'), /unknown export format 'pdf'/)
  })
})
