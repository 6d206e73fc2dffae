// FETCH for the lab's IMAP server (RFC 3501 6.4.5, 7.4.2): which data items a request
// names, and how each is rendered: ENVELOPE, BODY/BODYSTRUCTURE, BODY[section]<partial>.
import type { StoredMessage } from '../mail-store.ts'
import { toCrlf } from '../conn.ts'
import { countLines, findPart, headerValue, mimeOf, parseAddresses, parseHeaders, type MimePart } from './mime.ts'
import { imapDate, istring, ImapSyntaxError, joinParts, list, type Token } from './syntax.ts'

export type FetchItem =
  | { kind: 'FLAGS' | 'UID' | 'RFC822.SIZE' | 'INTERNALDATE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT' }
  | { kind: 'section'; peek: boolean; path: number[]; spec: string; fields: string[]; partial?: { start: number; length: number } }

const SIMPLE = new Set(['FLAGS', 'UID', 'RFC822.SIZE', 'INTERNALDATE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT'])
const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
}

function parseSectionItem(word: string): FetchItem {
  const m = /^BODY(\.PEEK)?\[([^\]]*)\](?:<(\d+)\.(\d+)>)?$/i.exec(word) ?? /^BODY(\.PEEK)?\[([^\]]*)\](?:<(\d+)>)?$/i.exec(word)
  if (!m) throw new ImapSyntaxError(`bad fetch item ${word}`)
  const section = m[2].trim()
  const sm = /^((?:\d+\.)*\d+)?\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?\s*(?:\(([^)]*)\))?$/i.exec(section)
  if (!sm) throw new ImapSyntaxError(`bad section ${section}`)
  const path = sm[1] ? sm[1].split('.').map(Number) : []
  const spec = (sm[2] ?? '').toUpperCase()
  if (spec === 'MIME' && path.length === 0) throw new ImapSyntaxError('MIME needs a part number')
  const fields = sm[3] ? sm[3].trim().split(/\s+/).filter(Boolean).map((f) => f.replace(/^"(.*)"$/, '$1').toUpperCase()) : []
  if (spec.startsWith('HEADER.FIELDS') && fields.length === 0) throw new ImapSyntaxError('HEADER.FIELDS needs field names')
  const partial = m[3] !== undefined ? { start: Number(m[3]), length: m[4] !== undefined ? Number(m[4]) : Infinity } : undefined
  return { kind: 'section', peek: Boolean(m[1]), path, spec, fields, partial }
}

/** The items a FETCH names: one atom, a macro, or a parenthesised list. */
export function parseFetchItems(tokens: Token[]): FetchItem[] {
  const words: string[] = []
  for (const t of tokens) {
    if (t.kind === 'list') {
      for (const i of t.items) {
        if (i.kind !== 'atom') throw new ImapSyntaxError('fetch items must be atoms')
        words.push(i.value)
      }
    } else if (t.kind === 'atom') words.push(t.value)
    else throw new ImapSyntaxError('fetch items must be atoms')
  }
  if (words.length === 0) throw new ImapSyntaxError('missing fetch items')
  const items: FetchItem[] = []
  for (const w of words) {
    const upper = w.toUpperCase()
    if (MACROS[upper] && words.length === 1) items.push(...MACROS[upper].map((k) => ({ kind: k }) as FetchItem))
    else if (SIMPLE.has(upper)) items.push({ kind: upper } as FetchItem)
    else items.push(parseSectionItem(w))
  }
  return items
}

/** Whether fetching these items sets \Seen (RFC 3501 6.4.5: BODY[...] and RFC822 without PEEK). */
export function fetchSetsSeen(items: FetchItem[]): boolean {
  return items.some((i) => (i.kind === 'section' && !i.peek) || i.kind === 'RFC822' || i.kind === 'RFC822.TEXT')
}

function filterFields(header: Buffer, fields: string[], not: boolean): Buffer {
  const wanted = new Set(fields)
  const lines = header.toString('latin1').split('\r\n')
  const out: string[] = []
  let keep = false
  for (const line of lines) {
    if (line === '') break
    if (/^[ \t]/.test(line)) {
      if (keep) out.push(line)
      continue
    }
    const name = line.slice(0, line.indexOf(':')).trim().toUpperCase()
    keep = wanted.has(name) !== not
    if (keep) out.push(line)
  }
  return Buffer.from(out.map((l) => l + '\r\n').join('') + '\r\n', 'latin1')
}

function sectionBytes(raw: Buffer, item: Extract<FetchItem, { kind: 'section' }>): Buffer {
  const root = mimeOf(raw)
  const part = findPart(root, item.path)
  if (!part) return Buffer.alloc(0)
  // HEADER/TEXT under a part number address the message/rfc822 inside it (RFC 3501 6.4.5).
  const msg = item.path.length > 0 && item.spec !== 'MIME' && item.spec !== '' ? part.message : part
  switch (item.spec) {
    case '':
      return item.path.length === 0 ? toCrlf(raw) : part.body
    case 'MIME':
      return part.header
    case 'HEADER':
      return msg?.header ?? Buffer.alloc(0)
    case 'TEXT':
      return msg?.body ?? Buffer.alloc(0)
    case 'HEADER.FIELDS':
      return msg ? filterFields(msg.header, item.fields, false) : Buffer.alloc(0)
    case 'HEADER.FIELDS.NOT':
      return msg ? filterFields(msg.header, item.fields, true) : Buffer.alloc(0)
    default:
      return Buffer.alloc(0)
  }
}

