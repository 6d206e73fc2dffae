#!/usr/bin/env python3
"""Reads the first message without changing the mailbox, with imaplib: optional STARTTLS,
LOGIN (or AUTHENTICATE PLAIN with --authenticate), SELECT INBOX, FETCH 1 (BODY.PEEK[]), LOGOUT.
Prints {"ok": true, "exists": n, "subject": "..."}; exits 1 on any refusal.
"""
import argparse
import imaplib
import json
import ssl
import sys


def check(what, typ, data):
    if typ != 'OK':
        raise RuntimeError(f'{what} failed: {typ} {data!r}')
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--user', required=True)
    ap.add_argument('--password', required=True)
    ap.add_argument('--starttls', action='store_true')
    ap.add_argument('--cafile', help='verify the STARTTLS certificate against this CA')
    ap.add_argument('--authenticate', action='store_true', help='AUTHENTICATE PLAIN instead of LOGIN')
    args = ap.parse_args()
    imap = imaplib.IMAP4(args.host, args.port, timeout=10)
    if args.starttls:
        ctx = ssl.create_default_context(cafile=args.cafile) if args.cafile else ssl._create_unverified_context()
        check('STARTTLS', *imap.starttls(ssl_context=ctx))
    if args.authenticate:
        check('AUTHENTICATE', *imap.authenticate('PLAIN', lambda _: f'\0{args.user}\0{args.password}'.encode()))
    else:
        check('LOGIN', *imap.login(args.user, args.password))
    exists = int(check('SELECT', *imap.select('INBOX'))[0])
    fetched = check('FETCH', *imap.fetch('1', '(BODY.PEEK[])'))
    body = next((part[1] for part in fetched if isinstance(part, tuple)), b'')
    subject = next((l[9:].strip() for l in body.decode('utf-8', 'replace').splitlines() if l.lower().startswith('subject:')), None)
    imap.logout()
    print(json.dumps({'ok': True, 'exists': exists, 'subject': subject}))


if __name__ == '__main__':
    try:
        main()
    except Exception as err:  # noqa: BLE001
        print(json.dumps({'ok': False, 'error': f'{type(err).__name__}: {err}'}))
        sys.exit(1)
