// Normalisation for the replay diff: the parts of a server's answer that change on every
// run (dates, queue ids, session ids and challenges, UIDVALIDITY, UIDs, IMAP tags, timings)
// are replaced by placeholders before recorded and replayed responses are compared.
// Callers may add their own rules; each names itself so a diff can say what it hid.
import type { Protocol } from '../../shared/schema.ts'

export interface NormaliseRule {
  /** Stable name, shown in the diff legend: 'date', 'queue-id'... */
  name: string
  /** Only for these protocols (default: all). */
  protocols?: Protocol[]
  /** Only in responses to these verbs (upper case, 'UIDL', 'UID FETCH'). */
  verbs?: string[]
  /** Applied to the whole response text (lines joined with '\n'); use the g flag. */
  pattern: RegExp
  replace: string | ((match: string, ...groups: string[]) => string)
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const MON = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'

export const DEFAULT_RULES: readonly NormaliseRule[] = [
  {
    // RFC 5322 3.3 date-time, as in Received:, Date: and Postfix/Dovecot banners.
    name: 'date',
    pattern: new RegExp(`(?:${DAY},?\\s+)?\\d{1,2}\\s+${MON}\\s+\\d{4}\\s+\\d{1,2}:\\d{2}(?::\\d{2})?(?:\\s+[+-]\\d{4})?(?:\\s+\\([A-Za-z ]+\\))?`, 'g'),
    replace: '<date>',
  },
  {
    // IMAP INTERNALDATE (RFC 3501 date-time).
    name: 'date',
    protocols: ['imap'],
    pattern: new RegExp(`"\\s?\\d{1,2}-${MON}-\\d{4} \\d{2}:\\d{2}:\\d{2} [+-]\\d{4}"`, 'g'),
    replace: '"<date>"',
  },
  {
    name: 'date',
    pattern: /\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g,
    replace: '<date>',
  },
  {
    // Postfix: "250 2.0.0 Ok: queued as 4BmZ3x1QxWz9sWR"; Received: "... with ESMTP id ...".
    name: 'queue-id',
    pattern: /\b(queued as|with (?:E?SMTP|LMTP)[A-Z]* id|\bid) [0-9A-Za-z+/.=_-]{5,}/g,
    replace: '$1 <queue-id>',
  },
  {
    // A greeting's session id / APOP timestamp: <2a2d.7f.6b07f881.WZap...==@vm>.
    name: 'session-id',
    pattern: /^(\+OK\b.*?)<[^<>\s]*[.][^<>\s]*@[^<>\s]+>/gm,
    replace: '$1<session-id>',
  },
  {
    // SASL challenges (CRAM-MD5's <random.time@host>, SCRAM's nonce) change every time.
    name: 'session-id',
    pattern: /^(334|\+) [A-Za-z0-9+/]{16,}={0,2}$/gm,
    replace: '$1 <challenge>',
  },
  {
    // Dovecot reports how long a command took: "(0.001 + 0.000 + 0.001 secs)".
    name: 'timing',
    pattern: /\(\d+\.\d+(?: \+ \d+\.\d+)* secs\)/g,
    replace: '(<timing>)',
  },
  {
    name: 'uidvalidity',
    protocols: ['imap'],
    pattern: /\b(UIDVALIDITY|HIGHESTMODSEQ|UIDNEXT) \d+/gi,
    replace: '$1 <n>',
  },
  {
    name: 'uid',
    protocols: ['imap'],
    pattern: /\b(APPENDUID|COPYUID) \d+ [\d:,*]+(?: [\d:,*]+)?/gi,
    replace: '$1 <uid>',
  },
  {
    name: 'uid',
    protocols: ['imap'],
    pattern: /\b(UID|MODSEQ) (\(?)\d+/g,
    replace: '$1 $2<uid>',
  },
  {
    // Dovecot's POP3 UIDs embed the mailbox's UIDVALIDITY.
    name: 'uid',
    protocols: ['pop3'],
    verbs: ['UIDL'],
    pattern: /^(\+OK )?(\d+) \S+$/gm,
    replace: '$1$2 <uid>',
  },
  {
    // IMAP tags: the replay may renumber them; the tagged line keeps its status.
    name: 'tag',
    protocols: ['imap'],
    pattern: /^(?![*+] )[^\s*+][^\s]*(?= (?:OK|NO|BAD|BYE|PREAUTH)\b)/gm,
    replace: '<tag>',
  },
]

/** The response text with every matching rule applied. */
export function normalise(text: string, ctx: { protocol: Protocol; verb?: string }, rules: readonly NormaliseRule[] = DEFAULT_RULES): string {
  let out = text
  for (const r of rules) {
    if (r.protocols && !r.protocols.includes(ctx.protocol)) continue
    if (r.verbs && (!ctx.verb || !r.verbs.includes(ctx.verb))) continue
    const re = r.pattern.global ? r.pattern : new RegExp(r.pattern.source, r.pattern.flags + 'g')
    re.lastIndex = 0
    out = typeof r.replace === 'string' ? out.replace(re, r.replace) : out.replace(re, r.replace as (m: string, ...g: string[]) => string)
  }
  return out
}

/**
 * A rule from the command line or the API: 'NAME=/REGEX/FLAGS=>REPLACEMENT', or just
 * '/REGEX/' (replaced by '<NAME>' or '<custom>').
 */
export function parseRule(spec: string): NormaliseRule {
  const m = /^(?:([\w-]+)=)?\/(.+)\/([a-z]*)(?:=>(.*))?$/s.exec(spec.trim())
  if (!m) throw new Error(`bad normalisation rule '${spec}': expected NAME=/REGEX/FLAGS=>REPLACEMENT`)
  const name = m[1] ?? 'custom'
  const flags = m[3]!.includes('g') ? m[3]! : m[3]! + 'g'
  let pattern: RegExp
  try {
    pattern = new RegExp(m[2]!, flags)
  } catch (err) {
    throw new Error(`bad normalisation rule '${spec}': ${(err as Error).message}`)
  }
  return { name, pattern, replace: m[4] ?? `<${name}>` }
}
