// The events of one open session, indexed by seq. Socket and REST deliver overlapping
// ranges (by design, to leave no gaps); an event already held is ignored.
import type { SessionEvent } from '../../../shared/schema.ts'

export class EventLog {
  /** events[i] has seq i + 1 once loaded; holes are undefined. */
  private readonly bySeq: (SessionEvent | undefined)[] = []
  /** The highest seq such that every event up to it is held. */
  contiguous = 0
  version = 0
  /** Revealed secrets, by seq (fetched on demand with secrets=show). */
  readonly revealed = new Map<number, SessionEvent>()

  get size(): number {
    return this.contiguous
  }

  get highest(): number {
    return this.bySeq.length
  }

  /** Adds events; returns true when something new was stored. */
  add(events: readonly SessionEvent[]): boolean {
    let changed = false
    for (const e of events) {
      if (!(e.seq >= 1) || this.bySeq[e.seq - 1]) continue
      this.bySeq[e.seq - 1] = e
      changed = true
    }
    if (!changed) return false
    while (this.contiguous < this.bySeq.length && this.bySeq[this.contiguous]) this.contiguous++
    this.version++
    return true
  }

  /** True when an event beyond a hole arrived: the caller refetches after `contiguous`. */
  hasGap(): boolean {
    return this.bySeq.length > this.contiguous
  }

  get(seq: number): SessionEvent | undefined {
    return this.bySeq[seq - 1]
  }

  /** The contiguous prefix, in order. */
  list(): SessionEvent[] {
    return this.bySeq.slice(0, this.contiguous) as SessionEvent[]
  }

  reveal(e: SessionEvent): void {
    this.revealed.set(e.seq, e)
    this.version++
  }
}
