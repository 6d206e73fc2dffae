// IMAP grammar: one logical line (text and literals) to a command or a response, with
// parameters parsed per verb and explain keys attached (RFC 9051, RFC 3501 and the
// extensions the issue lists). Pure functions; malformed input yields `error`, no throw.
import type { Secret } from '../../shared/schema.ts'
import { parseFetchAttributes } from './imap-fetch.ts'
import {
  Reader,
  asList,
  asNumber,
  asString,
  decodeMailboxName,
  formatValue,
  isLiteral,
  plainValue,
  type ImapValue,
  type LinePart,
} from './imap-syntax.ts'

export type Params = Record<string, string | number | boolean | string[]>

export interface ParsedCommand {
  tag: string
  /** Upper-cased, with the UID prefix: 'UID FETCH'. */
  verb: string
  /** The arguments as shown, secrets masked. */
  args: string
  /** The whole line as shown, secrets masked. */
  line: string
  values: ImapValue[]
  params: Params
  explain: string[]
  secrets: Secret[]
  /** The line did not follow the grammar (shown anyway). */
  error?: string
}

/** Verbs with an explanation in shared/explain/imap.ts. */
export const KNOWN_VERBS = new Set([
  'CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'AUTHENTICATE', 'LOGIN', 'ENABLE', 'SELECT', 'EXAMINE', 'CREATE', 'DELETE',
  'RENAME', 'SUBSCRIBE', 'UNSUBSCRIBE', 'LIST', 'LSUB', 'XLIST', 'NAMESPACE', 'STATUS', 'APPEND', 'IDLE', 'CHECK', 'CLOSE',
  'UNSELECT', 'EXPUNGE', 'SEARCH', 'FETCH', 'STORE', 'COPY', 'MOVE', 'ID', 'GETQUOTA', 'GETQUOTAROOT', 'SETQUOTA',
  'COMPRESS', 'SORT', 'THREAD', 'GETACL', 'SETACL', 'MYRIGHTS',
])

const SYSTEM_FLAGS = new Set(['\\SEEN', '\\ANSWERED', '\\FLAGGED', '\\DELETED', '\\DRAFT', '\\RECENT'])

/** Explain key of a system flag ('imap.flag.\\Deleted'), or undefined for keywords. */
export function flagKey(flag: string): string | undefined {
  const up = flag.toUpperCase()
  if (!SYSTEM_FLAGS.has(up)) return undefined
  return `imap.flag.\\${up[1]}${up.slice(2).toLowerCase()}`
}

function strings(v: ImapValue | undefined): string[] {
  const list = asList(v)
  if (!list) {
    const s = asString(v)
    return s === undefined ? [] : [s]
  }
  return list.map((x) => (typeof x === 'string' ? x : formatValue(x)))
}

function mailbox(v: ImapValue | undefined): string | undefined {
  const s = asString(v)
  return s === undefined ? undefined : decodeMailboxName(s)
}

const FETCH_MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
}

/** Explain key for a FETCH item: 'imap.fetch.BODY.PEEK[]', 'imap.fetch.BODY[]', 'imap.fetch.ENVELOPE'. */
export function fetchItemKey(item: string): string {
  const up = item.toUpperCase()
  const bracket = up.indexOf('[')
  if (bracket < 0) return `imap.fetch.${up}`
  // BODY.PEEK[HEADER.FIELDS (FROM)] -> BODY.PEEK[]; the section is in the text.
  return `imap.fetch.${up.slice(0, bracket)}[]`
}

