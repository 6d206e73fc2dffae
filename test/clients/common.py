"""Shared bits of the test/clients scripts: the common arguments, TLS contexts, JSON output.

Every script prints exactly one JSON object on stdout ({"ok": true, ...} or
{"ok": false, "error": ...}) and exits non-zero on failure.
"""
import argparse
import json
import ssl
import sys


def parser(description, default_port, user=None, password=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=default_port)
    ap.add_argument('--user', default=user)
    ap.add_argument('--password', default=password)
    ap.add_argument('--starttls', action='store_true', help='upgrade the plain connection with STARTTLS/STLS')
    ap.add_argument('--tls', action='store_true', help='implicit TLS from the first byte')
    ap.add_argument('--cafile', help='verify the server certificate against this CA (default: no verification)')
    ap.add_argument('--servername', help='name to verify and send as SNI (default: --host)')
    ap.add_argument('--timeout', type=float, default=15)
    return ap


def tls_context(args):
    """No verification unless --cafile: the test bed's certificate is self-signed for mail.test."""
    if args.cafile:
        ctx = ssl.create_default_context(cafile=args.cafile)
        ctx.check_hostname = True
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def server_hostname(args):
    return args.servername or args.host


def text(value):
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return value


def succeed(**result):
    print(json.dumps({'ok': True, **result}, default=text))
    sys.exit(0)


def fail(error, **result):
    print(json.dumps({'ok': False, 'error': str(error), **result}, default=text))
    sys.exit(1)


def guard(main):
    """Runs main(); any exception becomes {"ok": false} and exit code 1."""
    try:
        main()
    except SystemExit:
        raise
    except Exception as err:  # noqa: BLE001 - the whole point is to report it as JSON
        fail(f'{type(err).__name__}: {err}')
