#!/usr/bin/env python3
"""The SMTP example from the user's notes (seed), sent with smtplib exactly as written there:
HELO, `auth login` in lower case with base64 user and password, MAIL FROM / RCPT TO without
angle brackets, DATA with `subject: Asunto` and two body lines, QUIT.

Prints {"ok": true, "steps": [{"command", "code", "text"}...], "queued": "..."}.
Without --user the AUTH step is left out.
"""
import base64
import smtplib

from common import fail, guard, parser, server_hostname, succeed, tls_context

BODY = b'subject: Asunto\r\nEste mensaje es de prueba.\r\nProbamos el protocolo SMTP.\r\n.\r\n'


def main():
    ap = parser('Send the seed SMTP exchange', 31025)
    ap.add_argument('--helo', default='pepito.es')
    ap.add_argument('--from', dest='mail_from', default='pepe@pepito.es')
    ap.add_argument('--to', default='alice@mail.test')
    args = ap.parse_args()

    steps = []

    def step(shown, expected, line=None, sent_as=None):
        code, reply = smtp.docmd(line if line is not None else shown)
        steps.append({'command': sent_as or shown, 'code': code, 'text': reply})
        if code not in expected:
            fail(f'{sent_as or shown}: expected {expected}, got {code} {reply.decode("utf-8", "replace")}', steps=steps)
        return reply

    if args.tls:
        smtp = smtplib.SMTP_SSL(args.host, args.port, timeout=args.timeout, context=tls_context(args))
    else:
        smtp = smtplib.SMTP(args.host, args.port, timeout=args.timeout)
    # smtplib connects in the constructor; the greeting was read there.
    if args.starttls:
        step('EHLO ' + args.helo, (250,))
        step('STARTTLS', (220,))
        smtp.sock = tls_context(args).wrap_socket(smtp.sock, server_hostname=server_hostname(args))
        smtp.file = None
    step('HELO ' + args.helo, (250,))
    if args.user:
        step('auth login', (334,))
        step('[user in base64]', (334,), base64.b64encode(args.user.encode()).decode())
        step('[password in base64]', (235,), base64.b64encode(args.password.encode()).decode())
    step('MAIL FROM: ' + args.mail_from, (250,))
    step('RCPT TO: ' + args.to, (250, 251))
    step('DATA', (354,))
    smtp.send(BODY)
    code, reply = smtp.getreply()
    steps.append({'command': '[message]', 'code': code, 'text': reply})
    if code != 250:
        fail(f'message refused: {code} {reply.decode("utf-8", "replace")}', steps=steps)
    queued = reply
    step('QUIT', (221,))
    smtp.close()
    succeed(steps=steps, queued=queued)


if __name__ == '__main__':
    guard(main)
