// The one data model of mailtap: sessions, events and decoded items.
// The proxy, the store, the API, the hub and the dashboard all import these types;
// nothing else may define them again.

/** Bumped when the on-disk layout changes; store/migrate.ts upgrades older data. */
export const FORMAT_VERSION = 1

export type Protocol = 'smtp' | 'pop3' | 'imap'
export type Side = 'client' | 'server'
/** Who an event comes from: one of the two peers, or mailtap itself (a note). */
export type From = Side | 'proxy'

/** One leg of a route, as given on the command line: `imaps://host:993`. */
export interface Endpoint {
  host: string
  port: number
  /** Implicit TLS on this leg (smtps, pop3s, imaps). */
  tls: boolean
}

export type TlsMode = 'intercept' | 'passthrough'

export interface Route {
  /** Stable id, e.g. `imap-1143`. */
  id: string
  protocol: Protocol
  listen: Endpoint
  upstream: Endpoint
  /** What to do with STARTTLS/STLS and implicit TLS. */
  tlsMode: TlsMode
  /** The URLs as the user wrote them, for display. */
  listenUrl: string
  upstreamUrl: string
}

export interface Peer {
  address: string
  port: number
}

export type SessionStatus = 'live' | 'closed' | 'failed'

/** Why a session ended. Stable strings: the dashboard and exports switch on them. */
export type CloseReason =
  | 'client-closed'
  | 'server-closed'
  | 'client-reset'
  | 'server-reset'
  | 'idle-timeout'
  | 'upstream-unreachable'
  | 'tls-failed'
  | 'proxy-shutdown'
  | 'mock-ended'
  | 'replay-ended'
  | 'imported'
  | 'error'

export interface CertInfo {
  subject: string
  issuer: string
  sans: string[]
  notBefore: string
  notAfter: string
  sha256: string
  selfSigned: boolean
}

export interface TlsVerify {
  ok: boolean
  /** Node's error code, e.g. ERR_TLS_CERT_ALTNAME_INVALID, CERT_HAS_EXPIRED. */
  code?: string
  /** In plain words: 'hostname mismatch', 'expired', 'self-signed', 'unknown CA'. */
  text: string
}

/** The facts of one TLS handshake on one leg. */
export interface TlsLeg {
  leg: Side
  mode: TlsMode
  /** 'implicit' when the port speaks TLS from the first byte, else 'starttls'. */
  how: 'implicit' | 'starttls'
  version?: string
  cipher?: string
  sni?: string
  alpn?: string
  /** Server leg only: the chain the upstream presented. */
  chain?: CertInfo[]
  verify?: TlsVerify
  /** The event seq at which the handshake finished. */
  atSeq?: number
}

export interface SessionTotals {
  events: number
  bytesFromClient: number
  bytesFromServer: number
  commands: number
  messages: number
  errors: number
}

export interface Session {
  id: string
  protocol: Protocol
  route: Pick<Route, 'id' | 'listenUrl' | 'upstreamUrl'>
  client: Peer
  /** The upstream as dialled (host name and port), and its address once connected. */
  server: Peer & { host?: string }
  tls: TlsLeg[]
  /** The authenticated (or attempted) user, once an AUTH/LOGIN/USER was decoded. */
  user?: string
  /** Epoch milliseconds. */
  startedAt: number
  endedAt?: number
  status: SessionStatus
  closeReason?: CloseReason
  /** Human words for the reason, e.g. 'connect ECONNREFUSED 127.0.0.1:25'. */
  closeDetail?: string
  totals: SessionTotals
  /** The last server reply line, shortened, for list views. */
  lastReply?: string
  /** True when the recording is incomplete (a write failed, a limit was hit). */
  gaps?: boolean
  /** Where this session came from when it was not captured live. */
  origin?: { kind: 'live' | 'import' | 'replay' | 'mock'; of?: string; file?: string }
}

// ---------------------------------------------------------------------------
// Notes and findings

export type NoteLevel = 'info' | 'warn' | 'error'

/**
 * A finding or remark. `code` is a stable SCREAMING_SNAKE string (SMTP_LINE_TOO_LONG,
 * AUTH_CLEARTEXT, REPLY_ERROR...); the dashboard looks the code up in shared/explain to
 * show it in the user's language, and falls back to `text`.
 */
export interface Note {
  level: NoteLevel
  code: string
  text: string
  hint?: string
  /** RFC reference, e.g. 'RFC 5321 §4.5.3.1.4'. */
  ref?: string
}

/** A password, token or digest, kept apart from every plain-text field. */
export interface Secret {
  /** What it is: 'password', 'token', 'digest', 'sasl-response'. */
  kind: string
  value: string
}

// ---------------------------------------------------------------------------
// Decoded items. One event carries at most one item. Discriminated by `kind`.

