// Groups a session's events into exchanges: a command with everything the server said
// in answer to it (untagged data, continuations, the final reply). The transcript bands
// rows by exchange; the sequence diagram and playback step through exchanges.
import type { SessionEvent } from '../../../shared/schema.ts'

export interface Exchange {
  index: number
  kind: 'greeting' | 'command' | 'tls' | 'other'
  command?: SessionEvent
  /** The reply that answered the command (its replyTo points at it). */
  final?: SessionEvent
  /** Everything in the exchange, in seq order. */
  events: SessionEvent[]
  latencyMs?: number
  pipelined: boolean
  failed: boolean
  firstSeq: number
  lastSeq: number
  startAt: number
  endAt: number
}

export interface Row {
  event: SessionEvent
  /** Index into exchanges, or -1 for events outside any exchange (lifecycle). */
  exchange: number
  first: boolean
  /** Milliseconds since the previous event. */
  delayMs: number
}

export interface Grouped {
  rows: Row[]
  exchanges: Exchange[]
}

function isFailure(e: SessionEvent): boolean {
  if (e.notes?.some((n) => n.level === 'error')) return true
  const it = e.item
  if (!it) return false
  if (it.kind === 'reply') return it.status === 'error' || it.status === 'temp-error'
  if (it.kind === 'auth') return it.outcome === 'failure'
  if (it.kind === 'tls') return it.phase === 'failed'
  return false
}

export function groupEvents(events: readonly SessionEvent[]): Grouped {
  const exchanges: Exchange[] = []
  const rows: Row[] = new Array(events.length)
  const byCommandSeq = new Map<number, Exchange>()
  const open: Exchange[] = []
  let lastClient: Exchange | undefined
  let greeting: Exchange | undefined
  let prevAt = events.length ? events[0].at : 0

  const start = (kind: Exchange['kind'], e: SessionEvent): Exchange => {
    const x: Exchange = {
      index: exchanges.length,
      kind,
      events: [],
      pipelined: false,
      failed: false,
      firstSeq: e.seq,
      lastSeq: e.seq,
      startAt: e.at,
      endAt: e.at,
    }
    exchanges.push(x)
    return x
  }

  for (let i = 0; i < events.length; i++) {
    const e = events[i]
    const it = e.item
    let x: Exchange | undefined
    if (e.from === 'client') {
      if (it?.kind === 'command') {
        x = start('command', e)
        x.command = e
        x.pipelined = Boolean(it.pipelined)
        byCommandSeq.set(e.seq, x)
        open.push(x)
        lastClient = x
      } else if (it?.kind === 'auth' && it.attempt !== undefined && byCommandSeq.has(it.attempt)) {
        x = byCommandSeq.get(it.attempt)
      } else {
        x = lastClient ?? start('other', e)
      }
    } else if (e.from === 'server') {
      const replyTo = it && (it.kind === 'reply' || it.kind === 'continuation') ? it.replyTo : undefined
      if (replyTo !== undefined && byCommandSeq.has(replyTo)) {
        x = byCommandSeq.get(replyTo)!
      } else if (it?.kind === 'auth' && it.attempt !== undefined && byCommandSeq.has(it.attempt)) {
        x = byCommandSeq.get(it.attempt)
      } else if (open.length) {
        x = open[0]
      } else if (!lastClient) {
        // Before the first command: the greeting (and, for IMAP, its untagged lines).
        x = greeting ??= start('greeting', e)
      } else {
        x = exchanges[exchanges.length - 1]
      }
      if (it?.kind === 'reply' && x) {
        if (!x.final) {
          x.final = e
          if (it.latencyMs !== undefined) x.latencyMs = it.latencyMs
          else if (x.command) x.latencyMs = e.at - x.command.at
        }
        const k = open.indexOf(x)
        if (k >= 0) open.splice(k, 1)
      }
    } else if (it?.kind === 'tls' && it.phase !== 'go-ahead') {
      // The upgrade is a band across the lanes: one exchange per TLS fact.
      x = start('tls', e)
    }
    if (x) {
      x.events.push(e)
      x.lastSeq = e.seq
      x.endAt = e.at
      if (isFailure(e)) x.failed = true
    }
    rows[i] = { event: e, exchange: x ? x.index : -1, first: x ? x.firstSeq === e.seq : false, delayMs: Math.max(0, e.at - prevAt) }
    prevAt = e.at
  }
  return { rows, exchanges }
}
