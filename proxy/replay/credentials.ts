// Credential substitution for client replay: the recorded login is re-encoded with the
// user and password given on the command line, for the mechanism the recording used.
// PLAIN and LOGIN are re-encoded; CRAM-MD5 (and POP3 APOP) are recomputed from the new
// server's challenge; other mechanisms (SCRAM, XOAUTH2, NTLM...) cannot be, and say so.
import { createHash, createHmac } from 'node:crypto'
import type { Note, Protocol } from '../../shared/schema.ts'
import type { ClientUnit } from './framing.ts'

export interface Credentials {
  user: string
  password: string
}

export interface LiveAuthContext {
  protocol: Protocol
  /** The AUTH/AUTHENTICATE command the unit belongs to (for SASL lines). */
  auth?: ClientUnit
  /** The text after '334 ' / '+ ' of the server's latest continuation, base64. */
  challenge?: string
  /** The live greeting's text (POP3 APOP takes its <timestamp>). */
  greeting?: string
}

export interface Substitution {
  bytes: Buffer
  /** Set when the unit carries credentials that could not be replaced. */
  note?: Note
  /** True when the bytes were rewritten. */
  changed: boolean
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64')
const unb64 = (s: string) => Buffer.from(s.trim(), 'base64').toString('utf8')

function eol(bytes: Buffer): string {
  return bytes.subarray(-2).toString('latin1') === '\r\n' ? '\r\n' : '\n'
}

/** An IMAP astring for the value: a quoted string, or a literal+ when quoting cannot carry it. */
function imapString(s: string): string {
  if (/[\r\n\0]/.test(s)) return `{${Buffer.byteLength(s)}+}\r\n${s}`
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

function plain(recorded: string | undefined, creds: Credentials): string {
  // Keep a recorded authorization identity only when it was not just the user again.
  const parts = recorded ? unb64(recorded).split('\0') : []
  const authzid = parts.length === 3 && parts[0] && parts[0] !== parts[1] ? parts[0] : ''
  return b64(`${authzid}\0${creds.user}\0${creds.password}`)
}

function notRecomputable(mechanism: string): Note {
  return {
    level: 'warn',
    code: 'REPLAY_AUTH_NOT_RECOMPUTABLE',
    text: `the recorded ${mechanism} exchange cannot be recomputed for new credentials: it is sent as recorded`,
    hint: 'record the session with PLAIN, LOGIN or CRAM-MD5, or replay without --user/--password',
  }
}

/**
 * The bytes to send for `unit` with `creds` in place of the recorded ones. Units that
 * carry no credentials come back unchanged.
 */
export function substitute(unit: ClientUnit, creds: Credentials | undefined, ctx: LiveAuthContext): Substitution {
  const same: Substitution = { bytes: unit.bytes, changed: false }
  if (!creds) return same
  const nl = eol(unit.bytes)
  const text = unit.bytes.toString('utf8').replace(/\r?\n$/, '')
  const line = (s: string): Substitution => ({ bytes: Buffer.from(s + nl, 'utf8'), changed: true })

  if (unit.kind === 'command') {
    const verb = unit.verb ?? ''
    if (ctx.protocol === 'pop3' && verb === 'USER') return line(`${text.split(/\s/)[0]} ${creds.user}`)
    if (ctx.protocol === 'pop3' && verb === 'PASS') return line(`${text.split(/\s/)[0]} ${creds.password}`)
    if (ctx.protocol === 'pop3' && verb === 'APOP') {
      // RFC 1939 7: APOP name digest, digest = MD5(<timestamp> + secret).
      const stamp = /<[^<>\s]+>/.exec(ctx.greeting ?? '')?.[0]
      if (!stamp) return { ...same, note: { level: 'warn', code: 'REPLAY_AUTH_NOT_RECOMPUTABLE', text: 'APOP cannot be recomputed: the server greeting has no <timestamp>' } }
      const digest = createHash('md5').update(stamp + creds.password).digest('hex')
      return line(`${text.split(/\s/)[0]} ${creds.user} ${digest}`)
    }
    if (ctx.protocol === 'imap' && verb === 'LOGIN') {
      return { bytes: Buffer.from(`${unit.tag} ${text.split(/\s/)[1]} ${imapString(creds.user)} ${imapString(creds.password)}${nl}`, 'utf8'), changed: true }
    }
    if ((verb === 'AUTH' || verb === 'AUTHENTICATE') && unit.initialResponse !== undefined) {
      const mech = unit.mechanism ?? ''
      const head = text.slice(0, text.length - unit.initialResponse.length)
      if (unit.initialResponse === '=') return same
      if (mech === 'PLAIN') return line(head + plain(unit.initialResponse, creds))
      if (mech === 'LOGIN') return line(head + b64(creds.user))
      return { ...same, note: notRecomputable(mech) }
    }
    return same
  }

  if (unit.kind === 'sasl') {
    if (text === '*') return same
    const mech = unit.mechanism ?? ctx.auth?.mechanism ?? ''
    const hadInitial = ctx.auth?.initialResponse !== undefined
    const step = (unit.saslStep ?? 1) + (hadInitial ? 1 : 0)
    switch (mech) {
      case 'PLAIN':
        return line(plain(text, creds))
      case 'LOGIN':
        return line(step <= 1 ? b64(creds.user) : b64(creds.password))
      case 'CRAM-MD5': {
        // RFC 2195: user SP hex(HMAC-MD5(password, challenge)), the challenge being the new server's.
        if (!ctx.challenge) return { ...same, note: { level: 'warn', code: 'REPLAY_AUTH_NOT_RECOMPUTABLE', text: 'CRAM-MD5 cannot be recomputed: the server sent no challenge' } }
        const digest = createHmac('md5', creds.password).update(Buffer.from(ctx.challenge.trim(), 'base64')).digest('hex')
        return line(b64(`${creds.user} ${digest}`))
      }
      default:
        return { ...same, note: notRecomputable(mech || 'SASL') }
    }
  }
  return same
}
