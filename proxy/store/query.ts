// Session list filtering: a linear pass over the in-memory index, newest first. At
// 100,000 sessions a pass is a few milliseconds, so no secondary indexes are kept.
import type { Protocol, Session, SessionStatus } from '../../shared/schema.ts'
import type { IndexEntry } from './layout.ts'

export interface ListQuery {
  protocol?: Protocol
  /** Case-insensitive substring of the authenticated user. */
  user?: string
  status?: SessionStatus
  /** Case-insensitive text over id, user, addresses, route, last reply, message subjects. */
  q?: string
  /** startedAt range, epoch ms, inclusive. */
  from?: number
  to?: number
  /** true: sessions with errors (totals.errors > 0 or status 'failed'); false: without. */
  hasErrors?: boolean
  offset?: number
  /** Defaults to 100. */
  limit?: number
}

export const DEFAULT_LIST_LIMIT = 100

/** The searchable text of a session, lower-cased. */
export function searchText(entry: IndexEntry): string {
  const s = entry.session
  return [
    s.id,
    s.user ?? '',
    `${s.client.address}:${s.client.port}`,
    s.server.host ?? '',
    `${s.server.address}:${s.server.port}`,
    s.route.id,
    s.route.listenUrl,
    s.route.upstreamUrl,
    s.lastReply ?? '',
    s.closeDetail ?? '',
    ...(entry.subjects ?? []),
  ]
    .join('\n')
    .toLowerCase()
}

export function hasErrors(s: Session): boolean {
  return s.totals.errors > 0 || s.status === 'failed'
}

/**
 * Filters `entries` (sorted oldest first) and returns one page newest first. Each
 * entry's search text is computed on first use and cached on it (`text`).
 */
export function listSessions(
  entries: readonly { rec: IndexEntry; text?: string }[],
  query: ListQuery,
): { sessions: Session[]; total: number } {
  const offset = Math.max(0, Math.floor(query.offset ?? 0))
  const limit = Math.max(0, Math.floor(query.limit ?? DEFAULT_LIST_LIMIT))
  const user = query.user?.toLowerCase()
  const q = query.q?.trim().toLowerCase()
  const sessions: Session[] = []
  let total = 0
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!
    const s = e.rec.session
    if (query.protocol && s.protocol !== query.protocol) continue
    if (query.status && s.status !== query.status) continue
    if (query.from !== undefined && s.startedAt < query.from) continue
    if (query.to !== undefined && s.startedAt > query.to) continue
    if (query.hasErrors !== undefined && hasErrors(s) !== query.hasErrors) continue
    if (user && !(s.user ?? '').toLowerCase().includes(user)) continue
    if (q && !(e.text ??= searchText(e.rec)).includes(q)) continue
    if (total >= offset && sessions.length < limit) sessions.push(s)
    total++
  }
  return { sessions, total }
}
