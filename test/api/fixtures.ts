// Transcripts the API, export and import tests record into a real store. Literal sizes
// are computed, so the IMAP literal is exact.
export const PASSWORD = 's3cret-pw'
/** AUTH PLAIN initial response: \0alice\0s3cret-pw */
export const PLAIN_B64 = Buffer.from(`\0alice\0${PASSWORD}`).toString('base64')
export const ATTACHMENT_TEXT = 'quarter,sales\nQ1,100\n'

export const MIME_MESSAGE = [
  'From: Alice <alice@example.com>',
  'To: Bob <bob@example.com>',
  'Subject: Quarterly report',
  'Message-ID: <r1@example.com>',
  'Date: Mon, 5 Jan 2026 10:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: multipart/alternative; boundary="b2"',
  '',
  '--b2',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hello Bob, the report is attached.',
  '--b2',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Hello <b>Bob</b>, the report is attached.<script>alert(1)</script><img src="http://evil.example/x.png"></p>',
  '--b2--',
  '--b1',
  'Content-Type: text/csv; name="report.csv"',
  'Content-Disposition: attachment; filename="report.csv"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from(ATTACHMENT_TEXT).toString('base64'),
  '--b1--',
  '',
].join('\r\n')

const lines = (side: 'C' | 'S', text: string) =>
  text
    .replace(/\r\n$/, '')
    .split('\r\n')
    .map((l) => `${side}: ${l}`)
    .join('\n')

export const SMTP_SESSION = `
S: 220 mx.example.com ESMTP
C: EHLO client.example.com
S: 250-mx.example.com
S: 250-PIPELINING
S: 250 AUTH PLAIN LOGIN
C: AUTH PLAIN ${PLAIN_B64}
S: 235 2.7.0 Authentication successful
C: MAIL FROM:<alice@example.com>
S: 250 2.1.0 Ok
C: RCPT TO:<bob@example.com>
S: 250 2.1.5 Ok
C: DATA
S: 354 End data with <CR><LF>.<CR><LF>
${lines('C', MIME_MESSAGE)}
C: .
S: 250 2.0.0 Ok: queued as 4XYZ
C: QUIT
S: 221 2.0.0 Bye
`

export const SMTP_STARTTLS_SESSION = `
S: 220 mx.example.com ESMTP
C: EHLO client.example.com
S: 250-mx.example.com
S: 250-STARTTLS
S: 250 AUTH PLAIN
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
== upgraded
C: EHLO client.example.com
S: 250-mx.example.com
S: 250 AUTH PLAIN
C: AUTH PLAIN ${PLAIN_B64}
S: 235 2.7.0 Authentication successful
C: NOOP
S: 250 2.0.0 Ok
C: QUIT
S: 221 2.0.0 Bye
`

const POP3_MESSAGE = 'From: carol@example.com\r\nSubject: Hola POP\r\n\r\nLinea uno.\r\n..punto inicial\r\n'
const POP3_STUFFED = POP3_MESSAGE.replace(/\r\n\.\./g, '\r\n..')

export const POP3_SESSION = `
S: +OK POP3 ready
C: USER alice
S: +OK
C: PASS ${PASSWORD}
S: +OK logged in
C: STAT
S: +OK 1 ${POP3_MESSAGE.length}
C: RETR 1
S: +OK ${POP3_MESSAGE.length} octets
${lines('S', POP3_STUFFED)}
S: .
C: QUIT
S: +OK bye
`

const IMAP_MESSAGE = 'From: dave@example.com\r\nSubject: Hola IMAP\r\n\r\nCuerpo.\r\n'
const escape = (s: string) => s.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n')

export const IMAP_SESSION = `
S: * OK [CAPABILITY IMAP4rev1 LOGIN] ready
C: a1 LOGIN alice "${PASSWORD}"
S: a1 OK LOGIN completed
C: a2 SELECT INBOX
S: * 1 EXISTS
S: * FLAGS (\\Seen \\Deleted)
S: a2 OK [READ-WRITE] SELECT completed
C: a3 FETCH 1 BODY[]
S~ * 1 FETCH (BODY[] {${Buffer.byteLength(IMAP_MESSAGE)}}\\r\\n${escape(IMAP_MESSAGE)})\\r\\n
S: a3 OK FETCH completed
C: a4 STORE 1 +FLAGS.SILENT (\\Deleted)
S: a4 OK STORE completed
C: a5 LOGOUT
S: * BYE bye
S: a5 OK LOGOUT completed
`
