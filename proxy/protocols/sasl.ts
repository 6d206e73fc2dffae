// SASL decoding shared by SMTP AUTH, POP3 AUTH and IMAP AUTHENTICATE: sans-IO, one
// SaslExchange per attempt. Each base64 step goes in, a readable decoding (secrets
// masked as '•••'), the user and the secrets come out. Bad input is data, never a throw.
import type { AuthItem, Note, Protocol, Secret } from '../../shared/schema.ts'

export const MASK = '•••'

/** What one SASL step (a challenge, a response, an initial response) decoded to. */
export interface SaslStep {
  /** Readable decoding with secrets masked ('Username:', 'user=alice password=•••'). */
  decoded?: string
  user?: string
  authzid?: string
  /** False when the payload was not valid base64. */
  valid: boolean
  /** The client sent '*': the attempt is cancelled (RFC 4954 4, RFC 5034 4, RFC 3501 6.2.2). */
  cancel?: boolean
  secrets: Secret[]
  notes: Note[]
}

/** The line with the last occurrence of `secret` replaced by the mask. */
export function maskIn(line: string, secret: string): string {
  const at = line.lastIndexOf(secret)
  return at < 0 || secret === '' ? line : `${line.slice(0, at)}${MASK}${line.slice(at + secret.length)}`
}

/** Decodes base64 strictly (RFC 4648 alphabet, padding optional); null when invalid. */
export function decodeBase64(text: string): Buffer | null {
  const s = text.trim()
  if (s.length === 0) return Buffer.alloc(0)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null
  const core = s.replace(/=+$/, '')
  if (core.length % 4 === 1) return null
  if (s.includes('=') && s.length % 4 !== 0) return null
  return Buffer.from(core, 'base64')
}

/** Shows bytes as text when they are printable UTF-8, else null. */
export function printable(bytes: Buffer): string | null {
  const text = bytes.toString('utf8')
  if (text.includes('\uFFFD')) return null
  // Allow tabs, CR/LF and the SOH separators of XOAUTH2/OAUTHBEARER (shown as ^A).
  if (/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.test(text.replace(/\x01/g, ''))) return null
  return text.replace(/\x01/g, '^A')
}

function note(level: Note['level'], code: string, text: string, hint?: string, ref?: string): Note {
  const n: Note = { level, code, text }
  if (hint) n.hint = hint
  if (ref) n.ref = ref
  return n
}

/** The invalid-base64 finding every protocol shares. */
export function invalidBase64Note(what: string): Note {
  return note('warn', 'AUTH_INVALID_BASE64', `${what} is not valid base64`, 'The server will reject it; check the client\'s SASL encoding.', 'RFC 4648 §4')
}

function hexPreview(bytes: Buffer, max = 24): string {
  const hex = bytes.subarray(0, max).toString('hex')
  return bytes.length > max ? `${hex}… (${bytes.length} bytes)` : hex
}

/** SCRAM attribute values escape ',' and '=' as =2C and =3D (RFC 5802 5.1). */
function unescapeSaslName(s: string): string {
  return s.replace(/=2C/gi, ',').replace(/=3D/gi, '=')
}

/** Parses 'k=v,k=v' attribute lists (SCRAM, GS2 headers). */
function parseAttrs(s: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const part of s.split(',')) {
    const eq = part.indexOf('=')
    if (eq === 1) m.set(part[0], part.slice(2))
  }
  return m
}

/** Client messages of the fixed-length mechanisms: RFC 4616, draft-murchison-sasl-login, RFC 2195, RFC 4422 A, RFC 4505, RFC 7628. */
const CLIENT_STEPS: Record<string, number> = {
  PLAIN: 1,
  LOGIN: 2,
  'CRAM-MD5': 1,
  EXTERNAL: 1,
  ANONYMOUS: 1,
  XOAUTH2: 1,
  OAUTHBEARER: 1,
}

/**
 * One SASL authentication attempt. The protocol decoder tells it each payload in order:
 * `initial()` for an initial response on the command line (SASL-IR, RFC 4954 4),
 * `challenge()` for each server continuation, `response()` for each client line.
 */
export class SaslExchange {
  readonly mechanism: string
  /** The user, once a step revealed it. */
  user?: string
  authzid?: string
  private clientSteps = 0
  private serverSteps = 0
  /** LOGIN: what the last server prompt asked for. */
  private lastPrompt: 'user' | 'password' | undefined
  /** XOAUTH2/OAUTHBEARER: the server sent an error challenge; the next response is the dummy. */
  private errorSent = false
  private cancelled = false

  constructor(mechanism: string) {
    this.mechanism = mechanism.toUpperCase()
  }

