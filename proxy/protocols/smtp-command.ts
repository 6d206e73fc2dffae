// SMTP command grammar (RFC 5321 4.1): the verb (case-insensitive), and the parameters
// of MAIL FROM / RCPT TO (ESMTP params: SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY, ORCPT,
// AUTH), BDAT and the rest. Lenient like real servers; strictness goes into notes.
import type { Note } from '../../shared/schema.ts'
import { mkNote } from './common.ts'

export interface ParsedSmtpCommand {
  verb: string
  args: string
  params?: Record<string, string | number | boolean | string[]>
  explain: string[]
  notes: Note[]
  bdat?: { size: number; last: boolean }
}

export const SMTP_VERBS = new Set([
  'HELO', 'EHLO', 'LHLO', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'VRFY', 'EXPN', 'HELP', 'NOOP', 'QUIT',
  'STARTTLS', 'AUTH', 'ETRN', 'ATRN', 'TURN', 'XCLIENT', 'XFORWARD', 'SEND', 'SOML', 'SAML',
])

const PATH = /^(FROM|TO) *: *(<[^>]*>|[^ ]*) *(.*)$/i

export function parseSmtpCommand(text: string): ParsedSmtpCommand {
  const trimmed = text.replace(/^\s+/, '')
  const sp = trimmed.indexOf(' ')
  const verb = (sp < 0 ? trimmed : trimmed.slice(0, sp)).toUpperCase()
  const args = sp < 0 ? '' : trimmed.slice(sp + 1)
  const cmd: ParsedSmtpCommand = { verb, args, explain: [], notes: [] }
  if (verb === '') {
    cmd.verb = '(empty)'
    cmd.notes.push(mkNote('warn', 'SMTP_EMPTY_LINE', 'An empty command line', 'Servers answer 500 5.5.2 syntax error.', 'RFC 5321 §4.1.1'))
    return cmd
  }
  if (!/^[\x21-\x7e]+$/.test(verb)) cmd.verb = '(binary)'
  if (!SMTP_VERBS.has(verb)) {
    cmd.notes.push(mkNote('info', 'SMTP_UNKNOWN_COMMAND', `${cmd.verb.slice(0, 40)} is not a known SMTP command`, 'The server will probably answer 500 or 502.', 'RFC 5321 §4.1'))
    if (/[^\x20-\x7e\t]/.test(text)) {
      cmd.notes.push(mkNote('warn', 'SMTP_MALFORMED_COMMAND', 'The command line holds non-printable or non-ASCII bytes', 'Binary or wrong-protocol data on an SMTP port.', 'RFC 5321 §4.1.1'))
    }
    return cmd
  }
  cmd.explain.push(`smtp.cmd.${verb}`)
  switch (verb) {
    case 'MAIL':
    case 'RCPT':
      parsePathCommand(cmd, verb === 'MAIL' ? 'FROM' : 'TO')
      break
    case 'HELO':
    case 'EHLO':
    case 'LHLO':
      if (args.trim()) cmd.params = { domain: args.trim() }
      else cmd.notes.push(mkNote('warn', 'SMTP_SYNTAX', `${verb} without a domain or address literal`, 'Postfix answers 501 Syntax: EHLO hostname.', 'RFC 5321 §4.1.1.1'))
      break
    case 'BDAT': {
      const m = /^(\d{1,15})(?:\s+(LAST))?\s*$/i.exec(args)
      if (m) {
        cmd.bdat = { size: Number(m[1]), last: m[2] !== undefined }
        cmd.params = { size: cmd.bdat.size, last: cmd.bdat.last }
      } else {
        cmd.notes.push(mkNote('warn', 'SMTP_MALFORMED_COMMAND', 'BDAT needs a chunk size (and optionally LAST)', 'Without a size nobody knows where the chunk ends.', 'RFC 3030 §2'))
      }
      break
    }
    case 'AUTH': {
      const words = args.trim().split(/\s+/)
      if (words[0]) {
        cmd.params = { mechanism: words[0].toUpperCase() }
        cmd.explain.push(`sasl.${words[0].toUpperCase()}`)
      }
      break
    }
    case 'VRFY':
    case 'EXPN':
      if (args.trim()) cmd.params = { target: args.trim() }
      break
  }
  return cmd
}

function parsePathCommand(cmd: ParsedSmtpCommand, keyword: 'FROM' | 'TO'): void {
  const m = PATH.exec(cmd.args)
  if (!m || m[1].toUpperCase() !== keyword) {
    cmd.notes.push(mkNote('warn', 'SMTP_SYNTAX', `${cmd.verb} should read "${cmd.verb} ${keyword}:<address>"`, 'The server answers 501 5.5.4 syntax error.', 'RFC 5321 §4.1.1.2'))
    return
  }
  const path = m[2]
  const bracketed = path.length >= 2 && path.charCodeAt(0) === 0x3c && path.charCodeAt(path.length - 1) === 0x3e
  const address = bracketed ? path.slice(1, -1) : path
  if (!bracketed) {
    cmd.notes.push(mkNote('info', 'SMTP_PATH_WITHOUT_BRACKETS', `The address ${address || '(empty)'} is not in angle brackets`, 'RFC 5321 requires <address>; lenient servers (Postfix by default) accept it.', 'RFC 5321 §4.1.2'))
  }
  const params: Record<string, string | number | boolean | string[]> = { [keyword === 'FROM' ? 'from' : 'to']: address }
  cmd.params = params
  const rest = m[3]
  if (rest.length === 0) return
  for (const word of rest.split(' ')) {
    if (word.length === 0) continue
    const eq = word.indexOf('=')
    const key = (eq < 0 ? word : word.slice(0, eq)).toUpperCase()
    const value = eq < 0 ? true : word.slice(eq + 1)
    if (key === 'SIZE' && typeof value === 'string' && /^\d+$/.test(value)) params[key] = Number(value)
    else if (key === 'NOTIFY' && typeof value === 'string') params[key] = value.toUpperCase().split(',')
    else params[key] = value
    cmd.explain.push(`smtp.param.${key}`)
  }
}
