// POP3 grammar (RFC 1939, 2449, 2595, 3206, 5034, 6856): commands, status lines,
// extended response codes, and the rule deciding which responses are multi-line.
import type { Note } from '../../shared/schema.ts'
import { mkNote } from './common.ts'

export const POP3_VERBS = new Set([
  'USER', 'PASS', 'APOP', 'AUTH', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'NOOP', 'RSET', 'QUIT', 'CAPA', 'STLS', 'UTF8', 'LANG',
])

/** Commands only valid in the TRANSACTION state (RFC 1939 5). */
export const TRANSACTION_VERBS = new Set(['STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'NOOP', 'RSET'])
/** Commands only valid in the AUTHORIZATION state (RFC 1939 4, 7; RFC 2595; RFC 5034). */
export const AUTHORIZATION_VERBS = new Set(['USER', 'PASS', 'APOP', 'AUTH', 'STLS', 'UTF8'])

export interface Pop3Command {
  verb: string
  args: string[]
  rest: string
}

export function parsePop3Command(text: string): Pop3Command {
  const trimmed = text.replace(/^\s+/, '')
  const sp = trimmed.indexOf(' ')
  const verb = (sp < 0 ? trimmed : trimmed.slice(0, sp)).toUpperCase()
  const rest = sp < 0 ? '' : trimmed.slice(sp + 1)
  return { verb, args: rest.split(' ').filter(Boolean), rest }
}

/**
 * RFC 1939 / 2449 / 5034: whether a +OK to this command is followed by a multi-line
 * body. 'message' bodies go to the MessageSink, 'lines' are collected as a listing.
 */
export function multilineKind(cmd: Pop3Command): 'message' | 'lines' | undefined {
  switch (cmd.verb) {
    case 'RETR':
    case 'TOP':
      return 'message'
    case 'LIST':
    case 'UIDL':
      return cmd.args.length === 0 ? 'lines' : undefined
    case 'CAPA':
      return 'lines'
    case 'AUTH':
    case 'LANG': // RFC 6856 3: LANG without an argument lists the languages
      return cmd.args.length === 0 ? 'lines' : undefined
    default:
      return undefined
  }
}

export interface StatusLine {
  ok: boolean
  text: string
  /** RFC 2449 8: '[IN-USE]', '[SYS/TEMP]'... */
  responseCode?: string
}

/** '+OK text' or '-ERR text'; null for anything else. Case-insensitive like most servers. */
export function parseStatusLine(line: string): StatusLine | null {
  const up = line.slice(0, 4).toUpperCase()
  let ok: boolean
  let text: string
  if (up.startsWith('+OK') && (line.length === 3 || line[3] === ' ')) {
    ok = true
    text = line.slice(4)
  } else if (up === '-ERR' && (line.length === 4 || line[4] === ' ')) {
    ok = false
    text = line.slice(5)
  } else return null
  const m = /^\[([^\]]+)\]\s*/.exec(text)
  const status: StatusLine = { ok, text: m ? text.slice(m[0].length) : text }
  if (m) status.responseCode = m[1].toUpperCase()
  return status
}

/** The note for a -ERR, with a hint for the causes users hit most. */
export function pop3ErrorNote(status: StatusLine, verb: string | undefined): Note {
  const code = status.responseCode
  const text = `-ERR${code ? ` [${code}]` : ''} ${status.text}`.trim()
  switch (code) {
    case 'IN-USE':
      return mkNote('error', 'POP3_MAILBOX_IN_USE', `Mailbox in use: ${text}`, 'Another client (a phone, another PC) holds the mailbox lock; close it or wait for its session to end.', 'RFC 2449 §8.1.1')
    case 'LOGIN-DELAY':
      return mkNote('warn', 'POP3_LOGIN_DELAY', `Logged in too soon: ${text}`, 'The server enforces a minimum time between logins (see CAPA LOGIN-DELAY).', 'RFC 2449 §8.1.2')
    case 'AUTH':
      return mkNote('error', 'POP3_AUTH_FAILED', `Authentication failed: ${text}`, 'Wrong user name or password, or the provider wants an app password.', 'RFC 3206 §5')
    case 'SYS/TEMP':
      return mkNote('warn', 'POP3_SYS_TEMP', `Temporary server problem: ${text}`, 'A transient failure on the server side; retry later.', 'RFC 3206 §4')
    case 'SYS/PERM':
      return mkNote('error', 'POP3_SYS_PERM', `Permanent server problem: ${text}`, 'The server cannot serve this mailbox; contact its administrator.', 'RFC 3206 §4')
  }
  if (verb === 'PASS' || verb === 'APOP' || verb === 'AUTH') {
    return mkNote('error', 'POP3_AUTH_FAILED', `Authentication failed: ${text}`, 'Wrong user name or password, or the provider wants an app password. Servers often only say so after PASS.', 'RFC 1939 §7')
  }
  if (verb === 'STLS') {
    return mkNote('error', 'POP3_TLS_UNAVAILABLE', `STLS refused: ${text}`, 'The server could not start TLS here (not configured, or already in TLS).', 'RFC 2595 §4')
  }
  return mkNote('error', 'REPLY_ERROR', `The server refused ${verb ?? 'the command'}: ${text}`, undefined, 'RFC 1939 §3')
}

/** Parses CAPA lines: 'SASL PLAIN LOGIN' → { name: 'SASL', params: ['PLAIN','LOGIN'] }. */
export function parsePop3Capabilities(lines: string[]): { name: string; params: string[] }[] {
  return lines
    .map((l) => l.trim().split(/\s+/).filter(Boolean))
    .filter((w) => w.length > 0)
    .map((w) => ({ name: w[0].toUpperCase(), params: w.slice(1) }))
}
