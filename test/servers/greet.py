#!/usr/bin/env python3
"""Waits until each mail port sends its greeting (not just accepts a connection).

Usage: greet.py --host 127.0.0.1 --wait SECONDS name:port:starttls|implicit ...
Prints one line per port and exits 0 when every port greeted before the deadline.
"""
import argparse
import socket
import ssl
import sys
import threading
import time

GREETING = {'imap': b'* OK', 'pop3': b'+OK', 'smtp': b'220'}


def expected(name):
    for proto, prefix in GREETING.items():
        if name.startswith(proto):
            return prefix
    return b'220'  # submission, smtps


def greet_once(host, port, implicit, timeout_s):
    sock = socket.create_connection((host, port), timeout=timeout_s)
    try:
        if implicit:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock)
        data = b''
        while b'\n' not in data:
            chunk = sock.recv(1024)
            if not chunk:
                break
            data += chunk
        return data.split(b'\n', 1)[0].rstrip(b'\r')
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--wait', type=float, default=0)
    ap.add_argument('ports', nargs='+')
    args = ap.parse_args()
    deadline = time.monotonic() + args.wait
    results = {}

    def probe(spec):
        name, port, mode = spec.split(':')
        prefix = expected(name)
        last = 'no answer'
        while True:
            try:
                line = greet_once(args.host, int(port), mode == 'implicit', 2)
                if line.startswith(prefix):
                    results[spec] = (True, line.decode('utf-8', 'replace'))
                    return
                last = 'unexpected greeting: ' + line.decode('utf-8', 'replace')
            except OSError as err:
                last = str(err)
            if time.monotonic() >= deadline:
                results[spec] = (False, last)
                return
            time.sleep(0.05)

    threads = [threading.Thread(target=probe, args=(spec,)) for spec in args.ports]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = True
    for spec in args.ports:
        name, port, mode = spec.split(':')
        good, text = results[spec]
        ok = ok and good
        print(f"{'up  ' if good else 'DOWN'} {name:<10} {args.host}:{port} ({mode}) {text}")
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
