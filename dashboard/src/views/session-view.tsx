// One session: its header (peers, user, TLS, state, totals), export actions and the tabs
// (transcript, sequence diagram, playback, raw bytes, messages).
import { useEffect, useMemo, useState } from 'react'
import type { Session } from '../../../shared/schema.ts'
import { useT } from '../i18n/index.ts'
import { deleteSession } from '../live/api.ts'
import { listSync, SessionSync, socket, useObservable } from '../live/sync.ts'
import { groupEvents } from '../state/exchanges.ts'
import { formatBytes, formatDateTime, formatMs, sessionDurationMs, tlsState, upstreamLabel } from '../state/format.ts'
import { hrefFor, navigate, TABS, type Tab } from '../state/route.ts'
import { TlsLock } from './bits.tsx'
import { ExportMenu } from './export-menu.tsx'
import { MockDialog } from './mock-panel.tsx'
import { MessageList, MessageViewer } from './message-viewer.tsx'
import { Playback } from './playback.tsx'
import { RawView } from './raw-view.tsx'
import { ReplayDialog, ReplayPanel } from './replay-panel.tsx'
import { SequenceDiagram } from './sequence-diagram.tsx'
import { Transcript } from './transcript.tsx'

export function SessionView({ id, tab, message }: { id: string; tab: Tab; message?: number }) {
  const t = useT()
  const sync = useMemo(() => new SessionSync(id, socket, listSync.table.byId.get(id)), [id])
  useEffect(() => {
    sync.start()
    return () => sync.stop()
  }, [sync])
  useObservable(sync)
  useObservable(listSync)
  const [dialog, setDialog] = useState<'replay' | 'mock' | undefined>()

  const version = sync.log.version
  const grouped = useMemo(() => groupEvents(sync.log.list()), [sync, version])
  const listed = listSync.table.byId.get(id)
  const session = sync.session && listed ? (listed.totals.events > sync.session.totals.events || (listed.status !== 'live' && sync.session.status === 'live') ? listed : sync.session) : (sync.session ?? listed)

  if (sync.deleted) return <div className="pad muted" data-testid="session-deleted">{t('sessionDeleted')}</div>
  if (!session) {
    return <div className="pad muted">{sync.error ?? t('loading')}</div>
  }
  const tabLabel: Record<Tab, string> = {
    transcript: t('transcript'),
    diagram: t('diagram'),
    playback: t('playback'),
    raw: t('raw'),
    messages: `${t('messages')}${session.totals.messages ? ` (${session.totals.messages})` : ''}`,
  }
  return (
    <div className="session-view" data-testid="session-view" data-session-id={id}>
      <SessionHeader s={session}>
        <button
          type="button"
          className="btn ghost small"
          disabled={session.status === 'live'}
          onClick={() => setDialog('replay')}
          data-testid="open-replay"
        >
          {t('replay')}
        </button>
        <button type="button" className="btn ghost small" disabled={session.status === 'live'} onClick={() => setDialog('mock')} data-testid="open-mock">
          {t('mock')}
        </button>
        <button
          type="button"
          className="btn ghost small danger"
          disabled={session.status === 'live'}
          onClick={async () => {
            await deleteSession(id).catch(() => undefined)
            listSync.removeLocal(id)
            navigate({})
          }}
        >
          {t('delete')}
        </button>
      </SessionHeader>
      <ReplayPanel of={id} />
      <nav className="tabs" role="tablist">
        {TABS.map((k) => (
          <a key={k} role="tab" aria-selected={tab === k} className={`tab${tab === k ? ' active' : ''}`} href={`#/s/${encodeURIComponent(id)}/${k}`} data-testid={`tab-${k}`}>
            {tabLabel[k]}
          </a>
        ))}
        <span className="tabs-fill" />
        <ExportMenu id={id} />

      </nav>
      <div className="tab-body">
        {sync.loading && !sync.log.size ? (
          <div className="pad muted">{t('loading')}</div>
        ) : tab === 'transcript' ? (
          <Transcript sync={sync} grouped={grouped} session={session} />
        ) : tab === 'diagram' ? (
          <SequenceDiagram grouped={grouped} session={session} />
        ) : tab === 'playback' ? (
          <Playback sync={sync} grouped={grouped} session={session} />
        ) : tab === 'raw' ? (
          <RawView sync={sync} session={session} />
        ) : (
          <MessageList sync={sync} />
        )}
        {sync.fetching && sync.log.size > 0 && session.totals.events > sync.log.size && (
          <div className="loading-more">{t('loadingMore', { n: sync.log.size, total: session.totals.events })}</div>
        )}
      </div>
      {dialog === 'replay' && <ReplayDialog session={session} onClose={() => setDialog(undefined)} />}
      {dialog === 'mock' && <MockDialog session={session} onClose={() => setDialog(undefined)} />}
      {message !== undefined && <MessageViewer sessionId={id} n={message} onClose={() => navigate({ sessionId: id, tab })} />}
    </div>
  )
}

