// SEARCH criteria for the lab's IMAP server (RFC 3501 6.4.4): flags, header and text
// matching (case-insensitive, on decoded headers), dates, sizes, sequence and UID sets,
// NOT / OR / parenthesised groups.
import { toCrlf } from '../conn.ts'
import type { StoredMessage } from '../mail-store.ts'
import { messageHeaders } from './fetch.ts'
import { decodeWords, headerValue, mimeOf } from './mime.ts'
import { ImapSyntaxError, parseImapDate, parseSequenceSet, text, type Token } from './syntax.ts'

export interface SearchTarget {
  m: StoredMessage
  seq: number
  flags: string[]
}

export interface SearchContext {
  count: number
  maxUid: number
}

type Predicate = (t: SearchTarget) => boolean

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  RECENT: ['\\Recent', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
  OLD: ['\\Recent', false],
}

function has(t: SearchTarget, flag: string): boolean {
  return t.flags.some((f) => f.toLowerCase() === flag.toLowerCase())
}

function headerContains(t: SearchTarget, name: string, needle: string): boolean {
  const lower = needle.toLowerCase()
  return messageHeaders(t.m).some(([n, v]) => n.toLowerCase() === name.toLowerCase() && decodeWords(v).toLowerCase().includes(lower))
}

function bodyText(m: StoredMessage): string {
  // A plain substring search over the undecoded body: enough for lab lessons.
  return mimeOf(m.raw).body.toString('utf8').toLowerCase()
}

function dayOf(ms: number): number {
  const d = new Date(ms)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
}

function sentDate(m: StoredMessage): number | undefined {
  const v = headerValue(messageHeaders(m), 'date')
  const ms = v ? Date.parse(v) : NaN
  return Number.isNaN(ms) ? undefined : ms
}

/** Compiles criteria tokens into one predicate (all keys ANDed). */
export function compileSearch(tokens: Token[], ctx: SearchContext): Predicate {
  let i = 0
  // RFC 3501 6.4.4: an optional CHARSET comes first; only UTF-8 and US-ASCII here.
  if (tokens[0]?.kind === 'atom' && tokens[0].value.toUpperCase() === 'CHARSET') {
    const cs = text(tokens[1], 'charset').toUpperCase()
    if (cs !== 'UTF-8' && cs !== 'US-ASCII') throw new ImapSyntaxError(`[BADCHARSET (UTF-8 US-ASCII)] unsupported charset ${cs}`)
    i = 2
  }
  const take = (what: string): Token => {
    const t = tokens[i++]
    if (!t) throw new ImapSyntaxError(`missing ${what}`)
    return t
  }
  const key = (): Predicate => {
    const t = take('search key')
    if (t.kind === 'list') return compileSearch(t.items, ctx)
    if (t.kind === 'string') throw new ImapSyntaxError('unexpected string in search')
    const word = t.value.toUpperCase()
    if (FLAG_KEYS[word]) {
      const [flag, want] = FLAG_KEYS[word]
      return (x) => has(x, flag) === want
    }
    switch (word) {
      case 'ALL':
        return () => true
      case 'NEW':
        return (x) => has(x, '\\Recent') && !has(x, '\\Seen')
      case 'KEYWORD': {
        const flag = text(take('keyword'), 'keyword')
        return (x) => has(x, flag)
      }
      case 'UNKEYWORD': {
        const flag = text(take('keyword'), 'keyword')
        return (x) => !has(x, flag)
      }
      case 'FROM':
      case 'TO':
      case 'CC':
      case 'BCC':
      case 'SUBJECT': {
        const needle = text(take('string'), word)
        return (x) => headerContains(x, word, needle)
      }
      case 'HEADER': {
        const name = text(take('field name'), 'field name')
        const needle = text(take('string'), 'string')
        return (x) => headerContains(x, name, needle)
      }
      case 'BODY': {
        const needle = text(take('string'), 'BODY').toLowerCase()
        return (x) => bodyText(x.m).includes(needle)
      }
      case 'TEXT': {
        const needle = text(take('string'), 'TEXT').toLowerCase()
        return (x) => bodyText(x.m).includes(needle) || messageHeaders(x.m).some(([, v]) => decodeWords(v).toLowerCase().includes(needle))
      }
      case 'BEFORE':
      case 'ON':
      case 'SINCE':
      case 'SENTBEFORE':
      case 'SENTON':
      case 'SENTSINCE': {
        const raw = text(take('date'), word)
        const day = parseImapDate(raw)
        if (day === undefined) throw new ImapSyntaxError(`bad date ${raw}`)
        const sent = word.startsWith('SENT')
        const op = word.replace('SENT', '')
        return (x) => {
          const ms = sent ? sentDate(x.m) : x.m.internalDate
          if (ms === undefined) return false
          const d = dayOf(ms)
          return op === 'BEFORE' ? d < day : op === 'ON' ? d === day : d >= day
        }
      }
      case 'LARGER':
      case 'SMALLER': {
        const n = Number(text(take('number'), word))
        if (!Number.isInteger(n)) throw new ImapSyntaxError(`${word} needs a number`)
        return (x) => (word === 'LARGER' ? toCrlf(x.m.raw).length > n : toCrlf(x.m.raw).length < n)
      }
      case 'UID': {
        const inSet = parseSequenceSet(text(take('uid set'), 'UID'), ctx.maxUid)
        return (x) => inSet(x.m.uid)
      }
      case 'NOT': {
        const inner = key()
        return (x) => !inner(x)
      }
      case 'OR': {
        const a = key()
        const b = key()
        return (x) => a(x) || b(x)
      }
      default: {
        if (/^[\d*:,]+$/.test(word)) {
          const inSet = parseSequenceSet(word, ctx.count)
          return (x) => inSet(x.seq)
        }
        throw new ImapSyntaxError(`unknown search key ${word}`)
      }
    }
  }
  const preds: Predicate[] = []
  while (i < tokens.length) preds.push(key())
  if (preds.length === 0) throw new ImapSyntaxError('missing search criteria')
  return (x) => preds.every((p) => p(x))
}
