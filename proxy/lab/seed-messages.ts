// Sample messages every lab user finds in INBOX on a fresh start, so a lesson has something
// to list and fetch at once: English and Spanish (UTF-8, encoded-word headers), one with a
// PNG attachment, one harmless HTML message. CRLF line endings, as on the wire.

export interface SeedMessage {
  raw: Buffer
  flags: string[]
  internalDate: number
}

// A 16x16 PNG (a small orange square), base64 as it goes in the MIME part.
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAF0lEQVR4nGP438NAEiJN9aiGUQ1DSgMA/YOLELHsQkgAAAAASUVORK5CYII='

function crlf(lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n') + '\r\n', 'utf8')
}

function rfc2822Date(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000')
}

export function seedMessages(user: string, domain: string): SeedMessage[] {
  const to = `${user}@${domain}`
  // Fixed dates: the seed reads the same in every lesson.
  const base = Date.UTC(2024, 8, 2, 9, 0, 0)
  const at = (hours: number) => base + hours * 3600_000
  return [
    {
      internalDate: at(0),
      flags: ['\\Seen'],
      raw: crlf([
        `Return-Path: <lab@${domain}>`,
        `From: mailtap lab <lab@${domain}>`,
        `To: ${to}`,
        'Subject: Welcome to the mailtap lab',
        `Date: ${rfc2822Date(at(0))}`,
        `Message-ID: <welcome.${user}@${domain}>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        `Hello ${user},`,
        '',
        'This mailbox lives inside mailtap. Everything you send to it and every',
        'command you type shows up in the dashboard, decoded and annotated.',
        '',
        'Try: RETR 1 over POP3, or "a fetch 1 body[]" over IMAP.',
        '',
        '-- ',
        'mailtap',
      ]),
    },
    {
      internalDate: at(1),
      flags: [],
      raw: crlf([
        `From: =?UTF-8?Q?Mar=C3=ADa_Garc=C3=ADa?= <maria@${domain}>`,
        `To: ${to}`,
        'Subject: =?UTF-8?Q?Reuni=C3=B3n_del_mi=C3=A9rcoles?=',
        `Date: ${rfc2822Date(at(1))}`,
        `Message-ID: <reunion.${user}@${domain}>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'Hola:',
        '',
        'La reuni=C3=B3n del mi=C3=A9rcoles ser=C3=A1 a las 10:00 en el aula 3.',
        'Traed el port=C3=A1til; veremos c=C3=B3mo viaja un correo por SMTP, POP3 e=',
        ' IMAP.',
        '',
        'Un saludo,',
        'Mar=C3=ADa',
      ]),
    },
    {
      internalDate: at(2),
      flags: [],
      raw: crlf([
        `From: Bob Example <bob@${domain}>`,
        `To: ${to}`,
        'Subject: Diagram for the lesson (attachment)',
        `Date: ${rfc2822Date(at(2))}`,
        `Message-ID: <diagram.${user}@${domain}>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="lab-boundary-1"',
        '',
        'This is a multi-part message in MIME format.',
        '',
        '--lab-boundary-1',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        'The picture is attached. Fetch part 2 to see its base64 body.',
        '',
        '--lab-boundary-1',
        'Content-Type: image/png; name="square.png"',
        'Content-Transfer-Encoding: base64',
        'Content-Disposition: attachment; filename="square.png"',
        '',
        PNG_BASE64,
        '',
        '--lab-boundary-1--',
      ]),
    },
    {
      internalDate: at(3),
      flags: [],
      raw: crlf([
        `From: Newsletter <news@${domain}>`,
        `To: ${to}`,
        'Subject: =?UTF-8?B?Tm90aWNpYXMgZGUgbGEgc2VtYW5hIOKAlCBIVE1M?=',
        `Date: ${rfc2822Date(at(3))}`,
        `Message-ID: <news.${user}@${domain}>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary="lab-alt-1"',
        '',
        '--lab-alt-1',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        'Weekly news: the lab is up. (Plain-text version of an HTML message.)',
        '',
        '--lab-alt-1',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        '<html><body><h1>Weekly news</h1><p>The <b>lab</b> is up.</p>',
        '<p>Noticias de la semana: el laboratorio funciona.</p></body></html>',
        '',
        '--lab-alt-1--',
      ]),
    },
  ]
}