/** Keys into shared/explain tables: 'smtp.cmd.EHLO', 'smtp.code.250', 'esc.5.7.8'. */
export type ExplainKeys = string[]

export interface CommandItem {
  kind: 'command'
  protocol: Protocol
  /** Upper-cased verb: 'EHLO', 'MAIL', 'UID FETCH', 'AUTHENTICATE'. */
  verb: string
  /** The rest of the line, with any secret replaced by '•••'. */
  args: string
  /** The whole line as shown, secrets masked. */
  line: string
  /** IMAP tag. */
  tag?: string
  /** Parsed parameters: ESMTP params, IMAP fetch items, POP3 msg number... */
  params?: Record<string, string | number | boolean | string[]>
  /** Protocol state when the command was sent (POP3 'authorization'...). */
  state?: string
  /** Sent before the previous command's reply arrived. */
  pipelined?: boolean
  explain?: ExplainKeys
}

export type ReplyStatus = 'ok' | 'error' | 'temp-error' | 'continue' | 'info'

export interface ReplyItem {
  kind: 'reply'
  protocol: Protocol
  /** SMTP code (250), POP3 '+OK' / '-ERR', IMAP 'OK' / 'NO' / 'BAD' / 'BYE' / 'PREAUTH'. */
  code: string
  status: ReplyStatus
  /** Enhanced status code (RFC 3463) or IMAP response code ('READ-WRITE', 'ALERT'). */
  enhanced?: string
  responseCode?: string
  /** Text lines of the reply, without codes and CRLF. */
  lines: string[]
  tag?: string
  /** seq of the command this reply answers, and the time between them. */
  replyTo?: number
  latencyMs?: number
  /** For EHLO / CAPA / CAPABILITY: the capabilities announced. */
  capabilities?: { name: string; params: string[] }[]
  state?: string
  explain?: ExplainKeys
}

/** IMAP untagged responses (`* 3 EXISTS`, `* 1 FETCH (...)`) and POP3 listing lines. */
export interface UntaggedItem {
  kind: 'untagged'
  protocol: Protocol
  /** 'EXISTS', 'FETCH', 'LIST', 'CAPABILITY', 'OK'... */
  name: string
  /** Message number for EXISTS/EXPUNGE/FETCH. */
  number?: number
  text: string
  parsed?: Record<string, unknown>
  explain?: ExplainKeys
}

/** IMAP `+ ...` continuation, SMTP 334, POP3 `+ ...` during AUTH. */
export interface ContinuationItem {
  kind: 'continuation'
  protocol: Protocol
  text: string
  /** The base64 payload decoded, when it is printable ('Username:'). */
  decoded?: string
  replyTo?: number
  latencyMs?: number
  /** Keys into shared/explain: 'smtp.code.334', 'pop3.cont.sasl', 'imap.cont.literal', 'imap.cont.idle'. */
  explain?: ExplainKeys
}

export type AuthMechanism = string // 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'XOAUTH2' | ... | 'USER/PASS' | 'APOP' | 'IMAP LOGIN'

export interface AuthItem {
  kind: 'auth'
  protocol: Protocol
  mechanism: AuthMechanism
  /** start: the AUTH command; challenge/response: a step; cancel: '*'; outcome: the verdict. */
  step: 'start' | 'challenge' | 'response' | 'cancel' | 'outcome'
  user?: string
  authzid?: string
  /** A readable decoding with secrets masked, e.g. 'Username:' or 'n,,n=alice,r=...'. */
  decoded?: string
  /** False when a base64 payload could not be decoded. */
  valid: boolean
  outcome?: 'success' | 'failure'
  /** seq of the AUTH command this step belongs to. */
  attempt?: number
}

export interface MimePartSummary {
  /** '1', '1.2'... */
  path: string
  contentType: string
  size: number
  filename?: string
  disposition?: string
  charset?: string
  children?: MimePartSummary[]
}

export interface MessageSummary {
  from?: string
  to?: string
  cc?: string
  subject?: string
  date?: string
  messageId?: string
  parts?: MimePartSummary
  attachments: { filename: string; contentType: string; size: number }[]
  /** Set when the message could not be parsed as MIME. */
  error?: string
  /**
   * Added by the mime helper: the live summary parses only the first bytes of a very
   * large message (proxy/mime/summary.ts SUMMARY_PARSE_BYTES); sizes after that point
   * are counted on the last open part. The message viewer parses the whole message.
   */
  truncated?: boolean
}

/**
 * A message that crossed the proxy. The decoder emits phase 'received' when the body
 * is complete (its bytes went to the MessageSink); the recorder parses the stored
 * message as MIME off the forwarding path and appends phase 'parsed' with the summary.
 */
