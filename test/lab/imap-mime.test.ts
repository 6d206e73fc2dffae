// FETCH over MIME structures the seed does not have: a forwarded message (message/rfc822)
// inside a multipart, bare-LF input, a message without a body, and the RFC822.* items.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startLab, type Lab } from '../../proxy/lab/index.ts'
import { RawClient } from './helpers.ts'

const tagged = (tag: string) => new RegExp(`^${tag} (OK|NO|BAD).*\\r\\n`, 'm')

const FORWARD = [
  'From: Ana <ana@mail.test>',
  'To: alice@mail.test',
  'Subject: Fwd: notas',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  '--outer',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'See below.',
  '--outer',
  'Content-Type: message/rfc822',
  '',
  'From: "Pérez, Juan" <juan@example.org>',
  'Subject: notas',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain',
  '',
  'plain notes',
  '--inner',
  'Content-Type: text/html',
  '',
  '<p>html notes</p>',
  '--inner--',
  '',
  '--outer--',
  '',
].join('\r\n')

describe('lab IMAP MIME', () => {
  let lab: Lab
  let c: RawClient
  before(async () => {
    lab = await startLab({ seed: false })
    lab.mailboxes.deliver('alice', Buffer.from(FORWARD))
    // Bare LF line ends, as some scripts deliver them: sizes and bodies are served as CRLF.
    lab.mailboxes.deliver('alice', Buffer.from('Subject: lf\n\nline one\nline two\n'))
    lab.mailboxes.deliver('alice', Buffer.from('Subject: headers only\r\n'))
    c = await RawClient.connect(lab.ports.imap)
    await c.until(/^\* OK .*\r\n/m)
    await c.say('a login alice alicepw', tagged('a'))
    await c.say('a select INBOX', tagged('a'))
  })
  after(async () => {
    c.close()
    await lab.stop()
  })

  test('BODYSTRUCTURE describes a message/rfc822 part with its envelope and inner structure', async () => {
    const r = await c.say('a fetch 1 bodystructure', tagged('a'))
    assert.match(
      r,
      // The display name is 8-bit, so it goes out as a literal (RFC 3501 4.3).
      /\("MESSAGE" "RFC822" NIL NIL NIL "7BIT" \d+ \(NIL "notas" \(\(\{12\}\r\nPérez, Juan NIL "juan" "example.org"\)\)/,
    )
    assert.match(r, /\("TEXT" "PLAIN" NIL NIL NIL "7BIT" 11 1 NIL NIL NIL NIL\)\("TEXT" "HTML" NIL NIL NIL "7BIT" 17 1 NIL NIL NIL NIL\) "ALTERNATIVE" \("BOUNDARY" "inner"\)/)
    assert.match(r, /"MIXED" \("BOUNDARY" "outer"\) NIL NIL NIL\)\)\r\n/)
  })

  test('sections inside the forwarded message: 2.HEADER, 2.TEXT, 2.1 and 2.2', async () => {
    const r = await c.say('a fetch 1 (body.peek[2.header.fields (subject)] body.peek[2.1] body.peek[2.2] body.peek[1])', tagged('a'))
    assert.match(r, /BODY\[2\.HEADER\.FIELDS \(SUBJECT\)\] \{18\}\r\nSubject: notas\r\n\r\n/)
    assert.match(r, /BODY\[2\.1\] \{11\}\r\nplain notes/)
    assert.match(r, /BODY\[2\.2\] \{17\}\r\n<p>html notes<\/p>/)
    assert.match(r, /BODY\[1\] \{10\}\r\nSee below\./)
  })

  test('RFC822, RFC822.HEADER, RFC822.TEXT and RFC822.SIZE agree on CRLF bytes for bare-LF mail', async () => {
    const r = await c.say('a fetch 2 (rfc822.size rfc822.header rfc822.text)', tagged('a'))
    const crlf = 'Subject: lf\r\n\r\nline one\r\nline two\r\n'
    assert.match(r, new RegExp(`RFC822\\.SIZE ${Buffer.byteLength(crlf)} `))
    assert.match(r, /RFC822\.HEADER \{15\}\r\nSubject: lf\r\n\r\n RFC822\.TEXT \{20\}\r\nline one\r\nline two\r\n/)
    const whole = await c.say('a fetch 2 rfc822', tagged('a'))
    assert.ok(whole.includes(`RFC822 {${Buffer.byteLength(crlf)}}\r\n${crlf}`))
  })

  test('a message with no empty line is all header and has an empty TEXT', async () => {
    const r = await c.say('a fetch 3 (body.peek[header] body.peek[text] body)', tagged('a'))
    assert.match(r, /BODY\[HEADER\] \{23\}\r\nSubject: headers only\r\n BODY\[TEXT\] \{0\}\r\n BODY \("TEXT" "PLAIN" \("CHARSET" "us-ascii"\) NIL NIL "7BIT" 0 0\)/)
  })
})
