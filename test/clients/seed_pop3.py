#!/usr/bin/env python3
"""The POP3 example from the user's notes (seed) with poplib: USER, PASS, LIST, QUIT,
plus RETR n with --retr n.

Prints {"ok": true, "welcome": "...", "list": [[n, octets]...], "retr": "message text"?}.
"""
import poplib

from common import fail, guard, parser, server_hostname, succeed, tls_context


def main():
    ap = parser('Run the seed POP3 exchange', 31110, 'alice', 'alicepw')
    ap.add_argument('--retr', type=int, help='also RETR this message number')
    args = ap.parse_args()

    if args.tls:
        pop = poplib.POP3_SSL(args.host, args.port, timeout=args.timeout, context=tls_context(args))
    else:
        pop = poplib.POP3(args.host, args.port, timeout=args.timeout)
    welcome = pop.getwelcome()
    if args.starttls:
        # poplib's stls() verifies against the host name it connected to; do it ourselves
        # so that --servername works.
        pop._shortcmd('STLS')
        pop.sock = tls_context(args).wrap_socket(pop.sock, server_hostname=server_hostname(args))
        pop.file = pop.sock.makefile('rb')
        pop._tls_established = True
    try:
        pop.user(args.user)
        pop.pass_(args.password)
    except poplib.error_proto as err:
        fail(f'login refused: {err}', welcome=welcome)
    _, lines, _ = pop.list()
    listing = [[int(n) for n in line.split()[:2]] for line in lines]
    result = {'welcome': welcome, 'list': listing}
    if args.retr is not None:
        _, body, _ = pop.retr(args.retr)
        result['retr'] = b'\r\n'.join(body)
    bye = pop.quit()
    succeed(bye=bye, **result)


if __name__ == '__main__':
    guard(main)
