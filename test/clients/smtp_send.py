#!/usr/bin/env python3
"""Sends one message with smtplib: EHLO, optional STARTTLS (--starttls) or implicit TLS (--tls),
optional AUTH (--user/--password, mechanism --auth plain|login|cram-md5), then MAIL/RCPT/DATA.

Prints {"ok": true, "refused": {}, "features": {...}, "messageId": "..."}; exits 1 when the
server refuses the message or a recipient.
"""
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from common import fail, guard, parser, server_hostname, succeed, tls_context


def main():
    ap = parser('Send one message over SMTP', 31025)
    ap.add_argument('--auth', choices=['plain', 'login', 'cram-md5'], default='plain')
    ap.add_argument('--from', dest='mail_from', default='pepe@pepito.es')
    ap.add_argument('--to', action='append', required=True)
    ap.add_argument('--subject', default='mailtap test')
    ap.add_argument('--body', default='Hello from mailtap.\n')
    ap.add_argument('--ehlo', default='client.test')
    args = ap.parse_args()

    if args.tls:
        smtp = smtplib.SMTP_SSL(args.host, args.port, local_hostname=args.ehlo, timeout=args.timeout,
                                context=tls_context(args))
    else:
        smtp = smtplib.SMTP(args.host, args.port, local_hostname=args.ehlo, timeout=args.timeout)
    smtp.ehlo()
    if args.starttls:
        smtp._host = server_hostname(args)  # used by starttls() for SNI and verification
        smtp.starttls(context=tls_context(args))
        smtp.ehlo()
    if args.user:
        mechanism = {'plain': 'PLAIN', 'login': 'LOGIN', 'cram-md5': 'CRAM-MD5'}[args.auth]
        smtp.user, smtp.password = args.user, args.password
        authobject = getattr(smtp, 'auth_' + args.auth.replace('-', '_'))
        try:
            smtp.auth(mechanism, authobject, initial_response_ok=(mechanism == 'PLAIN'))
        except smtplib.SMTPAuthenticationError as err:
            fail(f'AUTH refused: {err.smtp_code} {text(err.smtp_error)}')

    msg = EmailMessage()
    msg['From'] = args.mail_from
    msg['To'] = ', '.join(args.to)
    msg['Subject'] = args.subject
    msg['Message-ID'] = make_msgid(domain='client.test')
    msg.set_content(args.body)
    features = dict(smtp.esmtp_features)
    try:
        refused = smtp.send_message(msg, from_addr=args.mail_from, to_addrs=args.to)
    except smtplib.SMTPRecipientsRefused as err:
        fail('recipients refused', refused={k: [v[0], text(v[1])] for k, v in err.recipients.items()})
    except smtplib.SMTPResponseException as err:
        fail(f'{err.smtp_code} {text(err.smtp_error)}')
    smtp.quit()
    succeed(refused={k: [v[0], text(v[1])] for k, v in refused.items()}, features=features,
            messageId=msg['Message-ID'])


def text(value):
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else str(value)


if __name__ == '__main__':
    guard(main)
