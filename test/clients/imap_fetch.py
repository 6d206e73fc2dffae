#!/usr/bin/env python3
"""Logs in over IMAP and fetches the messages of a mailbox whose subject contains --subject
(all of them without it), waiting up to --wait seconds for one to arrive (Postfix delivers
over LMTP a moment after it answered 250).

Prints {"ok": true, "messages": [{"uid": n, "flags": [...], "body": "..."}]}; exits 1 when
none was found in time.
"""
import imaplib
import re
import time

from common import fail, guard, parser, server_hostname, succeed, tls_context


def main():
    ap = parser('Fetch messages over IMAP', 31143, 'alice', 'alicepw')
    ap.add_argument('--mailbox', default='INBOX')
    ap.add_argument('--subject', help='only messages whose Subject contains this')
    ap.add_argument('--wait', type=float, default=5, help='seconds to wait for a matching message')
    args = ap.parse_args()

    if args.tls:
        imap = imaplib.IMAP4_SSL(args.host, args.port, ssl_context=tls_context(args), timeout=args.timeout)
    else:
        imap = imaplib.IMAP4(args.host, args.port, timeout=args.timeout)
    if args.starttls:
        typ, data = imap._simple_command('STARTTLS')
        if typ != 'OK':
            fail(f'STARTTLS refused: {data!r}')
        imap.sock = tls_context(args).wrap_socket(imap.sock, server_hostname=server_hostname(args))
        imap.file = imap.sock.makefile('rb')
        imap._tls_established = True
        imap._get_capabilities()
    try:
        imap.login(args.user, args.password)
    except imaplib.IMAP4.error as err:
        fail(f'login refused: {err}')
    criteria = ('SUBJECT', '"' + args.subject.replace('\\', '\\\\').replace('"', '\\"') + '"') if args.subject else ('ALL',)
    deadline = time.monotonic() + args.wait
    while True:
        typ, _ = imap.select(args.mailbox, readonly=True)
        if typ != 'OK':
            fail(f'cannot select {args.mailbox}')
        typ, data = imap.uid('SEARCH', None, *criteria)
        uids = data[0].split() if typ == 'OK' and data and data[0] else []
        if uids or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    if not uids:
        imap.logout()
        fail('no matching message', mailbox=args.mailbox, subject=args.subject)
    messages = []
    typ, data = imap.uid('FETCH', b','.join(uids).decode(), '(UID FLAGS BODY.PEEK[])')
    for part in data:
        if not isinstance(part, tuple):
            continue
        head = part[0].decode('utf-8', 'replace')
        uid = re.search(r'UID (\d+)', head)
        flags = re.search(r'FLAGS \(([^)]*)\)', head)
        messages.append({'uid': int(uid.group(1)) if uid else None,
                         'flags': flags.group(1).split() if flags else [],
                         'body': part[1]})
    imap.logout()
    succeed(messages=messages)


if __name__ == '__main__':
    guard(main)
