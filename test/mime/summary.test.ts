// The streaming MIME summary and the message viewer's parse, on messages extracted from
// the SMTP fixtures and on built ones.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { createMessageSummarizer } from '../../proxy/mime/summary.ts'
import { extractAttachment, parseMessageForView } from '../../proxy/mime/view.ts'
import { createSmtpDecoder } from '../../proxy/protocols/smtp.ts'
import { loadTranscript, replay } from '../helpers/transcript.ts'

const fixtures = join(import.meta.dirname, '../fixtures/smtp')
const pdf = Buffer.from('%PDF-1.4\n% mailtap test attachment\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n')

function messageOf(fixture: string): Buffer {
  return replay((o) => createSmtpDecoder(o), loadTranscript(join(fixtures, fixture))).messages[0].bytes
}

async function summarize(buf: Buffer, chunk = 7): Promise<ReturnType<ReturnType<typeof createMessageSummarizer>['end']>> {
  const s = createMessageSummarizer()
  for (let i = 0; i < buf.length; i += chunk) s.write(buf.subarray(i, i + chunk))
  return s.end()
}

test('the summary of the dot-stuffed MIME fixture has its decoded headers, part tree and attachment', async () => {
  const summary = await summarize(messageOf('data-mime.txt'))
  assert.equal(summary.subject, 'Factura adjunta €')
  assert.equal(summary.from, 'Pepe <pepe@pepito.es>')
  assert.equal(summary.messageId, '<factura-1@pepito.es>')
  assert.equal(summary.parts?.contentType, 'multipart/mixed')
  assert.deepEqual(summary.parts?.children?.map((p) => [p.path, p.contentType]), [['1', 'text/plain'], ['2', 'application/pdf']])
  assert.deepEqual(summary.attachments, [{ filename: 'factura.pdf', contentType: 'application/pdf', size: pdf.length }])
  assert.equal(summary.truncated, undefined)
})

test('the seed message gives its Subject even without a blank line after the header', async () => {
  const summary = await summarize(messageOf('seed.txt'))
  assert.equal(summary.subject, 'Asunto')
})

test('base64 attachment sizes are exact whatever the chunking', async () => {
  const payload = Buffer.alloc(10_001, 7)
  const b64 = payload.toString('base64').replace(/.{76}/g, '$&\r\n')
  const msg = Buffer.from(`Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b--\r\n`)
  for (const chunk of [1, 3, 64, 4096]) {
    const s = await summarize(msg, chunk)
    assert.deepEqual(s.attachments, [{ filename: 'unnamed', contentType: 'image/png', size: payload.length }], `chunk ${chunk}`)
  }
})

test('a single-part base64 message gets its exact decoded size whatever the chunking, padding included', async () => {
  // 10,000 and 10,001 bytes end in '==' and '=': the padding is in the last chunk or not.
  for (const n of [10_000, 10_001, 10_002]) {
    const b64 = Buffer.alloc(n, 9).toString('base64').replace(/.{76}/g, '$&\r\n')
    const msg = Buffer.from(`Subject: one\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n`)
    for (const chunk of [1, 5, 77, 4096, msg.length]) {
      const s = await summarize(msg, chunk)
      assert.equal(s.subject, 'one')
      assert.deepEqual(s.attachments, [{ filename: 'a.pdf', contentType: 'application/pdf', size: n }], `size ${n}, chunk ${chunk}`)
      assert.equal(s.truncated, undefined)
    }
  }
})

test('a single-part base64 message past the parse budget is estimated from its line length and marked truncated', async () => {
  const s = createMessageSummarizer({ parseBytes: 4096 })
  s.write(Buffer.from('Subject: big\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n'))
  const line = Buffer.from('QUFB'.repeat(19) + '\r\n')
  const block = Buffer.concat(Array.from({ length: 1000 }, () => line))
  for (let i = 0; i < 8; i++) s.write(block)
  const summary = await s.end()
  assert.equal(summary.truncated, true)
  // 8000 lines of 76 characters: 57 bytes each, counted or estimated.
  assert.equal(summary.attachments[0].size, 8000 * 57)
})

test('a multipart message larger than the parse budget is summarized from its head and marked truncated', async () => {
  const s = createMessageSummarizer({ parseBytes: 1024 })
  s.write(Buffer.from('Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'))
  const body = Buffer.alloc(64 * 1024, 0x61)
  for (let i = 0; i < 16; i++) s.write(body)
  const summary = await s.end()
  assert.equal(summary.subject, 'big')
  assert.equal(summary.truncated, true)
  assert.ok(summary.parts!.children![0].size >= 16 * 64 * 1024 - 1024)
})

test('a single-part message past the parse budget gets its exact size, not truncated', async () => {
  const head = 'Subject: big\r\nContent-Type: text/plain\r\n\r\n'
  const s = createMessageSummarizer({ parseBytes: 1024 })
  s.write(Buffer.from(head))
  const body = Buffer.alloc(64 * 1024, 0x61)
  for (let i = 0; i < 16; i++) s.write(body)
  const summary = await s.end()
  assert.equal(summary.subject, 'big')
  assert.equal(summary.truncated, undefined)
  assert.equal(summary.parts!.size, 16 * 64 * 1024)
})

test('garbage is summarized without throwing', async () => {
  const summary = await summarize(Buffer.from([0, 255, 13, 10, 13, 10, 1, 2, 3]))
  assert.deepEqual(summary.attachments, [])
})

test('the viewer parse gives headers, text and the attachment, which can be extracted', async () => {
  const buf = messageOf('data-mime.txt')
  const view = await parseMessageForView(buf)
  assert.equal(view.summary.subject, 'Factura adjunta €')
  assert.ok(view.headers.some(([name, value]) => name === 'Subject' && value === 'Factura adjunta €'))
  assert.match(view.text ?? '', /Adjunto la factura\.\n\.\n\.\.con puntos/)
  assert.deepEqual(view.attachments, [{ index: 0, filename: 'factura.pdf', contentType: 'application/pdf', size: pdf.length }])
  const a = await extractAttachment(buf, 0)
  assert.deepEqual(a?.content, pdf)
  assert.equal(await extractAttachment(buf, 1), undefined)
})

test('a real nodemailer message gives its UTF-8 subject and its attachment', async () => {
  const summary = await summarize(messageOf('real-postfix-nodemailer.txt'), 64)
  assert.equal(summary.subject, 'Año nuevo, ¿qué tal?')
  assert.deepEqual(summary.attachments, [{ filename: 'notas.txt', contentType: 'text/plain', size: Buffer.byteLength('línea 1\nlínea 2\n') }])
})
