// Number, size, time and duration formatting for the views.
import type { Session, TlsLeg } from '../../../shared/schema.ts'

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–'
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} kB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return ''
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 10) return `${ms.toFixed(1)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const m = Math.floor(ms / 60_000)
  const s = Math.round((ms % 60_000) / 1000)
  if (m < 60) return `${m}m ${s}s`
  return `${Math.floor(m / 60)}h ${m % 60}m`
}

export function formatClock(at: number): string {
  const d = new Date(at)
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

export function formatDateTime(at: number): string {
  const d = new Date(at)
  const today = new Date()
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
  if (d.toDateString() === today.toDateString()) return time
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`
}

export function sessionDurationMs(s: Session, now: number): number {
  return (s.endedAt ?? now) - s.startedAt
}

export type TlsState = 'intercept' | 'passthrough' | 'none'

/** The lock shown for a session: any intercepted leg wins, then passthrough. */
export function tlsState(tls: readonly TlsLeg[]): TlsState {
  if (tls.some((l) => l.mode === 'intercept' && l.version)) return 'intercept'
  if (tls.some((l) => l.mode === 'passthrough')) return 'passthrough'
  if (tls.some((l) => l.mode === 'intercept')) return 'intercept'
  return 'none'
}

export function upstreamLabel(s: Session): string {
  return s.server.host ? `${s.server.host}:${s.server.port}` : `${s.server.address}:${s.server.port}`
}
