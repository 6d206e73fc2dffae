// Rebuilds the order in which the two sides' bytes crossed the proxy from the events'
// raw references: the capture keeps each side as one stream, the events say when each
// stretch of it was decoded. Exports (txt, pcapng) and json imports replay this order.
import type { SessionEvent, Side } from '../../shared/schema.ts'

export interface Segment {
  side: Side
  /** [start, end) in that side's stream. */
  start: number
  end: number
  at: number
  /** The event that closed the segment; Infinity for the uncovered tail. */
  seq: number
}

/**
 * Each event with a raw reference closes a segment of its side up to the end of that
 * reference. Bytes no event covers (a trailing partial line) come last, at `endAt`.
 */
export function segmentsFromEvents(
  events: readonly SessionEvent[],
  lengths: Record<Side, number>,
  endAt: number,
): Segment[] {
  const cursor: Record<Side, number> = { client: 0, server: 0 }
  const out: Segment[] = []
  let lastAt = -Infinity
  for (const ev of events) {
    if (Number.isFinite(ev.at)) lastAt = Math.max(lastAt, ev.at)
    const raw = ev.raw
    if (!raw) continue
    const end = Math.min(raw.offset + raw.length, lengths[raw.side])
    if (end <= cursor[raw.side]) continue
    out.push({ side: raw.side, start: cursor[raw.side], end, at: ev.at, seq: ev.seq })
    cursor[raw.side] = end
  }
  const tailAt = Number.isFinite(lastAt) ? Math.max(lastAt, endAt) : endAt
  for (const side of ['client', 'server'] as const) {
    if (cursor[side] < lengths[side]) out.push({ side, start: cursor[side], end: lengths[side], at: tailAt, seq: Infinity })
  }
  return out
}
