// SMTP reply grammar (RFC 5321 4.2): reply lines, enhanced status codes (RFC 3463),
// EHLO capabilities (RFC 5321 4.1.1.1) and the hints for the failures users hit most.
import type { Note, ReplyItem, ReplyStatus } from '../../shared/schema.ts'
import { mkNote } from './common.ts'

export interface ReplyLine {
  code: string
  /** True for '250-...' (more lines follow). */
  more: boolean
  text: string
}

/** Parses one reply line; null when it is not 'DDD', 'DDD text' or 'DDD-text'. */
export function parseReplyLine(line: string): ReplyLine | null {
  if (line.length < 3) return null
  const c0 = line.charCodeAt(0)
  const c1 = line.charCodeAt(1)
  const c2 = line.charCodeAt(2)
  if (c0 < 0x32 || c0 > 0x35 || c1 < 0x30 || c1 > 0x35 || c2 < 0x30 || c2 > 0x39) return null
  if (line.length === 3) return { code: line, more: false, text: '' }
  const sep = line[3]
  if (sep !== ' ' && sep !== '-') return null
  return { code: line.slice(0, 3), more: sep === '-', text: line.slice(4) }
}

export function replyStatus(code: string): ReplyStatus {
  switch (code[0]) {
    case '2':
      return 'ok'
    case '3':
      return 'continue'
    case '4':
      return 'temp-error'
    case '5':
      return 'error'
    default:
      return 'info'
  }
}

/**
 * Splits an enhanced status code ('5.7.8', RFC 3463 2) off reply text when its class
 * matches the reply's. Hand-parsed: this runs on every reply.
 */
export function splitEnhanced(code: string, text: string): { enhanced?: string; text: string } {
  if (text.length < 5 || text.charCodeAt(0) !== code.charCodeAt(0) || text.charCodeAt(1) !== 0x2e) return { text }
  const a = skipDigits(text, 2)
  if (a === 2 || text.charCodeAt(a) !== 0x2e) return { text }
  const b = skipDigits(text, a + 1)
  if (b === a + 1) return { text }
  if (b < text.length && text.charCodeAt(b) !== 0x20 && text.charCodeAt(b) !== 0x09) return { text }
  return { enhanced: text.slice(0, b), text: text.slice(b + 1) }
}

