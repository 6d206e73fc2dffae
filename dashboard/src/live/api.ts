// REST calls to mailtap's HTTP API (same origin). When the page was opened with
// ?token=T (non-loopback binds), the token goes on every request and download URL.
import type { DiffRow } from '../../../proxy/replay/diff.ts'
import type { MessageSummary, Note, Route, Session, SessionEvent, Side } from '../../../shared/schema.ts'

const token = new URLSearchParams(location.search).get('token') ?? undefined

/** Our own API URL (never captured data), with the token appended when there is one. */
export function apiUrl(path: string, params?: Record<string, string | number | undefined>): string {
  const u = new URL(path, location.origin)
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, String(v))
  if (token) u.searchParams.set('token', token)
  return u.pathname + u.search
}

export function wsUrl(): string {
  const u = new URL('/ws', location.href)
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
  if (token) u.searchParams.set('token', token)
  return u.toString()
}

export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message)
  }
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, { ...init, headers: { Accept: 'application/json', ...(init?.headers ?? {}) } })
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`
    try {
      const body = (await res.json()) as { error?: string }
      if (body.error) message = body.error
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(message, res.status)
  }
  return (await res.json()) as T
}

export interface SessionQuery {
  protocol?: string
  user?: string
  status?: string
  q?: string
  errors?: boolean
  offset?: number
  limit?: number
}

export function listSessions(q: SessionQuery): Promise<{ sessions: Session[]; total: number }> {
  return request(
    apiUrl('/api/sessions', {
      protocol: q.protocol,
      user: q.user,
      status: q.status,
      q: q.q,
      errors: q.errors ? 1 : undefined,
      offset: q.offset,
      limit: q.limit,
    }),
  )
}

export function getSession(
  id: string,
  opts: { after?: number; limit?: number; secrets?: boolean } = {},
): Promise<{ session: Session; events: SessionEvent[] }> {
  return request(
    apiUrl(`/api/sessions/${encodeURIComponent(id)}`, {
      after: opts.after,
      limit: opts.limit,
      secrets: opts.secrets ? 'show' : undefined,
    }),
  )
}

export async function getRaw(id: string, side: Side, range: { start?: number; end?: number }): Promise<Uint8Array> {
  const res = await fetch(apiUrl(`/api/sessions/${encodeURIComponent(id)}/raw`, { side, start: range.start, end: range.end }))
  if (!res.ok) throw new ApiError(`${res.status} ${res.statusText}`, res.status)
  return new Uint8Array(await res.arrayBuffer())
}

export interface MessageDetail {
  summary: MessageSummary
  headers: [string, string][]
  text?: string
  html?: string
  attachments: { index: number; filename: string; contentType: string; size: number }[]
}

export function getMessage(id: string, n: number): Promise<MessageDetail> {
  return request(apiUrl(`/api/sessions/${encodeURIComponent(id)}/messages/${n}`))
}

export async function getMessageSource(id: string, n: number): Promise<string> {
  const res = await fetch(messageEmlUrl(id, n))
  if (!res.ok) throw new ApiError(`${res.status} ${res.statusText}`, res.status)
  return await res.text()
}

export function messageEmlUrl(id: string, n: number): string {
  return apiUrl(`/api/sessions/${encodeURIComponent(id)}/messages/${n}.eml`)
}

export function attachmentUrl(id: string, n: number, i: number): string {
  return apiUrl(`/api/sessions/${encodeURIComponent(id)}/messages/${n}/attachments/${i}`)
}

export type ExportFormat = 'txt' | 'json' | 'pcapng' | 'eml'

export function exportUrl(id: string, format: ExportFormat, secrets = false): string {
  return apiUrl(`/api/sessions/${encodeURIComponent(id)}/export`, { format, secrets: secrets ? 'show' : undefined })
}

export function caUrl(): string {
  return apiUrl('/api/ca.pem')
}

export interface RoutesInfo {
  routes: Route[]
  lab?: Record<string, unknown>
}

export function getRoutes(): Promise<RoutesInfo> {
  return request(apiUrl('/api/routes'))
}

export function importTranscript(body: string, protocol?: string): Promise<{ session: Session }> {
  const isJson = /^\s*[{[]/.test(body)
  return request(apiUrl('/api/import', { protocol }), {
    method: 'POST',
    headers: { 'Content-Type': isJson ? 'application/json' : 'text/plain' },
    body,
  })
}

export function deleteSession(id: string): Promise<unknown> {
  return request(apiUrl(`/api/sessions/${encodeURIComponent(id)}`), { method: 'DELETE' })
}

export function deleteAllSessions(): Promise<unknown> {
  return request(apiUrl('/api/sessions'), { method: 'DELETE' })
}

/** One exchange of a replay, recorded vs replayed (the API answers proxy/replay's DiffRow as JSON). */
export type { DiffRow }

export interface ReplayRequest {
  to?: string
  user?: string
  password?: string
  /** Wait for each reply before the next command (the default). */
  lockstep?: boolean
  /** Or keep the recorded pacing, this many times faster. */
  speed?: number
}

export interface ReplayResponse {
  verdict: 'equivalent' | 'diverged'
  divergedAt?: number
  replaySessionId: string
  diff: DiffRow[]
  notes: Note[]
}

export function replaySession(id: string, body: ReplayRequest): Promise<ReplayResponse> {
  return request(apiUrl(`/api/sessions/${encodeURIComponent(id)}/replay`), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
}

export function startMock(id: string, listen: string): Promise<{ url: string; mockId: string }> {
  return request(apiUrl(`/api/sessions/${encodeURIComponent(id)}/mock`), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ listen }),
  })
}

export interface RunningMock {
  mockId: string
  url: string
  /** The recorded session it plays back. */
  of: string
  sessions: string[]
}

export function listMocks(): Promise<{ mocks: RunningMock[] }> {
  return request(apiUrl('/api/mocks'))
}

export function stopMock(mockId: string): Promise<{ ok: true; sessions: string[] }> {
  return request(apiUrl(`/api/mocks/${encodeURIComponent(mockId)}`), { method: 'DELETE' })
}
