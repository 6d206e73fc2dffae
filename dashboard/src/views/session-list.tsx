// The session list: filters, text search, a virtualized list of sessions with keyboard
// navigation (j/k or arrows to move, Enter to open, Esc to go back).
import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useMemo, useRef, useState } from 'react'
import type { Session } from '../../../shared/schema.ts'
import { useT } from '../i18n/index.ts'
import { deleteAllSessions } from '../live/api.ts'
import { listSync, useObservable } from '../live/sync.ts'
import { formatBytes, formatDateTime, formatMs, sessionDurationMs, tlsState, upstreamLabel } from '../state/format.ts'
import { navigate } from '../state/route.ts'
import type { SessionFilters } from '../state/sessions.ts'
import { TlsLock } from './bits.tsx'

export function SessionList({ selectedId }: { selectedId?: string }) {
  const t = useT()
  useObservable(listSync)
  const [filters, setFilters] = useState<SessionFilters>(listSync.filters)
  const [cursor, setCursor] = useState<string | undefined>(selectedId)
  const scrollRef = useRef<HTMLDivElement>(null)
  const now = useNow()

  // Debounce filter changes into server queries.
  useEffect(() => {
    const timer = setTimeout(() => listSync.setFilters(filters), 200)
    return () => clearTimeout(timer)
  }, [filters])

  useEffect(() => setCursor(selectedId), [selectedId])

  const sessions = listSync.table.visible(listSync.filters)
  const virt = useVirtualizer({
    count: sessions.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 58,
    overscan: 8,
    getItemKey: (i) => sessions[i]?.id ?? i,
  })

  const cursorIndex = useMemo(() => sessions.findIndex((s) => s.id === cursor), [sessions, cursor])

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e)) return
      if (e.metaKey || e.ctrlKey || e.altKey) return
      // A dialog or the message viewer is open: its own keys apply (Esc closes it).
      if (document.querySelector('.drawer-backdrop')) return
      let next = -1
      if (e.key === 'j' || e.key === 'ArrowDown') next = Math.min(sessions.length - 1, cursorIndex + 1)
      else if (e.key === 'k' || e.key === 'ArrowUp') next = Math.max(0, cursorIndex < 0 ? 0 : cursorIndex - 1)
      else if (e.key === 'Enter' && cursorIndex >= 0) {
        navigate({ sessionId: sessions[cursorIndex].id })
        e.preventDefault()
        return
      } else if (e.key === 'Escape') {
        navigate({})
        return
      } else if (e.key === '/') {
        document.getElementById('session-search')?.focus()
        e.preventDefault()
        return
      }
      if (next >= 0 && sessions[next]) {
        e.preventDefault()
        setCursor(sessions[next].id)
        virt.scrollToIndex(next, { align: 'auto' })
      }
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [sessions, cursorIndex, virt])

  const set = (patch: Partial<SessionFilters>) => setFilters((f) => ({ ...f, ...patch }))

  return (
    <aside className="sidebar">
      <div className="filters">
        <input
          id="session-search"
          className="search"
          type="search"
          placeholder={t('searchPlaceholder')}
          value={filters.q}
          onChange={(e) => set({ q: e.target.value })}
          data-testid="filter-q"
        />
        <div className="filter-row">
          <select value={filters.protocol} onChange={(e) => set({ protocol: e.target.value })} data-testid="filter-protocol" aria-label="protocol">
            <option value="">{t('allProtocols')}</option>
            <option value="smtp">SMTP</option>
            <option value="pop3">POP3</option>
            <option value="imap">IMAP</option>
          </select>
          <select value={filters.status} onChange={(e) => set({ status: e.target.value })} data-testid="filter-status" aria-label="status">
            <option value="">{t('allStatuses')}</option>
            <option value="live">{t('statusLive')}</option>
            <option value="closed">{t('statusClosed')}</option>
            <option value="failed">{t('statusFailed')}</option>
          </select>
        </div>
        <div className="filter-row">
          <input
            type="text"
            placeholder={t('userFilter')}
            value={filters.user}
            onChange={(e) => set({ user: e.target.value })}
            data-testid="filter-user"
            aria-label={t('userFilter')}
          />
          <label className="check">
            <input type="checkbox" checked={filters.errors} onChange={(e) => set({ errors: e.target.checked })} data-testid="filter-errors" />
            {t('onlyErrors')}
          </label>
        </div>
      </div>
      <div className="list-head">
        <span>
          {t('sessions')}{' '}
          <span className="count" data-testid="session-count">
            {sessions.length}
          </span>
        </span>
        {listSync.table.byId.size > 0 && (
          <button
            type="button"
            className="linkish danger-link"
            onClick={async () => {
              if (!confirm(t('confirmDeleteAll'))) return
              await deleteAllSessions().catch(() => undefined)
              void listSync.reload(true)
            }}
          >
            {t('deleteAll')}
          </button>
        )}
      </div>
      <div className="session-scroll" ref={scrollRef} data-testid="session-list">
        {sessions.length === 0 ? (
          <p className="muted pad">{listSync.loading ? t('loading') : listSync.table.byId.size ? t('noMatch') : t('noSessions')}</p>
        ) : (
          <div style={{ height: virt.getTotalSize(), position: 'relative' }}>
            {virt.getVirtualItems().map((v) => {
              const s = sessions[v.index]
              return (
                <div key={v.key} className="vrow" style={{ transform: `translateY(${v.start}px)` }} data-index={v.index} ref={virt.measureElement}>
                  <SessionRow s={s} now={now} selected={s.id === selectedId} cursor={s.id === cursor} />
                </div>
              )
            })}
          </div>
        )}
      </div>
      <div className="kbd-help">{t('keyboardHelp')}</div>
    </aside>
  )
}

