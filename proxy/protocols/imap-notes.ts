// The IMAP decoder's findings: stable codes, English text, a hint and the RFC clause.
// shared/explain/imap.ts has the same codes in English and Spanish for the dashboard.
import type { Note, NoteLevel } from '../../shared/schema.ts'

function note(level: NoteLevel, code: string, text: string, hint?: string, ref?: string): Note {
  const n: Note = { level, code, text }
  if (hint) n.hint = hint
  if (ref) n.ref = ref
  return n
}

/** The finding for a tagged NO or BAD, picked by response code and command. */
export function completionNote(verb: string, status: string, code: string | undefined, text: string): Note {
  const what = `${verb || 'command'} ${status === 'NO' ? 'failed' : 'was rejected as invalid'}${code ? ` [${code}]` : ''}: ${text}`
  const isAuth = verb === 'LOGIN' || verb === 'AUTHENTICATE'
  switch (code) {
    case 'AUTHENTICATIONFAILED':
      return note(
        'error',
        'IMAP_AUTH_FAILED',
        what,
        'Wrong user name or password. Providers with two-step verification (Gmail, Outlook, iCloud, Yahoo) want an app password or OAuth2, not the account password.',
        'RFC 5530 §3',
      )
    case 'AUTHORIZATIONFAILED':
      return note('error', 'IMAP_AUTH_FAILED', what, 'The credentials are valid but this identity may not act as the requested user (authzid).', 'RFC 5530 §3')
    case 'EXPIRED':
      return note('error', 'IMAP_AUTH_FAILED', what, 'The password or account has expired: renew it with the provider.', 'RFC 5530 §3')
    case 'PRIVACYREQUIRED':
      return note('error', 'IMAP_PRIVACY_REQUIRED', what, 'The server wants TLS first: use STARTTLS or the implicit-TLS port 993.', 'RFC 5530 §3')
    case 'UNAVAILABLE':
      return note('warn', 'IMAP_UNAVAILABLE', what, 'A temporary failure on the server side (a backend down, maintenance): retry later.', 'RFC 5530 §3')
    case 'INUSE':
      return note('warn', 'IMAP_UNAVAILABLE', what, 'Another session holds the mailbox or resource: retry later.', 'RFC 5530 §3')
    case 'OVERQUOTA':
      return note('error', 'IMAP_OVERQUOTA', what, 'The mailbox is over its quota: delete or archive mail, or raise the quota.', 'RFC 9051 §7.1')
    case 'TRYCREATE':
      return note('warn', 'IMAP_TRYCREATE', what, 'The target mailbox does not exist: the client should CREATE it and retry.', 'RFC 9051 §7.1')
    case 'NONEXISTENT':
      return note('warn', 'IMAP_NO', what, 'The mailbox does not exist (check its name and hierarchy delimiter).', 'RFC 5530 §3')
    case 'NOPERM':
      return note('warn', 'IMAP_NO', what, 'The user lacks the rights (ACL) for this operation on this mailbox.', 'RFC 5530 §3')
    case 'CANNOT':
    case 'LIMIT':
      return note('warn', 'IMAP_NO', what, 'The server cannot do this, or a server limit was hit.', 'RFC 5530 §3')
    default:
  }
  if (isAuth && status === 'NO') {
    return note(
      'error',
      'IMAP_AUTH_FAILED',
      what,
      'Wrong user name or password, or the provider wants an app password or OAuth2.',
      'RFC 9051 §6.2.3',
    )
  }
  if (status === 'BAD') {
    return note('error', 'IMAP_BAD', what, 'The server did not understand the command: a client bug, an unsupported extension or a command in the wrong state.', 'RFC 9051 §7.1.5')
  }
  return note('warn', 'IMAP_NO', what, undefined, 'RFC 9051 §7.1.2')
}