function SessionHeader({ s, children }: { s: Session; children?: React.ReactNode }) {
  const t = useT()
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (s.status !== 'live') return
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [s.status])
  const tls = tlsState(s.tls)
  return (
    <div className="session-head">
      <div className="sh-title">
        <span className={`proto proto-${s.protocol}`}>{s.protocol.toUpperCase()}</span>
        <TlsLock state={tls} />
        <span className="sh-route">
          <span className="peer">
            {s.client.address}:{s.client.port}
          </span>
          <span className="arrow">→</span>
          <span className="peer">mailtap {s.route.listenUrl}</span>
          <span className="arrow">→</span>
          <span className="peer">{upstreamLabel(s)}</span>
        </span>
        {s.status === 'live' ? (
          <span className="live-marker">
            <span className="pulse" />
            {t('statusLive')}
          </span>
        ) : (
          <span className={`status status-${s.status}`} data-testid="session-status">
            {s.status === 'failed' ? t('statusFailed') : t('statusClosed')}
          </span>
        )}
        <span className="sh-actions">{children}</span>
      </div>
      <dl className="sh-facts">
        <div>
          <dt>{t('user')}</dt>
          <dd data-testid="head-user">{s.user ?? '—'}</dd>
        </div>
        <div>
          <dt>{t('started')}</dt>
          <dd>{formatDateTime(s.startedAt)}</dd>
        </div>
        <div>
          <dt>{t('duration')}</dt>
          <dd>{formatMs(sessionDurationMs(s, now))}</dd>
        </div>
        <div>
          <dt>{t('bytes')}</dt>
          <dd>
            ↑ {formatBytes(s.totals.bytesFromClient)} · ↓ {formatBytes(s.totals.bytesFromServer)}
          </dd>
        </div>
        <div>
          <dt>{t('events')}</dt>
          <dd>{s.totals.events.toLocaleString()}</dd>
        </div>
        <div>
          <dt>{t('findings')}</dt>
          <dd className={s.totals.errors ? 'err' : ''}>{s.totals.errors}</dd>
        </div>
        {s.closeReason && (
          <div>
            <dt>{t('closeReason')}</dt>
            <dd title={s.closeDetail}>{s.closeReason}</dd>
          </div>
        )}
        {s.origin && s.origin.kind !== 'live' && (
          <div>
            <dt>{t('origin')}</dt>
            <dd data-testid="head-origin">
              {s.origin.of && (s.origin.kind === 'replay' || s.origin.kind === 'mock') ? (
                <>
                  {s.origin.kind === 'replay' ? t('replayOf') : t('mockOf')}{' '}
                  <a href={hrefFor({ sessionId: s.origin.of })} className="mono" data-testid="origin-link">
                    {s.origin.of}
                  </a>
                </>
              ) : (
                s.origin.kind
              )}
            </dd>
          </div>
        )}
        {s.gaps && (
          <div>
            <dt>!</dt>
            <dd className="err">{t('gaps')}</dd>
          </div>
        )}
      </dl>
    </div>
  )
}