  /**
   * The client has sent every step its mechanism has (or cancelled): what it sends next,
   * unless the server asks for more, is no SASL answer. Unknown for mechanisms with a
   * variable number of round trips (SCRAM, DIGEST-MD5, NTLM, GSSAPI...): always false.
   * An error challenge (XOAUTH2) asks for one more answer; the decoder counts challenges.
   */
  get clientDone(): boolean {
    if (this.cancelled) return true
    const steps = CLIENT_STEPS[this.mechanism]
    return steps !== undefined && this.clientSteps >= steps
  }

  /** An initial response given with the command ('=' means an empty one). */
  initial(payload: string): SaslStep {
    if (payload === '=') {
      this.clientSteps++
      return { decoded: '(empty initial response)', valid: true, secrets: [], notes: [] }
    }
    return this.response(payload)
  }

  /** A server challenge: the text after '334 ' or '+ '. */
  challenge(payload: string): SaslStep {
    this.serverSteps++
    const text = payload.trim()
    if (text === '') return { decoded: '', valid: true, secrets: [], notes: [] }
    const bytes = decodeBase64(text)
    if (!bytes) {
      // Some servers put plain text after 334/+ (e.g. '+ Ready'): not an error.
      return { decoded: text, valid: false, secrets: [], notes: [invalidBase64Note('The server challenge')] }
    }
    const shown = printable(bytes)
    const step: SaslStep = { valid: true, secrets: [], notes: [] }
    switch (this.mechanism) {
      case 'LOGIN': {
        const low = (shown ?? '').toLowerCase()
        if (low.startsWith('pass')) this.lastPrompt = 'password'
        else if (low.startsWith('user')) this.lastPrompt = 'user'
        else this.lastPrompt = undefined
        step.decoded = shown ?? hexPreview(bytes)
        break
      }
      case 'XOAUTH2':
      case 'OAUTHBEARER': {
        step.decoded = shown ?? hexPreview(bytes)
        if (shown && shown.trim().startsWith('{')) {
          this.errorSent = true
          let status = ''
          try {
            const err = JSON.parse(shown) as Record<string, unknown>
            status = String(err.status ?? '')
          } catch {
            /* shown as text anyway */
          }
          step.notes.push(
            note(
              'warn',
              'OAUTH_ERROR',
              `The server rejected the OAuth token${status ? ` (status ${status})` : ''}: ${shown}`,
              status === '401' || status === '400'
                ? 'The access token is expired, revoked or lacks the mail scope; refresh it.'
                : 'The client must answer with an empty response to get the final error.',
              this.mechanism === 'XOAUTH2' ? 'Google XOAUTH2 protocol' : 'RFC 7628 §3.2.2',
            ),
          )
        }
        break
      }
      case 'SCRAM-SHA-1':
      case 'SCRAM-SHA-256':
      case 'SCRAM-SHA-1-PLUS':
      case 'SCRAM-SHA-256-PLUS': {
        step.decoded = shown ?? hexPreview(bytes)
        if (shown?.startsWith('e=')) {
          step.notes.push(note('warn', 'SCRAM_ERROR', `SCRAM error from the server: ${shown.slice(2)}`, undefined, 'RFC 5802 §7'))
        }
        break
      }
      case 'NTLM':
        step.decoded = describeNtlm(bytes).text
        break
      default:
        step.decoded = shown ?? hexPreview(bytes)
    }
    return step
  }

