// Keeps the dashboard's state in step with mailtap: the socket is opened first, then the
// REST snapshot is loaded while socket messages queue; the queue is applied after the
// snapshot lands. Reducers ignore what they already hold, so overlaps are harmless, and a
// reconnect resubscribes with afterSeq and refetches from the last contiguous seq.
import { useSyncExternalStore } from 'react'
import { assertNever, type Session, type SessionEvent } from '../../../shared/schema.ts'
import type { ServerMessage } from '../../../shared/wire.ts'
import { EventLog } from '../state/events.ts'
import { emptyFilters, hasFilters, SessionTable, type SessionFilters } from '../state/sessions.ts'
import { getSession, listSessions } from './api.ts'
import { LiveSocket, type ConnState } from './socket.ts'

const LIST_LIMIT = 1000
/** A small first page paints quickly; the rest of a long session follows in big pages. */
const FIRST_PAGE_EVENTS = 500
const PAGE_EVENTS = 10_000

/** A tiny observable: a version number, bumped at most once per animation frame. */
class Observable {
  version = 0
  private readonly listeners = new Set<() => void>()
  private pending = false

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  getVersion = (): number => this.version

  notify(): void {
    if (this.pending) return
    this.pending = true
    const run = () => {
      this.pending = false
      this.version++
      for (const fn of this.listeners) fn()
    }
    if (typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible') requestAnimationFrame(run)
    else setTimeout(run, 16)
  }
}

export class ListSync extends Observable {
  table = new SessionTable()
  filters: SessionFilters = emptyFilters
  loading = false
  error: string | undefined
  private queue: ServerMessage[] | undefined
  private gen = 0

  constructor(private readonly socket: LiveSocket) {
    super()
    socket.onOpen(() => {
      socket.send({ type: 'subscribe-list' })
      void this.reload(true)
    })
    socket.onMessage((msg) => this.onMessage(msg))
  }

  setFilters(f: SessionFilters): void {
    this.filters = f
    this.notify()
    void this.reload(false)
  }

  /** Loads the snapshot for the current filters; `fresh` rebuilds the table from it. */
  async reload(fresh: boolean): Promise<void> {
    const gen = ++this.gen
    this.queue ??= []
    this.loading = true
    this.notify()
    try {
      const f = this.filters
      const res = await listSessions({ ...f, limit: LIST_LIMIT })
      if (gen !== this.gen) return
      if (fresh && !hasFilters(f)) this.table = new SessionTable()
      for (const s of res.sessions) this.table.upsert(s)
      this.table.setServerMatched(
        res.sessions.map((s) => s.id),
        res.total,
      )
      this.error = undefined
    } catch (err) {
      if (gen !== this.gen) return
      this.error = (err as Error).message
    }
    this.loading = false
    const queued = this.queue ?? []
    this.queue = undefined
    for (const msg of queued) this.apply(msg)
    this.notify()
  }

  private onMessage(msg: ServerMessage): void {
    if (msg.type === 'reset') {
      // The hub dropped every subscription of this socket, the list's included.
      this.socket.send({ type: 'subscribe-list' })
      void this.reload(true)
      return
    }
    if (this.queue) {
      this.queue.push(msg)
      return
    }
    if (this.apply(msg)) this.notify()
  }

  private apply(msg: ServerMessage): boolean {
    switch (msg.type) {
      case 'session-opened':
      case 'session-updated':
      case 'session-closed':
        return this.table.upsert(msg.session)
      case 'session-deleted':
        for (const id of msg.sessionIds) this.table.remove(id)
        return msg.sessionIds.length > 0
      case 'event':
      case 'hello':
      case 'reset':
      case 'error':
      case 'pong':
        return false
      default:
        return assertNever(msg)
    }
  }

  removeLocal(id?: string): void {
    if (id) this.table.remove(id)
    else this.table.clear()
    this.notify()
  }
}

export class SessionSync extends Observable {
  readonly log = new EventLog()
  session: Session | undefined
  loading = true
  /** True while REST pages are being fetched (a long session loads progressively). */
  fetching = false
  /** The session was deleted (here or in another dashboard). */
  deleted = false
  error: string | undefined
  private readonly offs: (() => void)[] = []
  private stopped = false
  /** The afterSeq of the last gap-repair subscription, so one hole asks only once. */
  private repairedAfter = -1

