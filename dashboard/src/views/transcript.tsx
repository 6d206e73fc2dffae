// The transcript: one virtualized row per event, banded by exchange (a command and what
// answered it), with C/S gutter, clock time, delay, latency, annotations and findings.
// Auto-scroll follows the live tail until the user scrolls up.
import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useLayoutEffect, useRef, useState } from 'react'
import type { Session, SessionEvent, TlsItem } from '../../../shared/schema.ts'
import { useT } from '../i18n/index.ts'
import type { SessionSync } from '../live/sync.ts'
import type { Grouped, Row } from '../state/exchanges.ts'
import { formatClock, formatMs } from '../state/format.ts'
import { isTyping } from './session-list.tsx'
import { Icon } from './bits.tsx'
import { AnnotationText, EventContent, Notes } from './event-line.tsx'

export function Transcript({ sync, grouped, session }: { sync: SessionSync; grouped: Grouped; session: Session }) {
  const t = useT()
  const scrollRef = useRef<HTMLDivElement>(null)
  const [follow, setFollow] = useState(true)
  const [current, setCurrent] = useState(-1)
  const { rows, exchanges } = grouped
  const virt = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 30,
    overscan: 12,
    getItemKey: (i) => rows[i]?.event.seq ?? i,
  })

  // Follow the tail while live rows arrive, unless the user scrolled up.
  useLayoutEffect(() => {
    if (follow && rows.length && session.status === 'live') virt.scrollToIndex(rows.length - 1, { align: 'end' })
  }, [rows.length, follow, session.status, virt])

  const onScroll = () => {
    const el = scrollRef.current
    if (!el) return
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 48
    if (atBottom !== follow) setFollow(atBottom)
  }

  // [ ] / n p: previous and next exchange.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e) || e.metaKey || e.ctrlKey || e.altKey) return
      let next = current
      if (e.key === ']' || e.key === 'n') next = Math.min(exchanges.length - 1, current + 1)
      else if (e.key === '[' || e.key === 'p') next = Math.max(0, current - 1)
      else return
      e.preventDefault()
      setCurrent(next)
      setFollow(false)
      const x = exchanges[next]
      if (!x) return
      const idx = rows.findIndex((r) => r.event.seq === x.firstSeq)
      if (idx >= 0) virt.scrollToIndex(idx, { align: 'center' })
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [current, exchanges, rows, virt])

  if (!rows.length) return <div className="pad muted">{t('noExchanges')}</div>

  return (
    <div className="transcript-wrap">
      <div className="transcript" ref={scrollRef} onScroll={onScroll} data-testid="transcript" data-rows={rows.length}>
        <div style={{ height: virt.getTotalSize(), position: 'relative' }}>
          {virt.getVirtualItems().map((v) => {
            const row = rows[v.index]
            return (
              <div key={v.key} className="vrow" style={{ transform: `translateY(${v.start}px)` }} data-index={v.index} ref={virt.measureElement}>
                <TranscriptRow row={row} sync={sync} current={row.exchange >= 0 && row.exchange === current} band={row.exchange >= 0 ? row.exchange % 2 : -1} />
              </div>
            )
          })}
        </div>
      </div>
      {!follow && session.status === 'live' && (
        <button
          type="button"
          className="btn jump"
          onClick={() => {
            setFollow(true)
            virt.scrollToIndex(rows.length - 1, { align: 'end' })
          }}
        >
          {t('jumpToEnd')}
        </button>
      )}
    </div>
  )
}

function TranscriptRow({ row, sync, current, band }: { row: Row; sync: SessionSync; current: boolean; band: number }) {
  const e = row.event
  if (e.item?.kind === 'tls' && e.item.phase !== 'go-ahead') return <TlsDivider event={e} item={e.item} />
  const side = e.from
  const it = e.item
  const latency = it && (it.kind === 'reply' || it.kind === 'continuation') && it.latencyMs !== undefined ? it.latencyMs : undefined
  const failed = it?.kind === 'reply' && (it.status === 'error' || it.status === 'temp-error')
  return (
    <div
      className={`trow side-${side}${row.first ? ' first' : ''}${band === 1 ? ' band' : ''}${current ? ' current' : ''}${failed ? ' failed' : ''}`}
      data-testid="trow"
      data-seq={e.seq}
      data-side={side}
      data-kind={it?.kind ?? 'none'}
    >
      <span className="t-time" title={new Date(e.at).toISOString()}>
        {formatClock(e.at)}
      </span>
      <span className="t-delay">{row.delayMs >= 0.01 ? `+${formatMs(row.delayMs)}` : ''}</span>
      <span className={`gutter g-${side}`} aria-label={side}>
        {side === 'client' ? 'C' : side === 'server' ? 'S' : '·'}
      </span>
      <div className="t-main">
        <div className="t-line">
          <EventContent event={e} sync={sync} />
          {latency !== undefined && (
            <span className="latency" title="latency" data-testid="latency">
              ⟲ {formatMs(latency)}
            </span>
          )}
        </div>
        <Notes notes={e.notes} />
      </div>
      <div className="t-ann">
        <AnnotationText event={e} />
      </div>
    </div>
  )
}

function TlsDivider({ event, item }: { event: SessionEvent; item: TlsItem }) {
  const t = useT()
  const info = item.info
  const failed = item.phase === 'failed'
  return (
    <div className={`tls-divider${failed ? ' failed' : ''}`} data-testid="tls-divider" data-seq={event.seq}>
      <div className="tls-line" />
      <div className="tls-card">
        <b>
          <Icon name="lock" size={12} /> {failed ? t('tlsFailed') : t('tlsUpgrade')}
          {item.leg ? ` · ${item.leg === 'client' ? t('client') : t('server')}` : ''}
          {info ? ` · ${info.how} · ${info.mode}` : ''}
        </b>
        {info?.version && <span className="tls-fact">{info.version}</span>}
        {info?.cipher && <span className="tls-fact">{info.cipher}</span>}
        {info?.sni && <span className="tls-fact">SNI {info.sni}</span>}
        {info?.alpn && <span className="tls-fact">ALPN {info.alpn}</span>}
        {info?.verify && (
          <span className={`tls-fact ${info.verify.ok ? 'ok' : 'bad'}`}>
            {info.verify.ok ? `✓ ${t('verifiedOk')}` : `✗ ${t('verifyFailed')}: ${info.verify.text}`}
          </span>
        )}
        {item.error && <span className="tls-fact bad">{item.error}</span>}
        {info?.chain && info.chain.length > 0 && (
          <ol className="chain" aria-label={t('chain')}>
            {info.chain.map((c, i) => (
              <li key={i} title={`SHA-256 ${c.sha256}`}>
                {c.subject} <span className="muted">← {c.issuer}</span>{' '}
                <span className="muted">
                  ({c.notBefore.slice(0, 10)} … {c.notAfter.slice(0, 10)}
                  {c.selfSigned ? ', self-signed' : ''})
                </span>
              </li>
            ))}
          </ol>
        )}
        <Notes notes={event.notes} />
      </div>
    </div>
  )
}
