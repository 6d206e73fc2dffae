// A light MIME structure parser for the lab's IMAP FETCH: byte-exact header/body slices per
// part (BODY[1.MIME], BODY[2]), ENVELOPE and BODYSTRUCTURE (RFC 3501 7.4.2). It only needs
// to be right for mail the lab holds (seeded messages, what clients send), not every MIME
// edge case; mailparser is used elsewhere for rendering, but does not give byte offsets.
import { toCrlf } from '../conn.ts'

export interface ContentType {
  type: string
  subtype: string
  params: [string, string][]
}

export interface MimePart {
  /** The header block including its terminating empty line (may be empty). */
  header: Buffer
  body: Buffer
  headers: [string, string][]
  contentType: ContentType
  /** multipart/*: the parts, numbered from 1. */
  children: MimePart[]
  /** message/rfc822: the encapsulated message. */
  message?: MimePart
}

/** Unfolded `Name: value` pairs; lines without a colon are ignored. */
export function parseHeaders(header: Buffer): [string, string][] {
  const text = header.toString('utf8').replace(/\r\n([ \t])/g, '$1')
  const out: [string, string][] = []
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()])
  }
  return out
}

export function headerValue(headers: [string, string][], name: string): string | undefined {
  const lower = name.toLowerCase()
  return headers.find(([n]) => n.toLowerCase() === lower)?.[1]
}

/** `type/subtype; a=b; c="d e"` to its parts (parameter names lowercased, values unquoted). */
export function parseParams(value: string): { value: string; params: [string, string][] } {
  const params: [string, string][] = []
  const re = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g
  const semi = value.indexOf(';')
  const main = (semi < 0 ? value : value.slice(0, semi)).trim()
  if (semi >= 0) {
    let m: RegExpExecArray | null
    const rest = value.slice(semi)
    while ((m = re.exec(rest))) {
      let v = m[2].trim()
      if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1')
      params.push([m[1].toLowerCase(), v])
    }
  }
  return { value: main, params }
}

function parseContentType(value: string | undefined, fallback: string): ContentType {
  const { value: main, params } = parseParams(value ?? fallback)
  const [type, subtype] = main.toLowerCase().split('/')
  if (!type || !subtype) return parseContentType(undefined, 'text/plain; charset=us-ascii')
  return { type, subtype, params }
}

function splitHeaderBody(raw: Buffer): { header: Buffer; body: Buffer } {
  if (raw.subarray(0, 2).toString() === '\r\n') return { header: raw.subarray(0, 2), body: raw.subarray(2) }
  const end = raw.indexOf('\r\n\r\n')
  // No empty line: the whole thing is header (RFC 5322 allows a message with no body).
  if (end < 0) return { header: raw, body: Buffer.alloc(0) }
  return { header: raw.subarray(0, end + 4), body: raw.subarray(end + 4) }
}

/** RFC 2046 5.1.1: parts sit between `--boundary` lines; the CRLF before a delimiter belongs to it. */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: Buffer[] = []
  let start = -1
  let pos = 0
  while (pos <= body.length) {
    const at = body.indexOf(delimiter, pos)
    if (at < 0) break
    const atLineStart = at === 0 || (at >= 2 && body[at - 2] === 0x0d && body[at - 1] === 0x0a)
    if (!atLineStart) {
      pos = at + 1
      continue
    }
    if (start >= 0) parts.push(body.subarray(start, Math.max(start, at - 2)))
    const after = at + delimiter.length
    if (body.subarray(after, after + 2).toString() === '--') return parts
    const eol = body.indexOf('\r\n', after)
    if (eol < 0) return parts
    start = eol + 2
    pos = start
  }
  if (start >= 0) parts.push(body.subarray(start))
  return parts
}

export function parseMime(raw: Buffer, defaultType = 'text/plain; charset=us-ascii', depth = 0): MimePart {
  const { header, body } = splitHeaderBody(raw)
  const headers = parseHeaders(header)
  const contentType = parseContentType(headerValue(headers, 'content-type'), defaultType)
  const part: MimePart = { header, body, headers, contentType, children: [] }
  // Depth limit: hostile nesting must not blow the stack.
  if (depth > 20) return part
  if (contentType.type === 'multipart') {
    const boundary = contentType.params.find(([k]) => k === 'boundary')?.[1]
    const childDefault = contentType.subtype === 'digest' ? 'message/rfc822' : 'text/plain; charset=us-ascii'
    if (boundary) part.children = splitMultipart(body, boundary).map((b) => parseMime(b, childDefault, depth + 1))
  } else if (contentType.type === 'message' && contentType.subtype === 'rfc822') {
    part.message = parseMime(body, undefined, depth + 1)
  }
  return part
}

const parsed = new WeakMap<Buffer, MimePart>()
/** Parses (once per stored Buffer) a message normalised to CRLF. */
export function mimeOf(raw: Buffer): MimePart {
  let p = parsed.get(raw)
  if (!p) parsed.set(raw, (p = parseMime(toCrlf(raw))))
  return p
}

/** The part a section path (`1.2`) names, per RFC 3501 6.4.5; undefined if there is none. */
export function findPart(root: MimePart, path: number[]): MimePart | undefined {
  let part: MimePart | undefined = root
  for (const n of path) {
    if (!part) return undefined
    if (part.message) part = part.message
    if (part.children.length > 0) part = part.children[n - 1]
    else if (n !== 1) return undefined
  }
  return part
}

export function countLines(body: Buffer): number {
  let n = 0
  for (let i = 0; i < body.length; i++) if (body[i] === 0x0a) n++
  if (body.length > 0 && body[body.length - 1] !== 0x0a) n++
  return n
}

/** RFC 2047 encoded words to text, for SEARCH. Unknown charsets fall back to latin1. */
export function decodeWords(text: string): string {
  return text.replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=(\s+(?==\?))?/g, (_all, charset: string, enc: string, data: string) => {
    const bytes =
      enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1')
    try {
      return new TextDecoder(charset.split('*')[0].toLowerCase()).decode(bytes)
    } catch {
      return bytes.toString('latin1')
    }
  })
}

export interface Address {
  name?: string
  mailbox: string
  host?: string
}

/** A small RFC 5322 address-list parser: `"Name" <a@b>, c@d, Name <e@f>`. Groups flatten. */
export function parseAddresses(value: string | undefined): Address[] {
  if (!value) return []
  const items: string[] = []
  let cur = ''
  let quoted = false
  let angle = false
  for (const ch of value) {
    if (ch === '"' && !angle) quoted = !quoted
    if (!quoted && ch === '<') angle = true
    if (!quoted && ch === '>') angle = false
    if (!quoted && !angle && (ch === ',' || ch === ';')) {
      items.push(cur)
      cur = ''
      continue
    }
    cur += ch
  }
  items.push(cur)
  const out: Address[] = []
  for (let item of items) {
    item = item.replace(/^[^"<]*:/, '').trim() // group name
    if (!item) continue
    const m = /^(.*?)\s*<([^>]*)>\s*$/.exec(item)
    let name: string | undefined
    let addr: string
    if (m) {
      name = m[1].trim().replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1') || undefined
      addr = m[2].trim()
    } else {
      addr = item.replace(/\(.*?\)/g, '').trim()
    }
    const at = addr.lastIndexOf('@')
    out.push(at < 0 ? { name, mailbox: addr } : { name, mailbox: addr.slice(0, at), host: addr.slice(at + 1) })
  }
  return out
}