/** The index after up to three ASCII digits starting at `i`. */
function skipDigits(text: string, i: number): number {
  const end = Math.min(text.length, i + 3)
  while (i < end && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++
  return i
}

/** EHLO reply lines after the first: 'SIZE 10240000', 'AUTH PLAIN LOGIN', 'AUTH=PLAIN'. */
export function parseCapabilities(lines: string[]): { name: string; params: string[] }[] {
  const caps: { name: string; params: string[] }[] = []
  for (const l of lines) {
    const words = l.trim().split(/\s+/).filter(Boolean)
    if (words.length === 0) continue
    let name = words[0].toUpperCase()
    let params = words.slice(1)
    // Old Outlook-style 'AUTH=LOGIN PLAIN' (RFC 4954 predates; still seen).
    const eq = name.indexOf('=')
    if (eq > 0) {
      params = [words[0].slice(eq + 1), ...params]
      name = name.slice(0, eq)
    }
    caps.push({ name, params })
  }
  return caps
}

/** Stable note codes and hints for the common failures. */
export function smtpReplyNote(item: ReplyItem, verb: string | undefined): Note | undefined {
  const { code } = item
  if (code[0] !== '4' && code[0] !== '5') return undefined
  const level = code[0] === '5' ? 'error' : 'warn'
  const esc = item.enhanced ?? ''
  const first = item.lines[0] ?? ''
  const text = `${code}${esc ? ' ' + esc : ''} ${first}`.trim()
  const is = (c: string, e?: string): boolean => code === c && (e === undefined || esc === e)
  const low = item.lines.join(' ').toLowerCase()
  if (is('535') || (is('535', '5.7.8'))) {
    return mkNote(level, 'SMTP_AUTH_FAILED', `Authentication failed: ${text}`, 'Wrong user name or password, or the provider requires an app password (Gmail, Outlook with 2FA).', 'RFC 4954 §6')
  }
  if (is('534', '5.7.9') || is('534')) {
    return mkNote(level, 'SMTP_AUTH_TOO_WEAK', `Mechanism too weak or sign-in blocked: ${text}`, 'The provider wants a stronger mechanism, OAuth2, or an app password.', 'RFC 4954 §6')
  }
  if (is('530') || is('538')) {
    const tls = esc === '5.7.0' || esc === '5.7.11' || low.includes('starttls') || low.includes('tls')
    if (tls) {
      return mkNote(level, 'SMTP_STARTTLS_REQUIRED', `The server requires TLS first: ${text}`, 'Enable STARTTLS in the client (or use port 465 with implicit TLS) before AUTH or MAIL.', 'RFC 3207 §4')
    }
    return mkNote(level, 'SMTP_AUTH_REQUIRED', `Authentication required: ${text}`, 'The client must AUTH before MAIL FROM on this server (submission).', 'RFC 4954 §6')
  }
  if ((is('554', '5.7.1') || is('550', '5.7.1') || is('454', '4.7.1')) && (low.includes('relay') || verb === 'RCPT')) {
    return mkNote(level, 'SMTP_RELAY_DENIED', `Relaying denied: ${text}`, 'The client is not authenticated (or not in mynetworks): AUTH first, or send to a local domain.', 'RFC 5321 §3.6.2')
  }
  if (is('554', '5.5.1') && low.includes('synchronization')) {
    return mkNote(level, 'SMTP_SYNC_ERROR', `Protocol synchronization error: ${text}`, 'The client sent commands before the greeting or pipelined without PIPELINING.', 'RFC 2920 §3.1')
  }
  if (is('550', '5.1.1') || (code === '550' && low.includes('unknown'))) {
    return mkNote(level, 'SMTP_MAILBOX_UNKNOWN', `Recipient unknown: ${text}`, 'Check the address for typos; the mailbox does not exist on this server.', 'RFC 3463 §3.2')
  }
  if (is('552') || esc === '5.3.4' || esc === '5.2.3') {
    return mkNote(level, 'SMTP_MESSAGE_TOO_BIG', `Message too big: ${text}`, 'Compare with the SIZE the server announced in EHLO.', 'RFC 1870 §6')
  }
  if (is('503')) {
    return mkNote(level, 'SMTP_BAD_SEQUENCE', `Bad sequence of commands: ${text}`, 'A command came out of order (RCPT before MAIL, DATA before RCPT, AUTH twice).', 'RFC 5321 §4.1.4')
  }
  if (is('500') || is('502')) {
    return mkNote(level, 'SMTP_UNKNOWN_COMMAND', `Command not recognised: ${text}`, 'The server does not implement this command or extension.', 'RFC 5321 §4.2.4')
  }
  if (is('454') && low.includes('tls')) {
    return mkNote(level, 'SMTP_TLS_UNAVAILABLE', `TLS not available: ${text}`, 'The server could not start TLS (certificate or key missing on its side).', 'RFC 3207 §4')
  }
  if (is('421')) {
    return mkNote(level, 'SMTP_SERVICE_CLOSING', `Service closing: ${text}`, 'The server is shutting the connection (timeout, overload or too many errors).', 'RFC 5321 §3.8')
  }
  if (is('452') || is('451')) {
    return mkNote(level, 'REPLY_ERROR', `Temporary failure: ${text}`, 'Transient: a well-behaved client retries later.', 'RFC 5321 §4.2.1')
  }
  return mkNote(level, 'REPLY_ERROR', `${level === 'error' ? 'Permanent' : 'Temporary'} failure: ${text}`, undefined, 'RFC 5321 §4.2.1')
}
