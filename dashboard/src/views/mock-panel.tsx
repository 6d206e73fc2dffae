// Mock from the dashboard: the form (where to listen), then a bar for every running mock
// with the URL clients should use, a Stop button, and the sessions it served with their
// deviations from the recording (MOCK_* findings), live.
import { useEffect, useState } from 'react'
import type { Note, Session } from '../../../shared/schema.ts'
import { useT } from '../i18n/index.ts'
import { getSession, listMocks, startMock, stopMock } from '../live/api.ts'
import { listSync, useObservable } from '../live/sync.ts'
import { mockSessionsOf, runs, useRuns, type MockRun } from '../state/replays.ts'
import { hrefFor } from '../state/route.ts'
import { Dialog, useAction } from './bits.tsx'
import { Notes } from './event-line.tsx'

export function MockDialog({ session, onClose }: { session: Session; onClose: () => void }) {
  const t = useT()
  const [listen, setListen] = useState(`${session.protocol}://127.0.0.1:0`)
  const { busy, error, run } = useAction()

  const submit = () =>
    run(async () => {
      const startedAt = Date.now()
      const { url, mockId } = await startMock(session.id, listen.trim())
      runs.addMock({ mockId, url, of: session.id, sessions: [], startedAt })
      onClose()
    })

  return (
    <Dialog title={t('mockTitle')} help={t('mockHelp')} testId="mock-dialog" onClose={onClose} onSubmit={() => void submit()}>
      <label className="field">
        <span>{t('mockListen')}</span>
        <input type="text" className="mono" value={listen} onChange={(e) => setListen(e.target.value)} spellCheck={false} data-testid="mock-listen" />
      </label>
      {error && (
        <div className="note note-error" data-testid="mock-error">
          {error}
        </div>
      )}
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onClose}>
          {t('cancel')}
        </button>
        <button type="submit" className="btn primary" disabled={busy || !listen.trim()} data-testid="mock-go">
          {busy ? t('mockStarting') : t('mockGo')}
        </button>
      </div>
    </Dialog>
  )
}

/** Every running mock, under the top bar. Picks up mocks started before a page reload. */
export function MocksBar() {
  const store = useRuns()
  useEffect(() => {
    listMocks()
      .then(({ mocks }) => {
        for (const m of mocks) if (!runs.mocks.has(m.mockId)) runs.addMock(m)
      })
      .catch(() => undefined)
  }, [])
  if (store.mocks.size === 0) return null
  return (
    <div className="mocks-bar" data-testid="mocks-bar">
      {[...store.mocks.values()].map((m) => (
        <MockCard key={m.mockId} mock={m} />
      ))}
    </div>
  )
}

function MockCard({ mock }: { mock: MockRun }) {
  const t = useT()
  useObservable(listSync)
  const [stopping, setStopping] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const sessions = mockSessionsOf(mock, listSync.table.byId.values())
  return (
    <section className="mock-card" data-testid="mock-card" data-mock-id={mock.mockId}>
      <div className="mock-head">
        <span className="live-marker">
          <span className="pulse" />
          {t('mockRunning')}
        </span>
        <a href={hrefFor({ sessionId: mock.of })} className="mono small">
          {mock.of}
        </a>
        <span className="muted small">{t('mockUseUrl')}</span>
        <code className="mock-url" data-testid="mock-url">
          {mock.url}
        </code>
        <button
          type="button"
          className="btn small danger"
          disabled={stopping}
          data-testid="mock-stop"
          onClick={async () => {
            setStopping(true)
            try {
              await stopMock(mock.mockId)
              runs.removeMock(mock.mockId)
            } catch (err) {
              // Already gone (mailtap restarted): drop it here too.
              if ((err as { status?: number }).status === 404) runs.removeMock(mock.mockId)
              else setError((err as Error).message)
            } finally {
              setStopping(false)
            }
          }}
        >
          {t('mockStop')}
        </button>
        {error && <span className="err small">{error}</span>}
      </div>
      {sessions.length === 0 ? (
        <p className="muted small mock-empty">{t('mockNoClients')}</p>
      ) : (
        <ul className="mock-sessions">
          {sessions.map((s) => (
            <MockSessionRow key={s.id} s={s} />
          ))}
        </ul>
      )}
    </section>
  )
}

/** One client the mock served, with the findings where it departed from the recording. */
function MockSessionRow({ s }: { s: Session }) {
  const t = useT()
  const deviations = useDeviations(s)
  return (
    <li className="mock-session" data-testid="mock-session" data-session-id={s.id} data-status={s.status}>
      <div className="mock-session-line">
        <a href={hrefFor({ sessionId: s.id })}>
          {s.client.address}:{s.client.port}
        </a>
        {s.status === 'live' ? (
          <span className="live-marker">
            <span className="pulse" />
            {t('statusLive')}
          </span>
        ) : (
          <span className={`status status-${s.status}`}>{s.status === 'failed' ? t('statusFailed') : t('statusClosed')}</span>
        )}
        <span className="muted small">
          {s.totals.commands ?? 0} {t('commands')}
        </span>
        {deviations.length > 0 ? (
          <span className="dev-count" data-testid="mock-deviation-count">
            {t('mockDeviations', { n: deviations.length })}
          </span>
        ) : (
          <span className="muted small">{t('mockNoDeviation')}</span>
        )}
      </div>
      <Notes notes={deviations} />
    </li>
  )
}

/** The MOCK_* findings of a session, refetched as it grows (mock sessions are short). */
function useDeviations(s: Session): Note[] {
  const [notes, setNotes] = useState<Note[]>([])
  useEffect(() => {
    let cancelled = false
    getSession(s.id)
      .then(({ events }) => {
        if (cancelled) return
        setNotes(events.flatMap((e) => (e.notes ?? []).filter((n) => n.code.startsWith('MOCK_'))))
      })
      .catch(() => undefined)
    return () => {
      cancelled = true
    }
  }, [s.id, s.status, s.totals.events])
  return notes
}