  constructor(
    readonly id: string,
    private readonly socket: LiveSocket,
    initial?: Session,
  ) {
    super()
    this.session = initial
  }

  // The hub replays history after `afterSeq` before going live, so the socket alone would
  // do; the REST pages come first because they are cheaper for long sessions, and the
  // subscription then asks only for what came after them.
  start(): void {
    void this.fetchSnapshot()
    this.offs.push(
      this.socket.onMessage((msg) => this.onMessage(msg)),
      this.socket.onOpen(() => {
        if (!this.fetching) this.subscribeEvents()
      }),
    )
  }

  stop(): void {
    this.stopped = true
    for (const off of this.offs) off()
    this.socket.send({ type: 'unsubscribe', sessionId: this.id })
  }

  private subscribeEvents(): void {
    if (this.stopped) return
    this.socket.send({ type: 'subscribe', sessionId: this.id, afterSeq: this.log.contiguous || undefined })
  }

  /** Fetches pages after the last contiguous seq until the recorded total is reached. */
  async fetchSnapshot(): Promise<void> {
    if (this.fetching) return
    this.fetching = true
    try {
      for (;;) {
        const res = await getSession(this.id, { after: this.log.contiguous, limit: this.log.contiguous ? PAGE_EVENTS : FIRST_PAGE_EVENTS })
        if (this.stopped) return
        this.session = pickSession(this.session, res.session)
        const added = this.log.add(res.events)
        this.loading = false
        this.notify()
        if (!res.events.length || !added || this.log.contiguous >= res.session.totals.events) break
      }
      this.error = undefined
    } catch (err) {
      this.error = (err as Error).message
      this.loading = false
    } finally {
      this.fetching = false
      this.notify()
      this.subscribeEvents()
    }
  }

  private onMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'event':
        if (msg.sessionId !== this.id) return
        if (this.log.add([msg.event])) {
          this.notify()
          // A hole means something was lost on the way: ask again from the last good seq.
          if (this.log.hasGap() && !this.fetching && this.repairedAfter !== this.log.contiguous) {
            this.repairedAfter = this.log.contiguous
            this.subscribeEvents()
          }
        }
        return
      case 'session-opened':
      case 'session-updated':
      case 'session-closed':
        if (msg.session.id !== this.id) return
        this.session = pickSession(this.session, msg.session)
        this.notify()
        return
      case 'session-deleted':
        if (!msg.sessionIds.includes(this.id)) return
        this.deleted = true
        this.notify()
        return
      case 'reset':
        // The hub dropped our subscriptions: resume after what we hold.
        if (!this.fetching) this.subscribeEvents()
        return
      case 'hello':
      case 'error':
      case 'pong':
        return
      default:
        assertNever(msg)
    }
  }

  /** Fetches one event with its secret values (GET ...?secrets=show) and keeps it aside. */
  async reveal(seq: number): Promise<void> {
    const res = await getSession(this.id, { after: seq - 1, limit: 1, secrets: true })
    const e = res.events.find((ev) => ev.seq === seq)
    if (e) {
      this.log.reveal(e)
      this.notify()
    }
  }

  hide(seq: number): void {
    this.log.revealed.delete(seq)
    this.log.version++
    this.notify()
  }
}

function pickSession(cur: Session | undefined, next: Session): Session {
  if (!cur) return next
  if (cur.status !== 'live' && next.status === 'live') return cur
  return next.totals.events >= cur.totals.events || next.status !== cur.status ? next : cur
}

// ---------------------------------------------------------------------------
// The app's single socket and list.

export const socket = new LiveSocket()
export const listSync = new ListSync(socket)

export function useObservable(o: Observable): number {
  return useSyncExternalStore(o.subscribe, o.getVersion)
}

const connListeners = new Set<() => void>()
socket.onState(() => {
  for (const fn of connListeners) fn()
})

export function useConnState(): ConnState {
  return useSyncExternalStore(
    (fn) => {
      connListeners.add(fn)
      return () => connListeners.delete(fn)
    },
    () => socket.state,
  )
}
