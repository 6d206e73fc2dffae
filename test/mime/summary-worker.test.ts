// The MIME summary off the relay's thread: the worker gives what the in-process parse
// gives, its queue is bounded, end() always resolves, and it loads both ways mailtap runs
// TypeScript (node --import tsx, and bin/mailtap.mjs's register() API) without keeping
// the process alive.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { createMessageSummarizer, stopSummaryWorker } from '../../proxy/mime/summary.ts'
import { createSummaryParser } from '../../proxy/mime/summary-parse.ts'
import { createSmtpDecoder } from '../../proxy/protocols/smtp.ts'
import type { MessageSummary } from '../../shared/schema.ts'
import { loadTranscript, replay } from '../helpers/transcript.ts'

const root = join(import.meta.dirname, '../..')
const fixtures = join(root, 'test/fixtures/smtp')

function messageOf(fixture: string): Buffer {
  return replay((o) => createSmtpDecoder(o), loadTranscript(join(fixtures, fixture))).messages[0].bytes
}

function feed(s: { write(b: Uint8Array): void }, buf: Buffer, chunk: number): void {
  for (let i = 0; i < buf.length; i += chunk) s.write(buf.subarray(i, i + chunk))
}

async function inProcess(buf: Buffer, parseBytes?: number): Promise<MessageSummary> {
  const p = createSummaryParser({ parseBytes })
  feed(p, buf, 4096)
  return p.end()
}

test('the worker gives the same summary as the in-process parse, whatever the chunking', async () => {
  for (const fixture of ['data-mime.txt', 'real-postfix-nodemailer.txt', 'seed.txt']) {
    const msg = messageOf(fixture)
    const expected = await inProcess(msg)
    for (const chunk of [1, 13, 1 << 20]) {
      const s = createMessageSummarizer()
      feed(s, msg, chunk)
      assert.deepEqual(await s.end(), expected, `${fixture}, chunks of ${chunk}`)
    }
  }
})

test('a multipart message larger than the parse budget is counted whole across many batches', async () => {
  const head = Buffer.from('Subject: grande\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n')
  const msg = Buffer.concat([head, Buffer.alloc(3 * 1024 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789ab\r\n')])
  const s = createMessageSummarizer({ parseBytes: 1024 * 1024 })
  feed(s, msg, 65536)
  const summary = await s.end()
  assert.deepEqual(summary, await inProcess(msg, 1024 * 1024))
  assert.equal(summary.subject, 'grande')
  assert.equal(summary.truncated, true)
})

test('a single-part message gets the same exact size whether the worker says body-only early or late', async () => {
  const head = Buffer.from('Subject: uno\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n')
  const msg = Buffer.concat([head, Buffer.alloc(2 * 1024 * 1024 + 3, 'l=C3=ADnea\r\n')])
  const expected = { attachments: [], subject: 'uno', parts: { path: '1', contentType: 'text/plain', size: msg.length - head.length } }
  // All at once: the budget runs out before the worker's notice can arrive.
  const quick = createMessageSummarizer({ parseBytes: 4096 })
  feed(quick, msg, 65536)
  assert.deepEqual(await quick.end(), expected)
  // With the event loop turning between chunks, as on a socket: the notice arrives first.
  const slow = createMessageSummarizer({ parseBytes: 4096 })
  for (let i = 0; i < msg.length; i += 65536) {
    slow.write(msg.subarray(i, i + 65536))
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  assert.deepEqual(await slow.end(), expected)
  assert.deepEqual(await inProcess(msg, 4096), expected)
})

test('a 20 MB message with no header block still gets a summary when the parse fails long before its end', async () => {
  const lines = Buffer.alloc(1024 * 1024, 'x'.repeat(76) + '\r\n')
  // In process, with the event loop turning between chunks as it does on a socket: the
  // parse error lands before end() is called.
  const p = createSummaryParser()
  for (let n = 0; n < 20; n++) {
    p.write(lines)
    await new Promise((resolve) => setImmediate(resolve))
  }
  const parsed = await p.end()
  assert.match(parsed.error ?? '', /header/i)
  assert.equal(parsed.subject, undefined)

  const s = createMessageSummarizer()
  for (let n = 0; n < 20; n++) s.write(lines)
  assert.match((await s.end()).error ?? '', /header/i)
})

test('a message is no longer fed once the worker queue passes its cap, and its summary says truncated', async () => {
  const msg = Buffer.from('Subject: cola\r\n\r\nhola\r\n')
  const starved = createMessageSummarizer({ maxInFlightBytes: 10 })
  starved.write(msg)
  const summary = await starved.end()
  assert.equal(summary.truncated, true)
  assert.equal(summary.subject, undefined)

  const fed = createMessageSummarizer()
  fed.write(msg)
  const ok = await fed.end()
  assert.equal(ok.subject, 'cola')
  assert.equal(ok.truncated, undefined)
})

test('a stopped worker fails the summaries it owed, and the next message starts a new one', async () => {
  const owed = createMessageSummarizer()
  owed.write(Buffer.from('Subject: perdido\r\n\r\nx\r\n'))
  const lost = owed.end()
  await stopSummaryWorker()
  const summary = await lost
  assert.match(summary.error ?? '', /summary worker stopped/)
  assert.equal(summary.truncated, true)

  const next = createMessageSummarizer()
  next.write(Buffer.from('Subject: nuevo\r\n\r\nx\r\n'))
  assert.equal((await next.end()).subject, 'nuevo')
})

/** Runs a module in a fresh node; resolves with its stdout once it exits by itself. */
function runNode(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // The timeout is only a bound for a process the unref'd worker should not hold open.
    execFile(process.execPath, args, { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

const script = (register: boolean) => `
${register ? "import { register } from 'tsx/esm/api'\nregister()" : ''}
const { createMessageSummarizer } = await import(${JSON.stringify(pathToFileURL(join(root, 'proxy/mime/summary.ts')).href)})
const s = createMessageSummarizer()
s.write(Buffer.from('Subject: =?UTF-8?Q?hola_se=C3=B1or?=\\r\\n\\r\\nx\\r\\n'))
console.log((await s.end()).subject)
// An idle summarizer must not keep the process alive either.
createMessageSummarizer().write(Buffer.from('Subject: idle\\r\\n'))
`

test('the worker loads under node --import tsx and exits with the process', async () => {
  const out = await runNode(['--import', 'tsx', '--input-type=module', '-e', script(false)])
  assert.equal(out.trim(), 'hola señor')
})

test("the worker loads under tsx's register() API, as bin/mailtap.mjs runs it, and exits with the process", async () => {
  const out = await runNode(['--input-type=module', '-e', script(true)])
  assert.equal(out.trim(), 'hola señor')
})