  /** A client response line (base64, or '*' to cancel). */
  response(payload: string): SaslStep {
    const text = payload.trim()
    if (text === '*') {
      this.clientSteps++
      this.cancelled = true
      return { decoded: '*', valid: true, cancel: true, secrets: [], notes: [] }
    }
    this.clientSteps++
    const step: SaslStep = { valid: true, secrets: [], notes: [] }
    if (text === '') {
      step.decoded = this.errorSent ? '(empty response to the error)' : '(empty response)'
      return step
    }
    const bytes = decodeBase64(text)
    if (!bytes) {
      step.valid = false
      step.notes.push(invalidBase64Note('The client response'))
      // Could be a password typed in clear: keep it out of plain text.
      step.secrets.push({ kind: 'sasl-response', value: text })
      step.decoded = MASK
      return step
    }
    // The wire form is a secret whenever the decoded form holds one, so exports can
    // redact the raw capture by value.
    const wire: Secret = { kind: 'sasl-response', value: text }
    switch (this.mechanism) {
      case 'PLAIN': {
        // RFC 4616: [authzid] NUL authcid NUL passwd
        const fields = bytes.toString('utf8').split('\x00')
        if (fields.length !== 3) {
          step.notes.push(note('warn', 'AUTH_MALFORMED', 'PLAIN response does not have the form authzid\\0user\\0password', undefined, 'RFC 4616 §2'))
          step.secrets.push(wire)
          step.decoded = MASK
          break
        }
        const [authzid, user, password] = fields
        this.user = user
        step.user = user
        if (authzid) {
          this.authzid = authzid
          step.authzid = authzid
        }
        step.secrets.push({ kind: 'password', value: password }, wire)
        step.decoded = `${authzid ? `authzid=${authzid} ` : ''}user=${user} password=${MASK}`
        break
      }
      case 'LOGIN': {
        const value = bytes.toString('utf8')
        // The prompt says what is asked; without prompts the first answer is the user.
        const isUser = this.lastPrompt ? this.lastPrompt === 'user' : this.user === undefined
        if (isUser) {
          this.user = value
          step.user = value
          step.decoded = `user=${value}`
        } else {
          step.secrets.push({ kind: 'password', value }, wire)
          step.decoded = `password=${MASK}`
        }
        this.lastPrompt = undefined
        break
      }
      case 'CRAM-MD5': {
        // RFC 2195: "user hex-digest"
        const value = bytes.toString('utf8')
        const sp = value.lastIndexOf(' ')
        const user = sp > 0 ? value.slice(0, sp) : value
        this.user = user
        step.user = user
        step.secrets.push({ kind: 'digest', value: sp > 0 ? value.slice(sp + 1) : '' }, wire)
        step.decoded = `user=${user} digest=${MASK}`
        break
      }
      case 'XOAUTH2': {
        // user=<user>^Aauth=Bearer <token>^A^A
        const value = bytes.toString('utf8')
        const fields = value.split('\x01')
        let user: string | undefined
        let token: string | undefined
        for (const f of fields) {
          if (f.startsWith('user=')) user = f.slice(5)
          else if (f.startsWith('auth=')) token = f.slice(5)
        }
        if (user) {
          this.user = user
          step.user = user
        }
        if (token !== undefined) step.secrets.push({ kind: 'token', value: token.replace(/^Bearer\s+/i, '') })
        step.secrets.push(wire)
        step.decoded = `user=${user ?? '?'} auth=${token !== undefined ? `${/^Bearer\s/i.test(token) ? 'Bearer ' : ''}${MASK}` : '(none)'}`
        break
      }
      case 'OAUTHBEARER': {
        // RFC 7628 3.1: gs2-header ^A key=value ^A ... ^A^A
        const value = bytes.toString('utf8')
        const fields = value.split('\x01')
        const gs2 = parseAttrs(fields[0] ?? '')
        const user = gs2.get('a') ? unescapeSaslName(gs2.get('a')!) : undefined
        const shown: string[] = []
        if (user) {
          this.user = user
          step.user = user
          shown.push(`user=${user}`)
        }
        for (const f of fields.slice(1)) {
          if (!f) continue
          if (f.startsWith('auth=')) {
            step.secrets.push({ kind: 'token', value: f.slice(5).replace(/^Bearer\s+/i, '') })
            shown.push(`auth=Bearer ${MASK}`)
          } else shown.push(f)
        }
        step.secrets.push(wire)
        step.decoded = shown.join(' ')
        break
      }
      case 'SCRAM-SHA-1':
      case 'SCRAM-SHA-256':
      case 'SCRAM-SHA-1-PLUS':
      case 'SCRAM-SHA-256-PLUS': {
        const value = printable(bytes) ?? ''
        if (this.clientSteps === 1) {
          // client-first-message: gs2-header "n,," then n=user,r=nonce (RFC 5802 7)
          const parts = value.split(',')
          const bare = parseAttrs(parts.slice(2).join(','))
          const user = bare.get('n') ? unescapeSaslName(bare.get('n')!) : undefined
          if (user) {
            this.user = user
            step.user = user
          }
          if (parts[1]?.startsWith('a=')) {
            step.authzid = this.authzid = unescapeSaslName(parts[1].slice(2))
          }
          step.decoded = value || hexPreview(bytes)
        } else {
          // client-final-message: c=...,r=...,p=proof; the proof is the secret.
          const p = /(?:^|,)p=([^,]*)/.exec(value)
          if (p) {
            step.secrets.push({ kind: 'digest', value: p[1] }, wire)
            step.decoded = value.replace(/((?:^|,)p=)[^,]*/, `$1${MASK}`)
          } else step.decoded = value || hexPreview(bytes)
        }
        break
      }
      case 'NTLM': {
        const d = describeNtlm(bytes)
        if (d.user) {
          this.user = d.user
          step.user = d.user
        }
        if (d.secret) step.secrets.push({ kind: 'digest', value: d.secret }, wire)
        step.decoded = d.text
        break
      }
      case 'DIGEST-MD5': {
        const value = printable(bytes) ?? ''
        const u = /username="([^"]*)"/.exec(value)
        if (u) {
          this.user = u[1]
          step.user = u[1]
        }
        const r = /response=([0-9a-fA-F]+)/.exec(value)
        if (r) step.secrets.push({ kind: 'digest', value: r[1] }, wire)
        step.decoded = value ? value.replace(/response=[0-9a-fA-F]+/, `response=${MASK}`) : hexPreview(bytes)
        break
      }
      case 'EXTERNAL': {
        const value = bytes.toString('utf8')
        if (value) step.authzid = this.authzid = value
        step.decoded = value ? `authzid=${value}` : '(use the TLS client certificate identity)'
        break
      }
      case 'ANONYMOUS':
        step.decoded = printable(bytes) ?? hexPreview(bytes)
        break
      default: {
        // GSSAPI and unknown mechanisms: opaque, treated as secret.
        step.secrets.push(wire)
        step.decoded = `${MASK} (${bytes.length} bytes)`
      }
    }
    return step
  }
}