/** Parses a client line as a tagged command. */
export function parseCommand(parts: LinePart[]): ParsedCommand {
  const r = new Reader(parts)
  const tag = r.word()
  r.skipSpaces()
  let verb = r.atom().toUpperCase()
  if (verb === 'UID') {
    r.skipSpaces()
    verb = `UID ${r.atom().toUpperCase()}`
  }
  r.skipSpaces()
  const restStart = r.pos
  const values: ImapValue[] = []
  const spans: { from: number; to: number }[] = []
  for (;;) {
    r.skipSpaces()
    const from = r.pos
    const v = r.value()
    if (v === undefined) break
    values.push(v)
    spans.push({ from, to: r.pos })
  }
  const cmd: ParsedCommand = { tag, verb, args: '', line: '', values, params: {}, explain: [], secrets: [] }
  if (r.error) cmd.error = r.error
  if (!tag || !verb) cmd.error = 'not a tagged command'
  else if (!/^[\x21-\x7e]+$/.test(tag) || /[(){%*"\\+]/.test(tag)) cmd.error = 'the tag has characters RFC 9051 does not allow'
  const base = verb.startsWith('UID ') ? verb.slice(4) : verb
  if (verb.startsWith('UID ')) cmd.explain.push('imap.cmd.UID')
  if (KNOWN_VERBS.has(base)) cmd.explain.push(`imap.cmd.${base}`)
  describeCommand(cmd, base)
  // Show the line as it came, with the password or initial response masked.
  const secretAt = base === 'LOGIN' ? 1 : base === 'AUTHENTICATE' && cmd.params.initialResponse && asString(values[1]) !== '=' ? 1 : -1
  const mask = secretAt >= 0 && spans[secretAt] && !isLiteral(values[secretAt]) ? spans[secretAt] : undefined
  cmd.line = r.render(0, r.s.length, mask)
  cmd.args = r.render(restStart, r.s.length, mask).trim()
  return cmd
}

function setParam(p: Params, k: string, val: string | number | boolean | string[] | undefined): void {
  if (val !== undefined) p[k] = val
}

function describeCommand(cmd: ParsedCommand, base: string): void {
  const v = cmd.values
  const p = cmd.params
  switch (base) {
    case 'LOGIN': {
      const user = asString(v[0])
      setParam(p, 'user', user)
      const pass = v[1]
      const value = isLiteral(pass) ? pass.value : asString(pass)
      if (value !== undefined) cmd.secrets.push({ kind: 'password', value })
      if (isLiteral(pass)) pass.secret = true
      if (v.length < 2) cmd.error ??= 'LOGIN needs a user name and a password'
      break
    }
    case 'AUTHENTICATE': {
      const mech = (asString(v[0]) ?? '').toUpperCase()
      p.mechanism = mech
      if (asString(v[1]) !== undefined) p.initialResponse = true
      break
    }
    case 'SELECT':
    case 'EXAMINE':
      setParam(p, 'mailbox', mailbox(v[0]))
      if (asList(v[1])?.some((x) => asString(x)?.toUpperCase() === 'CONDSTORE')) p.condstore = true
      if (asList(v[1])?.some((x) => asString(x)?.toUpperCase() === 'QRESYNC')) p.qresync = true
      break
    case 'CREATE':
    case 'DELETE':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
    case 'GETQUOTAROOT':
    case 'MYRIGHTS':
    case 'GETACL':
      setParam(p, 'mailbox', mailbox(v[0]))
      break
    case 'RENAME':
      setParam(p, 'mailbox', mailbox(v[0]))
      setParam(p, 'newName', mailbox(v[1]))
      break
    case 'LIST':
    case 'LSUB':
    case 'XLIST': {
      // LIST [(selection)] reference pattern [RETURN (...)] (RFC 5258)
      let i = 0
      if (Array.isArray(v[0])) p.selection = strings(v[i++])
      setParam(p, 'reference', mailbox(v[i]))
      const pattern = v[i + 1]
      if (Array.isArray(pattern)) p.patterns = strings(pattern)
      else setParam(p, 'pattern', mailbox(pattern))
      const ret = v.findIndex((x) => typeof x === 'string' && x.toUpperCase() === 'RETURN')
      if (ret >= 0) p.return = strings(v[ret + 1])
      break
    }
    case 'STATUS':
      setParam(p, 'mailbox', mailbox(v[0]))
      p.items = strings(v[1]).map((s) => s.toUpperCase())
      break
    case 'APPEND': {
      setParam(p, 'mailbox', mailbox(v[0]))
      // Then per message: [flags] [date-time] literal (MULTIAPPEND repeats the group).
      let messages = 0
      let size = 0
      for (const x of v.slice(1)) {
        if (Array.isArray(x) && messages === 0) p.flags = strings(x)
        else if (typeof x === 'string' && messages === 0) p.date = x
        else if (isLiteral(x) && !x.refused) {
          messages++
          size += x.literal
        }
      }
      p.messages = messages
      p.size = size
      for (const f of (p.flags as string[] | undefined) ?? []) {
        const k = flagKey(f)
        if (k && !cmd.explain.includes(k)) cmd.explain.push(k)
      }
      break
    }
    case 'FETCH': {
      setParam(p, 'set', asString(v[0]))
      const items = v[1]
      const list = Array.isArray(items) ? strings(items) : asString(items) !== undefined ? [asString(items)!] : []
      p.items = list
      const macro = list.length === 1 ? FETCH_MACROS[list[0].toUpperCase()] : undefined
      if (macro) {
        p.macro = list[0].toUpperCase()
        p.expanded = macro
      }
      for (const it of macro ?? list) {
        const k = fetchItemKey(it)
        if (!cmd.explain.includes(k)) cmd.explain.push(k)
      }
      modifiers(asList(v[2]), p)
      break
    }
    case 'STORE': {
      setParam(p, 'set', asString(v[0]))
      let i = 1
      if (Array.isArray(v[1])) {
        // (UNCHANGEDSINCE n) before the action (RFC 7162 §3.1.3)
        modifiers(v[1], p)
        i = 2
      }
      const action = (asString(v[i]) ?? '').toUpperCase()
      p.action = action
      const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(action)
      if (m) {
        p.op = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace'
        p.silent = Boolean(m[2])
        cmd.explain.push(`imap.store.${action}`)
      } else cmd.error ??= `unknown STORE action ${action}`
      const flags = Array.isArray(v[i + 1]) ? strings(v[i + 1]) : v.slice(i + 1).map((x) => asString(x) ?? '')
      p.flags = flags
      for (const f of flags) {
        const k = flagKey(f)
        if (k && !cmd.explain.includes(k)) cmd.explain.push(k)
      }
      break
    }
    case 'COPY':
    case 'MOVE':
      setParam(p, 'set', asString(v[0]))
      setParam(p, 'mailbox', mailbox(v[1]))
      break
    case 'EXPUNGE':
      setParam(p, 'set', asString(v[0]))
      break
    case 'SEARCH':
    case 'SORT':
    case 'THREAD': {
      let i = 0
      if (base === 'SORT') p.sort = strings(v[i++])
      if (base === 'THREAD') setParam(p, 'algorithm', asString(v[i++]))
      if (base === 'SEARCH' && asString(v[i])?.toUpperCase() === 'RETURN') {
        p.return = strings(v[i + 1])
        i += 2
      }
      if (base === 'SEARCH' && asString(v[i])?.toUpperCase() === 'CHARSET') {
        setParam(p, 'charset', asString(v[i + 1]))
        i += 2
      } else if (base !== 'SEARCH') setParam(p, 'charset', asString(v[i++]))
      p.criteria = v.slice(i).map((x) => (typeof x === 'string' ? x : formatValue(x)))
      break
    }
    case 'ENABLE':
      p.capabilities = strings(v.length === 1 && Array.isArray(v[0]) ? v[0] : v).map((s) => s.toUpperCase())
      for (const c of p.capabilities as string[]) cmd.explain.push(`imap.cap.${c.split('=')[0]}`)
      break
    case 'ID': {
      const list = asList(v[0])
      if (list) {
        const fields: string[] = []
        for (let i = 0; i + 1 < list.length; i += 2) fields.push(`${asString(list[i]) ?? ''}=${asString(list[i + 1]) ?? 'NIL'}`)
        p.id = fields
      }
      break
    }
    case 'GETQUOTA':
      setParam(p, 'root', asString(v[0]))
      break
    case 'SETQUOTA': {
      setParam(p, 'root', asString(v[0]))
      p.limits = strings(v[1])
      break
    }
    case 'COMPRESS':
      setParam(p, 'mechanism', asString(v[0])?.toUpperCase())
      break
    case 'SETACL':
    case 'DELETEACL':
    case 'LISTRIGHTS':
      setParam(p, 'mailbox', mailbox(v[0]))
      setParam(p, 'identifier', asString(v[1]))
      break
    default:
      break
  }
}

/** (CHANGEDSINCE n VANISHED) / (UNCHANGEDSINCE n) modifiers (RFC 7162). */
function modifiers(list: ImapValue[] | undefined, p: Params): void {
  if (!list) return
  for (let i = 0; i < list.length; i++) {
    const k = asString(list[i])?.toUpperCase()
    if (k === 'CHANGEDSINCE' || k === 'UNCHANGEDSINCE') {
      const n = asString(list[i + 1])
      if (n !== undefined) p[k === 'CHANGEDSINCE' ? 'changedSince' : 'unchangedSince'] = /^\d{1,15}$/.test(n) ? Number(n) : n
      i++
    } else if (k === 'VANISHED') p.vanished = true
  }
}

// ---------------------------------------------------------------------------
// Responses

export interface ResponseCode {
  /** Upper-cased: 'READ-WRITE', 'UIDVALIDITY', 'CAPABILITY'. */
  name: string
  args: ImapValue[]
}

export type ParsedResponse =
  | { type: 'continuation'; text: string }
  | { type: 'tagged'; tag: string; status: string; code?: ResponseCode; text: string; error?: string }
  | {
      type: 'untagged'
      name: string
      number?: number
      /** The line without '* '. */
      text: string
      code?: ResponseCode
      /** OK/NO/BAD/BYE/PREAUTH: the human text after the code. */
      statusText?: string
      parsed: Record<string, unknown>
      error?: string
    }

export const STATUS_WORDS = new Set(['OK', 'NO', 'BAD', 'BYE', 'PREAUTH'])

/** `[CODE args] text` after OK/NO/BAD/BYE/PREAUTH. */
function readStatusText(r: Reader): { code?: ResponseCode; text: string } {
  r.skipSpaces()
  if (r.peek() !== '[') return { text: r.rest() }
  r.pos++
  const name = r.atom(true).toUpperCase()
  const args = r.values(true)
  if (r.peek() === ']') r.pos++
  else r.error ??= 'unterminated response code'
  r.skipSpaces()
  return { code: { name, args }, text: r.rest() }
}

/** The response code as plain JSON, for `parsed`. */
export function codeDetail(code: ResponseCode): Record<string, unknown> {
  const a = code.args
  switch (code.name) {
    case 'UIDVALIDITY':
    case 'UIDNEXT':
    case 'UNSEEN':
    case 'HIGHESTMODSEQ':
    case 'APPENDLIMIT':
      return { [code.name]: asNumber(a[0]) ?? asString(a[0]) }
    case 'APPENDUID':
      return { uidValidity: asNumber(a[0]), uids: asString(a[1]) }
    case 'COPYUID':
      return { uidValidity: asNumber(a[0]), sourceUids: asString(a[1]), destinationUids: asString(a[2]) }
    case 'PERMANENTFLAGS':
    case 'BADCHARSET':
      return { [code.name]: strings(a[0]) }
    case 'CAPABILITY':
      return { capabilities: a.map((x) => asString(x) ?? '').filter(Boolean) }
    default:
      return a.length ? { args: a.map(plainValue) } : {}
  }
}

/** Capability atoms to the schema's grouped form: AUTH=PLAIN AUTH=LOGIN -> AUTH [PLAIN, LOGIN]. */
export function groupCapabilities(atoms: string[]): { name: string; params: string[] }[] {
  const out: { name: string; params: string[] }[] = []
  const byName = new Map<string, { name: string; params: string[] }>()
  for (const atom of atoms) {
    const eq = atom.indexOf('=')
    const name = eq >= 0 ? atom.slice(0, eq) : atom
    const key = name.toUpperCase()
    let entry = byName.get(key)
    if (!entry) {
      entry = { name, params: [] }
      byName.set(key, entry)
      out.push(entry)
    }
    if (eq >= 0) entry.params.push(atom.slice(eq + 1))
  }
  return out
}

/** Parses a server line. */
export function parseResponse(parts: LinePart[]): ParsedResponse {
  const r = new Reader(parts)
  if (r.peek() === '+') {
    r.pos++
    r.skipSpaces()
    return { type: 'continuation', text: r.rest() }
  }
  // '*1 EXISTS' (the user's notes write it so): read as untagged, flagged as malformed.
  const squeezed = r.peek() === '*' && r.s.length > 1 && r.s[1] !== ' '
  const tag = squeezed ? (r.pos++, '*') : r.word()
  r.skipSpaces()
  if (tag !== '*') {
    const status = r.atom().toUpperCase()
    const st = readStatusText(r)
    const out: ParsedResponse = { type: 'tagged', tag, status, text: st.text }
    if (st.code) out.code = st.code
    if (!['OK', 'NO', 'BAD'].includes(status)) out.error = `a tagged response must be OK, NO or BAD, not ${JSON.stringify(status)}`
    else if (r.error) out.error = r.error
    return out
  }
  const textStart = r.pos
  let first = r.atom()
  let number: number | undefined
  if (/^\d+$/.test(first)) {
    number = asNumber(first)
    r.skipSpaces()
    first = r.atom()
  }
  const name = first.toUpperCase()
  const text = r.render(textStart, r.s.length)
  const out: Extract<ParsedResponse, { type: 'untagged' }> = { type: 'untagged', name, text, parsed: {} }
  if (number !== undefined) out.number = number
  if (STATUS_WORDS.has(name)) {
    const st = readStatusText(r)
    if (st.code) {
      out.code = st.code
      out.parsed = { code: st.code.name, ...codeDetail(st.code) }
    }
    out.statusText = st.text
    out.parsed.text = st.text
  } else {
    const values = r.values()
    out.parsed = describeUntagged(name, values, number)
    if (name === 'FETCH' && (values.length !== 1 || !Array.isArray(values[0]) || values[0].length % 2 !== 0)) {
      r.error ??= 'FETCH data must be one list of name/value pairs'
    }
  }
  if (r.error) out.error = r.error
  if (!name) out.error = 'empty untagged response'
  if (squeezed) out.error = 'no space after "*"'
  return out
}

function describeUntagged(name: string, v: ImapValue[], number: number | undefined): Record<string, unknown> {
  switch (name) {
    case 'EXISTS':
    case 'RECENT':
    case 'EXPUNGE':
      return number === undefined ? { error: 'missing message number' } : {}
    case 'FETCH':
      return parseFetchAttributes(asList(v[0]) ?? [])
    case 'CAPABILITY':
      return { capabilities: v.map((x) => asString(x) ?? '').filter(Boolean) }
    case 'ENABLED':
      return { capabilities: v.map((x) => asString(x) ?? '').filter(Boolean) }
    case 'FLAGS':
      return { flags: strings(v[0]) }
    case 'LIST':
    case 'LSUB':
    case 'XLIST': {
      const out: Record<string, unknown> = { flags: strings(v[0]), delimiter: asString(v[1]) ?? null, mailbox: mailbox(v[2]) }
      if (v.length > 3) out.extended = v.slice(3).map(plainValue)
      return out
    }
    case 'STATUS': {
      const out: Record<string, unknown> = { mailbox: mailbox(v[0]) }
      const list = asList(v[1]) ?? []
      for (let i = 0; i + 1 < list.length; i += 2) {
        const k = asString(list[i])?.toUpperCase()
        if (k) out[k] = asNumber(list[i + 1]) ?? asString(list[i + 1])
      }
      return out
    }
    case 'SEARCH':
    case 'SORT': {
      const numbers: number[] = []
      let count = 0
      let modseq: unknown
      for (const x of v) {
        const n = asNumber(x)
        if (n !== undefined) {
          count++
          // A huge result is counted, not copied into every event.
          if (numbers.length < 1000) numbers.push(n)
        } else if (Array.isArray(x) && asString(x[0])?.toUpperCase() === 'MODSEQ') modseq = asNumber(x[1]) ?? asString(x[1])
      }
      const out: Record<string, unknown> = { numbers, count }
      if (count > numbers.length) out.truncated = true
      if (modseq !== undefined) out.modseq = modseq
      return out
    }
    case 'ESEARCH': {
      const out: Record<string, unknown> = {}
      let i = 0
      const corr = asList(v[0])
      if (corr) {
        out.tag = asString(corr[1])
        i = 1
      }
      if (asString(v[i])?.toUpperCase() === 'UID') {
        out.uid = true
        i++
      }
      for (; i + 1 < v.length; i += 2) {
        const k = asString(v[i])?.toUpperCase()
        if (k) out[k] = asNumber(v[i + 1]) ?? plainValue(v[i + 1])
      }
      return out
    }
    case 'NAMESPACE': {
      const ns = (x: ImapValue | undefined): unknown =>
        (asList(x) ?? []).map((e) => ({ prefix: asString(asList(e)?.[0]) ?? '', delimiter: asString(asList(e)?.[1]) ?? null }))
      return { personal: ns(v[0]), other: ns(v[1]), shared: ns(v[2]) }
    }
    case 'ID': {
      const list = asList(v[0])
      if (!list) return { fields: null }
      const fields: Record<string, string | null> = {}
      for (let i = 0; i + 1 < list.length; i += 2) fields[asString(list[i]) ?? ''] = asString(list[i + 1]) ?? null
      return { fields }
    }
    case 'QUOTA': {
      const list = asList(v[1]) ?? []
      const resources: { name: string; usage?: number; limit?: number }[] = []
      for (let i = 0; i + 2 < list.length; i += 3) {
        resources.push({ name: (asString(list[i]) ?? '').toUpperCase(), usage: asNumber(list[i + 1]), limit: asNumber(list[i + 2]) })
      }
      return { root: asString(v[0]) ?? '', resources }
    }
    case 'QUOTAROOT':
      return { mailbox: mailbox(v[0]), roots: v.slice(1).map((x) => asString(x) ?? '') }
    case 'VANISHED': {
      let i = 0
      const out: Record<string, unknown> = {}
      if (Array.isArray(v[0])) {
        out.earlier = true
        i = 1
      }
      out.set = asString(v[i])
      return out
    }
    default:
      return v.length ? { values: v.map(plainValue) } : {}
  }
}