function SessionRow({ s, now, selected, cursor }: { s: Session; now: number; selected: boolean; cursor: boolean }) {
  const t = useT()
  const live = s.status === 'live'
  const errors = s.totals.errors
  return (
    <a
      className={`session-row${selected ? ' selected' : ''}${cursor ? ' cursor' : ''}`}
      href={`#/s/${encodeURIComponent(s.id)}/transcript`}
      data-testid="session-row"
      data-session-id={s.id}
      data-status={s.status}
      aria-current={selected ? 'true' : undefined}
    >
      <div className="sr-line1">
        <span className={`proto proto-${s.protocol}`}>{s.protocol.toUpperCase()}</span>
        <TlsLock state={tlsState(s.tls)} />
        {s.origin && (s.origin.kind === 'replay' || s.origin.kind === 'mock') && (
          <span className={`origin-badge origin-${s.origin.kind}`} data-testid="origin-badge">
            {s.origin.kind === 'replay' ? t('originReplay') : t('originMock')}
          </span>
        )}
        <span className="sr-user" data-testid="session-user">
          {s.user ?? <span className="muted">—</span>}
        </span>
        {live && (
          <span className="live-marker" data-testid="live-marker" title={t('statusLive')}>
            <span className="pulse" />
            {t('statusLive')}
          </span>
        )}
        {!live && <span className={`status status-${s.status}`}>{s.status === 'failed' ? t('statusFailed') : t('statusClosed')}</span>}
        <span className="sr-time" title={new Date(s.startedAt).toISOString()}>
          {formatDateTime(s.startedAt)}
        </span>
      </div>
      <div className="sr-line2">
        <span className="sr-route" title={`${s.client.address}:${s.client.port} → ${upstreamLabel(s)}`}>
          {s.client.address}:{s.client.port} → {upstreamLabel(s)}
        </span>
        <span className="sr-stats">
          {formatMs(sessionDurationMs(s, now))} · ↑{formatBytes(s.totals.bytesFromClient)} ↓{formatBytes(s.totals.bytesFromServer)}
        </span>
        {errors > 0 && (
          <span className="err-count" data-testid="error-count">
            {errors === 1 ? t('oneError') : t('errorsCount', { n: errors })}
          </span>
        )}
      </div>
      {s.lastReply && (
        <div className="sr-reply" title={s.lastReply}>
          {s.lastReply}
        </div>
      )}
    </a>
  )
}

/** Ticks once a second while something is live, for durations. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [])
  return now
}

export function isTyping(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null
  if (!el) return false
  const tag = el.tagName
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable
}
