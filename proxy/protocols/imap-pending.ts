// IMAP commands awaiting their tagged completion, in the order they were sent. A tag the
// client reuses while it is still pending (RFC 9051 2.2.1 forbids it, pasted sessions do it)
// queues behind the earlier command: completions with that tag pair in order, per tag.

export interface Pending {
  tag: string
  verb: string
  ref: number
  at: number
  mechanism?: string
}

export class PendingCommands {
  /** Every pending command by ref; a Map keeps the send order. */
  private readonly byRef = new Map<number, Pending>()
  /** Per tag, the pending commands oldest first (`head` skips those already answered). */
  private readonly byTag = new Map<string, { items: Pending[]; head: number }>()

  get size(): number {
    return this.byRef.size
  }

  has(tag: string): boolean {
    return this.byTag.has(tag)
  }

  add(p: Pending): void {
    this.byRef.set(p.ref, p)
    const q = this.byTag.get(p.tag)
    if (q) q.items.push(p)
    else this.byTag.set(p.tag, { items: [p], head: 0 })
  }

  /** The oldest pending command with this tag, removed: the one a completion answers. */
  take(tag: string): Pending | undefined {
    const q = this.byTag.get(tag)
    if (!q) return undefined
    const p = q.items[q.head++]
    if (q.head >= q.items.length) this.byTag.delete(tag)
    else if (q.head > 64 && q.head * 2 > q.items.length) {
      // Compact now and then so a long run of one reused tag stays linear.
      q.items = q.items.slice(q.head)
      q.head = 0
    }
    this.byRef.delete(p.ref)
    return p
  }

  /** Forgets the oldest command of all (the head of its tag's queue). */
  dropOldest(): void {
    const first = this.byRef.values().next()
    if (!first.done) this.take(first.value.tag)
  }

  /** Pending commands in send order. */
  values(): IterableIterator<Pending> {
    return this.byRef.values()
  }

  /** Tags of the pending commands in send order (a reused tag shows once per command). */
  tags(): string[] {
    return [...this.byRef.values()].map((p) => p.tag)
  }

  clear(): void {
    this.byRef.clear()
    this.byTag.clear()
  }
}
