// The real-server test bed's fixed addresses, users and files, as test/servers/servers.sh
// sets them up (keep the two in step). Dovecot serves IMAP/POP3, Postfix serves SMTP.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/** Where servers.sh keeps configuration, certificate, logs and mailboxes. */
export const serversDir = resolve(process.env.MAILTAP_SERVERS_DIR ?? join(here, 'run'))

export interface TestUser {
  user: string
  password: string
  address: string
}

function makeUser(user: string): TestUser {
  return { user, password: `${user}pw`, address: `${user}@mail.test` }
}

/**
 * alice and bob are the documented accounts. The others exist so that each test file can
 * own a mailbox: files run in parallel, and one that expunges must not empty another's INBOX.
 * Any other local part @mail.test also receives mail, but has no password to read it.
 */
export const users = {
  alice: makeUser('alice'),
  bob: makeUser('bob'),
  carol: makeUser('carol'),
  dave: makeUser('dave'),
  erin: makeUser('erin'),
  frank: makeUser('frank'),
  grace: makeUser('grace'),
  heidi: makeUser('heidi'),
  ivan: makeUser('ivan'),
  judy: makeUser('judy'),
  ken: makeUser('ken'),
  leo: makeUser('leo'),
  mia: makeUser('mia'),
  nina: makeUser('nina'),
  oscar: makeUser('oscar'),
} as const

export type TestUserName = keyof typeof users

export const ports = {
  host: '127.0.0.1',
  domain: 'mail.test',
  /** Dovecot IMAP, STARTTLS offered, LOGIN/AUTHENTICATE allowed in the clear. */
  imap: 31143,
  /** Dovecot IMAP over implicit TLS. */
  imaps: 31993,
  /** Dovecot POP3, STLS offered, USER/PASS and APOP allowed in the clear. */
  pop3: 31110,
  /** Dovecot POP3 over implicit TLS. */
  pop3s: 31995,
  /** Postfix MX-like: STARTTLS offered, AUTH PLAIN/LOGIN/CRAM-MD5 allowed in the clear. */
  smtp: 31025,
  /** Postfix submission: STARTTLS required, AUTH only after it. */
  submission: 31587,
  /** Postfix SMTP over implicit TLS (wrapper mode). */
  smtps: 31465,
  /** Self-signed certificate of both daemons: CN and SAN `mail.test`, not 127.0.0.1. */
  certFile: join(serversDir, 'tls', 'cert.pem'),
  /** The one name the certificate is valid for. */
  certName: 'mail.test',
  users,
} as const

export type Ports = typeof ports

export type PortName = 'imap' | 'imaps' | 'pop3' | 'pop3s' | 'smtp' | 'submission' | 'smtps'

/** Each port's protocol, whether it speaks TLS from the first byte, and its greeting. */
export const portTable: ReadonlyArray<{ name: PortName; protocol: 'imap' | 'pop3' | 'smtp'; implicitTls: boolean; greeting: RegExp }> = [
  { name: 'imap', protocol: 'imap', implicitTls: false, greeting: /^\* OK/ },
  { name: 'imaps', protocol: 'imap', implicitTls: true, greeting: /^\* OK/ },
  { name: 'pop3', protocol: 'pop3', implicitTls: false, greeting: /^\+OK/ },
  { name: 'pop3s', protocol: 'pop3', implicitTls: true, greeting: /^\+OK/ },
  { name: 'smtp', protocol: 'smtp', implicitTls: false, greeting: /^220 / },
  { name: 'submission', protocol: 'smtp', implicitTls: false, greeting: /^220 / },
  { name: 'smtps', protocol: 'smtp', implicitTls: true, greeting: /^220 / },
]

/** The test bed's scripts and logs. */
export const serverFiles = {
  script: join(here, 'servers.sh'),
  dovecotLog: join(serversDir, 'dovecot', 'dovecot.log'),
  postfixLog: join(serversDir, 'postfix', 'postfix.log'),
  passwdFile: join(serversDir, 'dovecot', 'passwd'),
}
