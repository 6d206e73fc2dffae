#!/usr/bin/env python3
"""The POP3 example of the user's notes (seed), command for command, with poplib:
USER pepe, PASS LaContrasenia, LIST, QUIT. Prints {"ok": true, "listing": [...]}.
"""
import argparse
import json
import poplib
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    args = ap.parse_args()
    pop = poplib.POP3(args.host, args.port, timeout=10)
    welcome = pop.getwelcome().decode('utf-8', 'replace')
    user = pop.user('pepe').decode()
    password = pop.pass_('LaContrasenia').decode()
    resp, listing, _ = pop.list()
    bye = pop.quit().decode()
    print(json.dumps({'ok': True, 'welcome': welcome, 'user': user, 'pass': password,
                      'list': resp.decode(), 'listing': [l.decode() for l in listing], 'quit': bye}))


if __name__ == '__main__':
    try:
        main()
    except Exception as err:  # noqa: BLE001
        print(json.dumps({'ok': False, 'error': f'{type(err).__name__}: {err}'}))
        sys.exit(1)
