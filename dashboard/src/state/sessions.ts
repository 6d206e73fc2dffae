// The session list as a reducer-like store. Updates may arrive twice (socket and REST
// snapshot overlap by design) or out of order; `pickNewer` keeps the most advanced copy.
import type { Session } from '../../../shared/schema.ts'

const statusRank: Record<Session['status'], number> = { live: 0, closed: 1, failed: 1 }

/** The copy of a session that carries more of its history. Ties go to the incoming one. */
export function pickNewer(current: Session | undefined, incoming: Session): Session {
  if (!current) return incoming
  if (statusRank[incoming.status] < statusRank[current.status]) return current
  if (statusRank[incoming.status] > statusRank[current.status]) return incoming
  if (incoming.totals.events < current.totals.events) return current
  return incoming
}

export interface SessionFilters {
  protocol: string
  user: string
  status: string
  errors: boolean
  q: string
}

export const emptyFilters: SessionFilters = { protocol: '', user: '', status: '', errors: false, q: '' }

export function hasFilters(f: SessionFilters): boolean {
  return Boolean(f.protocol || f.user || f.status || f.errors || f.q)
}

/** Client-side filtering of summaries, for sessions that arrive live after a filtered query. */
export function matchesFilters(s: Session, f: SessionFilters): boolean {
  if (f.protocol && s.protocol !== f.protocol) return false
  if (f.status && s.status !== f.status) return false
  if (f.errors && !(s.totals.errors > 0)) return false
  if (f.user && !(s.user ?? '').toLowerCase().includes(f.user.toLowerCase())) return false
  if (f.q) {
    const hay = [s.id, s.user, s.lastReply, s.route.listenUrl, s.route.upstreamUrl, s.server.host, s.client.address, s.closeDetail, s.protocol]
      .filter(Boolean)
      .join(' ')
      .toLowerCase()
    if (!hay.includes(f.q.toLowerCase())) return false
  }
  return true
}

export class SessionTable {
  readonly byId = new Map<string, Session>()
  /** Ids the server matched for the current filters (its search also looks inside events). */
  serverMatched = new Set<string>()
  total = 0
  version = 0

  upsert(s: Session): boolean {
    const cur = this.byId.get(s.id)
    const next = pickNewer(cur, s)
    if (next === cur) return false
    this.byId.set(s.id, next)
    this.version++
    return true
  }

  remove(id: string): void {
    if (this.byId.delete(id)) this.version++
  }

  clear(): void {
    this.byId.clear()
    this.serverMatched = new Set()
    this.version++
  }

  setServerMatched(ids: Iterable<string>, total: number): void {
    this.serverMatched = new Set(ids)
    this.total = total
    this.version++
  }

  /** Newest first. */
  visible(f: SessionFilters): Session[] {
    const filtered = hasFilters(f)
    const out: Session[] = []
    for (const s of this.byId.values()) {
      if (!filtered || this.serverMatched.has(s.id) ? passesStructural(s, f) : matchesFilters(s, f)) out.push(s)
    }
    out.sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : -1))
    return out
  }
}

/** A server match still has to pass the filters a later update can change (status, errors). */
function passesStructural(s: Session, f: SessionFilters): boolean {
  if (f.protocol && s.protocol !== f.protocol) return false
  if (f.status && s.status !== f.status) return false
  if (f.errors && !(s.totals.errors > 0)) return false
  return true
}
