#!/usr/bin/env python3
"""The IMAP example from the user's notes (seed) with imaplib: LOGIN, LIST "" "*",
SELECT INBOX, FETCH 1 (BODY[]), STORE 1 +FLAGS.SILENT (\\Deleted), EXPUNGE, LOGOUT.

An empty INBOX first gets one message by APPEND, so the FETCH/EXPUNGE always have a message.
Prints {"ok": true, "appended": bool, "list": [...], "exists": n, "body": "...", "expunged": [...]}.
"""
import imaplib

from common import fail, guard, parser, server_hostname, succeed, tls_context

APPENDED = (b'From: pepe@pepito.es\r\nTo: alice@mail.test\r\nSubject: Asunto\r\n\r\n'
            b'Este mensaje es de prueba.\r\nProbamos el protocolo IMAP.\r\n')


def check(what, typ, data):
    if typ != 'OK':
        fail(f'{what} failed: {typ} {data!r}')
    return data


def main():
    ap = parser('Run the seed IMAP exchange', 31143, 'alice', 'alicepw')
    args = ap.parse_args()

    if args.tls:
        imap = imaplib.IMAP4_SSL(args.host, args.port, ssl_context=tls_context(args), timeout=args.timeout)
    else:
        imap = imaplib.IMAP4(args.host, args.port, timeout=args.timeout)
    if args.starttls:
        # imaplib.starttls() would verify against the connected host; --servername needs our own.
        check('STARTTLS', *imap._simple_command('STARTTLS'))
        imap.sock = tls_context(args).wrap_socket(imap.sock, server_hostname=server_hostname(args))
        imap.file = imap.sock.makefile('rb')
        imap._tls_established = True
        imap._get_capabilities()
    try:
        imap.login(args.user, args.password)
    except imaplib.IMAP4.error as err:
        fail(f'login refused: {err}')
    listing = check('LIST', *imap.list('""', '*'))
    exists = int(check('SELECT', *imap.select('INBOX'))[0])
    appended = False
    if exists == 0:
        check('APPEND', *imap.append('INBOX', None, None, APPENDED))
        appended = True
        exists = int(check('SELECT', *imap.select('INBOX'))[0])
    fetched = check('FETCH', *imap.fetch('1', '(BODY[])'))
    body = next((part[1] for part in fetched if isinstance(part, tuple)), b'')
    check('STORE', *imap.store('1', '+FLAGS.SILENT', '(\\Deleted)'))
    expunged = check('EXPUNGE', *imap.expunge())
    bye = imap.logout()
    succeed(appended=appended, list=listing, exists=exists, body=body,
            expunged=[e for e in expunged if e is not None], bye=bye[0])


if __name__ == '__main__':
    guard(main)