export interface MessageItem {
  kind: 'message'
  protocol: Protocol
  phase: 'received' | 'parsed'
  /** 1-based number of the message within the session; `/messages/:n.eml`. */
  index: number
  source: 'smtp-data' | 'smtp-bdat' | 'pop3-retr' | 'pop3-top' | 'imap-fetch' | 'imap-append'
  size: number
  summary?: MessageSummary
  /** False when the body was cut short (connection lost, limit hit). */
  complete?: boolean
}

/** A body or literal in transit: the start and the end are events, never each chunk. */
export interface BodyItem {
  kind: 'body'
  protocol: Protocol
  phase: 'start' | 'end'
  /** 'data', 'bdat', 'literal', 'multiline' */
  what: string
  /** Declared size (BDAT, literal) or the size seen so far. */
  size?: number
  /** Unused by the decoders today: POP3 listings (LIST, UIDL, CAPA) are the ReplyItem's `lines`. */
  lines?: string[]
}

export interface TlsItem {
  kind: 'tls'
  /** go-ahead: the server accepted STARTTLS/STLS; handshake: one leg finished; failed: it did not. */
  phase: 'go-ahead' | 'handshake' | 'failed' | 'passthrough'
  leg?: Side
  info?: TlsLeg
  error?: string
}

/** Bytes no decoder understood, kept as a byte count (the raw view has them). */
export interface OpaqueItem {
  kind: 'opaque'
  length: number
  reason: string
}

/** Session lifecycle notes from mailtap itself. */
export interface LifecycleItem {
  kind: 'lifecycle'
  phase: 'open' | 'upstream-connected' | 'half-close' | 'close'
  side?: Side
  reason?: CloseReason
  detail?: string
}

export type Item =
  | CommandItem
  | ReplyItem
  | UntaggedItem
  | ContinuationItem
  | AuthItem
  | MessageItem
  | BodyItem
  | TlsItem
  | OpaqueItem
  | LifecycleItem

/** Bytes of one direction in the session's capture file. */
export interface RawRef {
  side: Side
  /** Offset within that side's byte stream (0 = first byte that side sent). */
  offset: number
  length: number
}

export interface SessionEvent {
  /** Order within the session, from 1. */
  seq: number
  /** Epoch milliseconds with sub-millisecond precision. */
  at: number
  from: From
  raw?: RawRef
  item?: Item
  notes?: Note[]
  secrets?: Secret[]
}

// ---------------------------------------------------------------------------
// The decoder contract (proxy/protocols/*). Decoders own no I/O and no clock.

/** What a decoder returns; the recorder turns each into a SessionEvent with a seq. */
export interface Decoded {
  from: From
  at: number
  /** Decoder-local id of this item, unique within one decoder (1, 2, 3...). */
  ref?: number
  /** The `ref` of the command this answers; the recorder turns it into `item.replyTo` (a seq). */
  replyToRef?: number
  /** The `ref` of the AUTH command an auth step belongs to; becomes `AuthItem.attempt`. */
  attemptRef?: number
  raw?: RawRef
  item?: Item
  notes?: Note[]
  secrets?: Secret[]
}

export interface Decoder {
  /** Feed bytes one side sent, at time `at`. Returns what became complete. */
  feed(side: Side, bytes: Uint8Array, at: number): Decoded[]
  /** That side closed its stream: flush what is pending, note what was cut. */
  end(side: Side, at: number): Decoded[]
  /** The TLS upgrade happened (both legs). Decoding continues in the clear. */
  upgraded?(at: number): Decoded[]
}

/**
 * Where a decoder sends the bytes of each message it extracts (dot-stuffing undone,
 * literal framing removed). The decoder never holds a whole body: it streams it here.
 */
export interface MessageSink {
  /** `wire` says where the message lies in the session's capture, when it lies there whole. */
  open(index: number, source: MessageItem['source'], wire?: MessageWire): MessageWriter
}

/**
 * A message that can be cut back out of the capture of one side, so it need not be stored
 * twice: from `offset`, either `length` bytes as they are (an IMAP literal), or a
 * dot-terminated body with its stuffing undone, up to its terminating line (SMTP DATA,
 * POP3 RETR/TOP). Absent when the message is not a plain run of the capture (BDAT chunks,
 * IMAP under COMPRESS=DEFLATE): the writer's bytes are then stored as they come.
 */
export type MessageWire = { side: Side; offset: number } & ({ framing: 'dot' } | { framing: 'raw'; length: number })
export interface MessageWriter {
  write(bytes: Uint8Array): void
  close(complete: boolean): void
}

export interface DecoderOptions {
  messages?: MessageSink
  /** RFC limits are notes, not cuts; past this a line is treated as opaque. */
  maxLineBytes?: number
  /**
   * Added by the SMTP/POP3 helper: the session is TLS from its first byte (smtps, pop3s,
   * imaps). Decoders then never report credentials as sent in clear.
   */
  implicitTls?: boolean
}

/** A session summary for lists: what GET /api/sessions returns. */
export type SessionSummary = Session

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`)
}