export const notes = {
  outOfSequence: (verb: string, state: string, needs: string): Note =>
    note(
      'warn',
      'IMAP_OUT_OF_SEQUENCE',
      `${verb} sent in the ${state} state; it needs the ${needs} state`,
      needs === 'selected'
        ? 'Select a mailbox first (SELECT or EXAMINE).'
        : needs === 'authenticated'
          ? 'Log in first (LOGIN or AUTHENTICATE).'
          : 'This command is only valid before authentication.',
      'RFC 9051 §3',
    ),
  loginDisabled: (): Note =>
    note(
      'error',
      'IMAP_LOGIN_DISABLED',
      'LOGIN sent although the server announced LOGINDISABLED',
      'The server refuses LOGIN on this connection: use STARTTLS or the implicit-TLS port 993 first.',
      'RFC 9051 §6.2.3',
    ),
  tlsOnPlaintextPort: (): Note =>
    note(
      'error',
      'TLS_ON_PLAINTEXT_PORT',
      'The client started a TLS handshake on a plaintext IMAP port',
      'The client is set to implicit TLS (port 993) but this port speaks plain IMAP: use STARTTLS, or point the client at the TLS port.',
      'RFC 8314 §3.3',
    ),
  starttlsInjection: (bytes: number): Note =>
    note(
      'error',
      'STARTTLS_INJECTION',
      `${bytes} bytes were sent in plaintext after STARTTLS, before the TLS handshake`,
      'These bytes must be discarded: a client or a man in the middle tried to inject commands (CVE-2011-0411 class).',
      'RFC 9051 §6.2.1',
    ),
  literalMismatch: (): Note =>
    note(
      'error',
      'IMAP_LITERAL_MISMATCH',
      'A literal\'s declared size does not match the bytes that follow it',
      'The sender counted the literal wrong (characters instead of bytes, CRLF vs LF): the rest of the stream may be misread.',
      'RFC 9051 §4.3',
    ),
  literalInvalid: (marker: string): Note =>
    note('warn', 'IMAP_LITERAL_INVALID', `${marker} is not a literal size this decoder follows`, undefined, 'RFC 9051 §4.3'),
  literalRefused: (): Note =>
    note('info', 'IMAP_LITERAL_REFUSED', 'The server answered the command instead of accepting its literal; the literal was not sent', undefined, 'RFC 9051 §4.3'),
  literalPlusUnadvertised: (): Note =>
    note(
      'warn',
      'IMAP_LITERAL_PLUS_UNADVERTISED',
      'A non-synchronizing literal {n+} was sent but the server did not announce LITERAL+ or LITERAL-',
      'The server may reject the command; the client must wait for "+" instead.',
      'RFC 7888 §4',
    ),
  literalMinusLimit: (size: number): Note =>
    note(
      'warn',
      'IMAP_LITERAL_MINUS_LIMIT',
      `A non-synchronizing literal of ${size} bytes exceeds the 4096 bytes LITERAL- allows`,
      undefined,
      'RFC 7888 §5',
    ),
  lineTooLong: (length: number, limit: number): Note =>
    note(
      'warn',
      'IMAP_LINE_TOO_LONG',
      `A line of ${length} bytes exceeds the ${limit}-byte limit; it is kept as opaque bytes`,
      'Servers reject or truncate such lines; split the command (e.g. smaller UID sets).',
      'RFC 7162 §4',
    ),
  truncated: (): Note =>
    note('warn', 'IMAP_TRUNCATED', 'The connection ended in the middle of this line (no CRLF, or inside a literal)'),
  noGreeting: (): Note =>
    note(
      'error',
      'IMAP_NO_GREETING',
      'The server never sent its greeting (* OK, * PREAUTH or * BYE)',
      'Wrong port or protocol (an SMTP or TLS port?), or the server is overloaded.',
      'RFC 9051 §7.1',
    ),
  commandBeforeGreeting: (): Note =>
    note('info', 'IMAP_COMMAND_BEFORE_GREETING', 'The client sent a command before the server greeting', undefined, 'RFC 9051 §2.2'),
  malformed: (what: string): Note => note('warn', 'IMAP_MALFORMED', what, undefined, 'RFC 9051 §9'),
  unknownTag: (tag: string): Note =>
    note('warn', 'IMAP_UNKNOWN_TAG', `The server completed tag ${tag}, which no pending command has`, undefined, 'RFC 9051 §2.2.2'),
  duplicateTag: (tag: string): Note =>
    note('warn', 'IMAP_DUPLICATE_TAG', `Tag ${tag} is reused while a command with that tag is still pending`, 'Completions with that tag are paired in the order the commands were sent; a server may answer otherwise.', 'RFC 9051 §2.2.1'),
  unknownCommand: (verb: string): Note => note('info', 'IMAP_UNKNOWN_COMMAND', `${verb} is not a command this decoder knows`),
  unanswered: (tags: string[]): Note =>
    note('info', 'IMAP_UNANSWERED', `The connection ended with ${tags.length} command(s) unanswered: ${tags.slice(0, 10).join(', ')}`),
  alert: (text: string): Note =>
    note('warn', 'IMAP_ALERT', `Server alert: ${text}`, 'RFC 9051 requires clients to show this text to the user.', 'RFC 9051 §7.1'),
  bye: (text: string): Note =>
    note('warn', 'IMAP_BYE', `The server is closing the connection: ${text}`, 'Not an answer to LOGOUT: an idle timeout, a shutdown or too many connections.', 'RFC 9051 §7.1.5'),
  untaggedStatus: (status: string, text: string): Note =>
    note(status === 'BAD' ? 'error' : 'warn', status === 'BAD' ? 'IMAP_BAD' : 'IMAP_NO', `Untagged ${status}: ${text}`, undefined, 'RFC 9051 §7.1'),
  compressError: (message: string): Note =>
    note('error', 'IMAP_COMPRESS_ERROR', `The deflate stream could not be inflated (${message}); the rest of this direction is opaque`, undefined, 'RFC 4978 §4'),
  tlsPending: (): Note =>
    note('info', 'IMAP_TLS_BYTES', 'Bytes of the TLS handshake (or encrypted traffic) are counted, not decoded'),
}
