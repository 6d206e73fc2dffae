#!/usr/bin/env python3
"""The IMAP example of the user's notes (seed), command for command, with imaplib:
LOGIN, LIST "" "*", SELECT INBOX, FETCH 1 body, STORE 1 +flags.silent (\\Deleted), EXPUNGE,
LOGOUT. imaplib sends ASCII only, so the seed's password 'contraseña' goes as 'contrasenia'.
Prints {"ok": true, "exists": n, "list": [...], "expunged": [...]}.
"""
import argparse
import imaplib
import json
import sys


def check(what, typ, data):
    if typ != 'OK':
        raise RuntimeError(f'{what} failed: {typ} {data!r}')
    return data


def text(v):
    return v.decode('utf-8', 'replace') if isinstance(v, bytes) else str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    args = ap.parse_args()
    imap = imaplib.IMAP4(args.host, args.port, timeout=10)
    check('LOGIN', *imap.login('usuario', 'contrasenia'))
    listing = check('LIST', *imap.list('""', '*'))
    exists = check('SELECT', *imap.select('INBOX'))
    fetched = check('FETCH', *imap.fetch('1', 'body'))
    check('STORE', *imap.store('1', '+flags.silent', '(\\Deleted)'))
    expunged = check('EXPUNGE', *imap.expunge())
    bye = imap.logout()
    print(json.dumps({'ok': True, 'list': [text(l) for l in listing], 'exists': text(exists[0]),
                      'fetch': [text(f) for f in fetched if not isinstance(f, tuple)],
                      'expunged': [text(e) for e in expunged if e is not None], 'logout': text(bye[0])}))


if __name__ == '__main__':
    try:
        main()
    except Exception as err:  # noqa: BLE001
        print(json.dumps({'ok': False, 'error': f'{type(err).__name__}: {err}'}))
        sys.exit(1)
