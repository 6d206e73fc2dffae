// The replay's verdict: each exchange's recorded response against the replayed one, both
// normalised (normalise.ts), and a side-by-side rendering for the terminal.
import type { Note, Protocol } from '../../shared/schema.ts'
import type { ClientUnit, ServerResponse } from './framing.ts'
import { DEFAULT_RULES, normalise, type NormaliseRule } from './normalise.ts'

/** Lines kept per side in a row; the comparison always uses the whole response. */
export const MAX_ROW_LINES = 40

export interface DiffRow {
  /** Exchange number: 0 is the greeting, then one per client unit. */
  n: number
  /** What the client sent, secrets masked: 'MAIL FROM:<a@b>', 'PASS •••', '(message, 120 bytes)'. */
  command: string
  recorded: string[]
  replayed: string[]
  /** Equal once normalised. */
  equal: boolean
  /** One side has no response at all. */
  missing?: 'recorded' | 'replayed'
  /** The command names messages by number, which depends on the mailbox's state. */
  stateDependent?: boolean
  notes?: Note[]
}

export interface ReplayResult {
  verdict: 'equivalent' | 'diverged'
  /** The first exchange that differs. */
  divergedAt?: number
  exchanges: DiffRow[]
  replaySessionId: string
  notes: Note[]
}

/** Masks what must not be shown (passwords, SASL lines) in a unit's command line. */
export function showUnit(u: ClientUnit, protocol: Protocol): string {
  const text = u.bytes.toString('utf8').replace(/\r?\n$/, '')
  switch (u.kind) {
    case 'sasl':
      return text === '*' ? '* (cancel)' : `(${u.mechanism ?? 'SASL'} response •••)`
    case 'data':
      return u.verb === 'BDAT' ? `${text.split(/\r?\n/)[0]} (${u.bytes.length} bytes)` : `(message, ${u.bytes.length} bytes)`
    case 'line':
      return text
    case 'command':
      break
  }
  const first = text.split(/\r?\n/)[0]!
  const verb = u.verb ?? ''
  if (verb === 'PASS') return 'PASS •••'
  if (verb === 'APOP') return first.replace(/^(\S+\s+\S+)\s+.*$/, '$1 •••')
  if (verb === 'AUTH' || verb === 'AUTHENTICATE') return u.initialResponse ? first.replace(/\S+$/, '•••') : first
  if (protocol === 'imap' && verb === 'LOGIN') return first.replace(/^(\S+\s+\S+\s+("(?:[^"\\]|\\.)*"|\{\d+\+?\}|\S+)).*$/, '$1 •••')
  return u.bytes.length > first.length + 2 ? `${first} (+${u.bytes.length - first.length - 2} bytes)` : first
}

function clip(lines: string[]): string[] {
  if (lines.length <= MAX_ROW_LINES) return lines
  return [...lines.slice(0, MAX_ROW_LINES - 1), `… ${lines.length - MAX_ROW_LINES + 1} more lines`]
}

/** Compares one exchange. */
export function compareRow(
  n: number,
  command: string,
  protocol: Protocol,
  verb: string | undefined,
  recorded: ServerResponse | undefined,
  replayed: ServerResponse | undefined,
  rules: readonly NormaliseRule[] = DEFAULT_RULES,
): DiffRow {
  const a = recorded?.lines ?? []
  const b = replayed?.lines ?? []
  const row: DiffRow = { n, command, recorded: clip(a), replayed: clip(b), equal: false }
  if (!recorded && !replayed) row.equal = true
  else if (!recorded) row.missing = 'recorded'
  else if (!replayed) row.missing = 'replayed'
  else row.equal = normalise(a.join('\n'), { protocol, verb }, rules) === normalise(b.join('\n'), { protocol, verb }, rules)
  return row
}

export function verdictOf(rows: DiffRow[]): Pick<ReplayResult, 'verdict' | 'divergedAt'> {
  // An exchange the recording never answered (a hand-written transcript) cannot diverge.
  const first = rows.find((r) => !r.equal && r.missing !== 'recorded')
  return first ? { verdict: 'diverged', divergedAt: first.n } : { verdict: 'equivalent' }
}

function cut(s: string, width: number): string {
  const chars = [...s]
  if (chars.length <= width) return s + ' '.repeat(width - chars.length)
  return chars.slice(0, width - 1).join('') + '…'
}

/**
 * Side by side, one row per response line: the client's command, the recorded response
 * and the replayed one, with '=' (same once normalised), '≠' (different) or '!' (missing).
 * Equal exchanges show their first line only.
 */
export function formatDiff(result: ReplayResult, opts: { width?: number; original?: string } = {}): string {
  const width = Math.max(80, opts.width ?? 160)
  const numW = 4
  const cmdW = Math.min(32, Math.floor(width * 0.22))
  const colW = Math.floor((width - numW - cmdW - 6) / 2)
  const out: string[] = []
  const title =
    result.verdict === 'equivalent'
      ? 'equivalent: every response matches once normalised'
      : `diverged at exchange ${result.divergedAt}`
  out.push(`replay ${result.replaySessionId}${opts.original ? ` of ${opts.original}` : ''}: ${title}`)
  out.push('')
  out.push(`${'#'.padStart(numW - 1)}  ${cut('client', cmdW)} ${cut('recorded', colW)}   ${cut('replayed', colW)}`)
  out.push('─'.repeat(Math.min(width, numW + cmdW + colW * 2 + 6)))
  for (const r of result.exchanges) {
    const mark = r.equal ? '=' : r.missing ? '!' : '≠'
    const rec = r.missing === 'recorded' ? ['(no recorded response)'] : r.recorded
    const rep = r.missing === 'replayed' ? ['(no response)'] : r.replayed
    const lines = r.equal ? 1 : Math.max(rec.length, rep.length, 1)
    for (let i = 0; i < lines; i++) {
      const num = i === 0 ? String(r.n).padStart(numW - 1) : ' '.repeat(numW - 1)
      const cmd = i === 0 ? r.command + (r.stateDependent ? ' ⚑' : '') : ''
      let left = rec[i] ?? ''
      let right = rep[i] ?? ''
      if (r.equal && i === 0 && rec.length > 1) {
        left += ` (+${rec.length - 1} lines)`
        right += ` (+${rep.length - 1} lines)`
      }
      const m = i === 0 ? mark : r.equal ? ' ' : (rec[i] ?? '') === (rep[i] ?? '') ? ' ' : '|'
      out.push(`${num}  ${cut(cmd, cmdW)} ${cut(left, colW)} ${m} ${cut(right, colW)}`.trimEnd())
    }
    for (const n of r.notes ?? []) out.push(`${' '.repeat(numW + 1)} ${n.level}: ${n.text}`)
  }
  if (result.exchanges.some((r) => r.stateDependent)) {
    out.push('')
    out.push('⚑ names messages by number: the answer depends on the mailbox state at replay time')
  }
  if (result.notes.length) {
    out.push('')
    for (const n of result.notes) out.push(`${n.level}: ${n.text}${n.hint ? ` (${n.hint})` : ''}`)
  }
  out.push('')
  out.push('normalised: dates, queue ids, session ids and challenges, UIDVALIDITY, UIDs, IMAP tags, timings')
  return out.join('\n') + '\n'
}
