#!/usr/bin/env python3
"""The SMTP example of the user's notes (seed), command for command, with smtplib:
HELO pepito.es, auth login + base64 user + base64 password, MAIL FROM, RCPT TO, DATA with the
seed's three lines, QUIT. Exits 0 and prints {"ok": true, "replies": [...]} when every reply has
the code the seed shows (250, 334/235 for the AUTH steps the seed leaves out, 354, 221).
"""
import argparse
import base64
import json
import smtplib
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    args = ap.parse_args()
    replies = []

    def step(line, expected):
        code, text = smtp.docmd(line)
        replies.append([line, code, text.decode('utf-8', 'replace')])
        if code not in expected:
            raise RuntimeError(f'{line}: expected {expected}, got {code} {text!r}')

    smtp = smtplib.SMTP(args.host, args.port, timeout=10)
    step('HELO pepito.es', (250,))
    step('auth login', (334,))
    step(base64.b64encode(b'nombre_usuario').decode(), (334,))
    step(base64.b64encode(b'password_usuario').decode(), (235,))
    step('MAIL FROM: pepe@pepito.es', (250,))
    step('RCPT TO: usuario@servidor.es', (250,))
    step('DATA', (354,))
    smtp.send(b'subject: Asunto\r\nEste mensaje es de prueba.\r\nProbamos el protocolo SMTP.\r\n.\r\n')
    code, text = smtp.getreply()
    replies.append(['[message]', code, text.decode('utf-8', 'replace')])
    if code != 250:
        raise RuntimeError(f'message: expected 250, got {code} {text!r}')
    step('QUIT', (221,))
    smtp.close()
    print(json.dumps({'ok': True, 'replies': replies}))


if __name__ == '__main__':
    try:
        main()
    except Exception as err:  # noqa: BLE001 - reported as JSON for the test
        print(json.dumps({'ok': False, 'error': f'{type(err).__name__}: {err}'}))
        sys.exit(1)