/** Reads the type (and for type 3 the domain, user, host) of an NTLM message. */
export function describeNtlm(bytes: Buffer): { text: string; user?: string; secret?: string } {
  if (bytes.length < 12 || bytes.subarray(0, 8).toString('latin1') !== 'NTLMSSP\x00') {
    return { text: `not an NTLMSSP message (${bytes.length} bytes)` }
  }
  const type = bytes.readUInt32LE(8)
  if (type === 1) return { text: 'NTLM type 1 (negotiate)' }
  if (type === 2) return { text: 'NTLM type 2 (challenge)' }
  if (type !== 3 || bytes.length < 64) return { text: `NTLM type ${type}` }
  const flags = bytes.length >= 64 ? bytes.readUInt32LE(60) : 0
  const unicode = (flags & 1) !== 0
  const field = (at: number): Buffer => {
    const len = bytes.readUInt16LE(at)
    const off = bytes.readUInt32LE(at + 4)
    if (off + len > bytes.length) return Buffer.alloc(0)
    return bytes.subarray(off, off + len)
  }
  const str = (b: Buffer): string => (unicode ? b.toString('utf16le') : b.toString('latin1'))
  const domain = str(field(28))
  const user = str(field(36))
  const host = str(field(44))
  const nt = field(20)
  const who = domain ? `${domain}\\${user}` : user
  return {
    text: `NTLM type 3 (authenticate): user=${who || '?'}${host ? ` host=${host}` : ''} response=${MASK}`,
    user: user || undefined,
    secret: nt.length ? nt.toString('hex') : undefined,
  }
}

/** Builds the AuthItem for one step of an exchange. */
export function saslAuthItem(
  protocol: Protocol,
  ex: SaslExchange,
  step: AuthItem['step'],
  r: SaslStep,
): AuthItem {
  const item: AuthItem = { kind: 'auth', protocol, mechanism: ex.mechanism, step: r.cancel ? 'cancel' : step, valid: r.valid }
  const user = r.user ?? ex.user
  if (user !== undefined) item.user = user
  const authzid = r.authzid ?? ex.authzid
  if (authzid) item.authzid = authzid
  if (r.decoded !== undefined) item.decoded = r.decoded
  return item
}

/**
 * Mechanisms that put a password or a bearer token on the wire as such (base64 is not
 * protection). Challenge-response mechanisms (CRAM-MD5, DIGEST-MD5, SCRAM-*, NTLM, GSSAPI)
 * and EXTERNAL do not: without TLS they leak less, so they get no AUTH_CLEARTEXT finding.
 */
export function exposesSecret(mechanism: string): boolean {
  return ['PLAIN', 'LOGIN', 'XOAUTH2', 'OAUTHBEARER'].includes(mechanism.toUpperCase())
}

/** A note for credentials sent in clear although the server offered TLS. */
export function authCleartextNote(protocol: Protocol, offered: string): Note {
  return note(
    'warn',
    'AUTH_CLEARTEXT',
    `Credentials were sent without TLS although the server offered ${offered}`,
    `Configure the client to use ${offered} (or the implicit-TLS port) before authenticating.`,
    protocol === 'smtp' ? 'RFC 3207 §6' : protocol === 'pop3' ? 'RFC 2595 §2.1' : 'RFC 8314 §3',
  )
}