function addressList(value: string | undefined): string | Buffer {
  const addrs = parseAddresses(value)
  if (addrs.length === 0) return 'NIL'
  return list(addrs.map((a) => list([istring(a.name), 'NIL', istring(a.mailbox), istring(a.host)])))
}

export function envelope(part: MimePart): Buffer {
  const h = (n: string) => headerValue(part.headers, n)
  const from = h('from')
  return list([
    istring(h('date')),
    istring(h('subject')),
    addressList(from),
    addressList(h('sender') ?? from),
    addressList(h('reply-to') ?? from),
    addressList(h('to')),
    addressList(h('cc')),
    addressList(h('bcc')),
    istring(h('in-reply-to')),
    istring(h('message-id')),
  ])
}

function paramList(params: [string, string][]): string | Buffer {
  return params.length === 0 ? 'NIL' : list(params.flatMap(([k, v]) => [istring(k.toUpperCase()), istring(v)]))
}

/** BODY (extensible = false) or BODYSTRUCTURE (true) of a part (RFC 3501 7.4.2). */
export function bodyStructure(part: MimePart, extensible: boolean): Buffer {
  const ct = part.contentType
  if (ct.type === 'multipart') {
    const children = part.children.length > 0 ? part.children.map((c) => bodyStructure(c, extensible)) : [bodyStructure(emptyPart(), extensible)]
    const parts: (string | Buffer)[] = [Buffer.concat(children), istring(ct.subtype.toUpperCase())]
    if (extensible) parts.push(paramList(ct.params), disposition(part), 'NIL', 'NIL')
    return Buffer.concat([Buffer.from('('), joinParts(parts), Buffer.from(')')])
  }
  const h = (n: string) => headerValue(part.headers, n)
  const encoding = (h('content-transfer-encoding') ?? '7BIT').toUpperCase()
  const fields: (string | Buffer)[] = [
    istring(ct.type.toUpperCase()),
    istring(ct.subtype.toUpperCase()),
    paramList(ct.params),
    istring(h('content-id')),
    istring(h('content-description')),
    istring(encoding),
    String(part.body.length),
  ]
  if (ct.type === 'message' && ct.subtype === 'rfc822' && part.message) {
    fields.push(envelope(part.message), bodyStructure(part.message, extensible), String(countLines(part.body)))
  } else if (ct.type === 'text') {
    fields.push(String(countLines(part.body)))
  }
  if (extensible) fields.push(istring(h('content-md5')), disposition(part), istring(h('content-language')), istring(h('content-location')))
  return list(fields)
}

function disposition(part: MimePart): string | Buffer {
  const value = headerValue(part.headers, 'content-disposition')
  if (!value) return 'NIL'
  const semi = value.indexOf(';')
  const kind = (semi < 0 ? value : value.slice(0, semi)).trim().toUpperCase()
  const params: [string, string][] = []
  const re = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g
  let m: RegExpExecArray | null
  while ((m = re.exec(value))) params.push([m[1].toLowerCase(), m[2].trim().replace(/^"(.*)"$/, '$1')])
  return list([istring(kind), paramList(params)])
}

/** RFC 3501 7.4.2: a multipart must list at least one part; a broken one gets an empty text part. */
function emptyPart(): MimePart {
  return { header: Buffer.alloc(0), body: Buffer.alloc(0), headers: [], contentType: { type: 'text', subtype: 'plain', params: [] }, children: [] }
}

/** Renders one FETCH data item as `NAME value`. */
export function renderItem(item: FetchItem, m: StoredMessage, flags: string[]): Buffer {
  const raw = m.raw
  switch (item.kind) {
    case 'FLAGS':
      return Buffer.from(`FLAGS (${flags.join(' ')})`)
    case 'UID':
      return Buffer.from(`UID ${m.uid}`)
    case 'RFC822.SIZE':
      return Buffer.from(`RFC822.SIZE ${toCrlf(raw).length}`)
    case 'INTERNALDATE':
      return Buffer.from(`INTERNALDATE ${imapDate(m.internalDate)}`)
    case 'ENVELOPE':
      return Buffer.concat([Buffer.from('ENVELOPE '), envelope(mimeOf(raw))])
    case 'BODYSTRUCTURE':
      return Buffer.concat([Buffer.from('BODYSTRUCTURE '), bodyStructure(mimeOf(raw), true)])
    case 'BODY':
      return Buffer.concat([Buffer.from('BODY '), bodyStructure(mimeOf(raw), false)])
    case 'RFC822':
      return literalItem('RFC822', toCrlf(raw))
    case 'RFC822.HEADER':
      return literalItem('RFC822.HEADER', mimeOf(raw).header)
    case 'RFC822.TEXT':
      return literalItem('RFC822.TEXT', mimeOf(raw).body)
    case 'section': {
      let bytes = sectionBytes(raw, item)
      let name = 'BODY[' + [item.path.join('.'), item.spec].filter(Boolean).join('.')
      if (item.fields.length > 0) name += ` (${item.fields.join(' ')})`
      name += ']'
      if (item.partial) {
        // RFC 3501 6.4.5: the reply names only the origin octet: BODY[]<0>.
        bytes = bytes.subarray(item.partial.start, item.partial.start + item.partial.length)
        name += `<${item.partial.start}>`
      }
      return literalItem(name, bytes)
    }
  }
}

function literalItem(name: string, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${name} {${bytes.length}}\r\n`), bytes])
}

/** Parses the header of raw message bytes (for SEARCH HEADER/FROM/...). */
export function messageHeaders(m: StoredMessage): [string, string][] {
  return parseHeaders(mimeOf(m.raw).header)
}
