// Replay from the dashboard: the form (target, optional credentials, pacing), then the run
// as it goes (its own session streams into the list; we link to it) and the verdict with
// the recorded and new replies side by side. Replies are captured data: text only.
import { useState } from 'react'
import type { Session } from '../../../shared/schema.ts'
import { useT } from '../i18n/index.ts'
import { replaySession, type DiffRow, type ReplayRequest } from '../live/api.ts'
import { listSync, useObservable } from '../live/sync.ts'
import { replaySessionOf, runs, useRuns, type ReplayRun } from '../state/replays.ts'
import { hrefFor } from '../state/route.ts'
import { Dialog } from './bits.tsx'
import { Notes } from './event-line.tsx'

/** Starts a replay of `of`; the result lands in the run store, whatever view is open then. */
export async function startReplay(of: string, request: ReplayRequest): Promise<void> {
  const run: ReplayRun = { of, request, startedAt: Date.now(), state: 'running' }
  runs.setReplay(run)
  // A later run of the same session (or Dismiss) replaces this one: its answer is then stale.
  const current = () => runs.replays.get(of)?.startedAt === run.startedAt
  try {
    const result = await replaySession(of, request)
    if (current()) runs.setReplay({ ...run, state: 'done', result })
  } catch (err) {
    if (current()) runs.setReplay({ ...run, state: 'failed', error: (err as Error).message })
  }
}

export function ReplayDialog({ session, onClose }: { session: Session; onClose: () => void }) {
  const t = useT()
  // Imports and mocks have no server URL ('pasted transcript', 'mock:ID'): the user gives one.
  const [to, setTo] = useState(/^(smtp|pop3|imap)s?:\/\//i.test(session.route.upstreamUrl) ? session.route.upstreamUrl : '')
  const [user, setUser] = useState('')
  const [password, setPassword] = useState('')
  const [pacing, setPacing] = useState<'lockstep' | 'speed'>('lockstep')
  const [speed, setSpeed] = useState('1')
  const speedOk = Number(speed) > 0

  const submit = () => {
    const request: ReplayRequest = { to: to.trim() || undefined, user: user || undefined, password: password || undefined }
    if (pacing === 'lockstep') request.lockstep = true
    else request.speed = Number(speed)
    onClose()
    void startReplay(session.id, request)
  }

  return (
    <Dialog title={t('replayTitle')} help={t('replayHelp')} testId="replay-dialog" onClose={onClose} onSubmit={submit}>
      <label className="field">
        <span>{t('replayTarget')}</span>
        <input
          type="text"
          className="mono"
          value={to}
          placeholder={`${session.protocol}://host:port`}
          required
          onChange={(e) => setTo(e.target.value)}
          spellCheck={false}
          data-testid="replay-to"
        />
      </label>
      <div className="field-row">
        <label className="field">
          <span>{t('replayUser')}</span>
          <input type="text" value={user} onChange={(e) => setUser(e.target.value)} autoComplete="off" data-testid="replay-user" />
        </label>
        <label className="field">
          <span>{t('replayPassword')}</span>
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" data-testid="replay-password" />
        </label>
      </div>
      <p className="muted small">{t('replayCredentialsHelp')}</p>
      <fieldset className="field">
        <legend>{t('replayPacing')}</legend>
        <label className="check">
          <input type="radio" name="pacing" checked={pacing === 'lockstep'} onChange={() => setPacing('lockstep')} data-testid="replay-lockstep" />
          {t('replayLockstep')}
        </label>
        <label className="check">
          <input type="radio" name="pacing" checked={pacing === 'speed'} onChange={() => setPacing('speed')} data-testid="replay-timed" />
          {t('replaySpeed')}
          <input
            type="number"
            className="speed-input"
            min="0.1"
            step="any"
            value={speed}
            disabled={pacing !== 'speed'}
            onChange={(e) => setSpeed(e.target.value)}
            data-testid="replay-speed"
          />
        </label>
      </fieldset>
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onClose}>
          {t('cancel')}
        </button>
        <button type="submit" className="btn primary" disabled={!to.trim() || (pacing === 'speed' && !speedOk)} data-testid="replay-go">
          {t('replayGo')}
        </button>
      </div>
    </Dialog>
  )
}

/** The run of a replay of session `of`, if one was started from this page. */
export function ReplayPanel({ of }: { of: string }) {
  const t = useT()
  const store = useRuns()
  useObservable(listSync)
  const run = store.replays.get(of)
  if (!run) return null
  const live = replaySessionOf(run, listSync.table.byId.values())
  const sessionLink = live ? (
    <a href={hrefFor({ sessionId: live.id })} data-testid="replay-session-link" data-session-id={live.id}>
      {t('replaySession')} {live.id}
      {live.status === 'live' ? ` · ${t('statusLive')} · ${live.totals.events} ${t('events')}` : ''}
    </a>
  ) : (
    <span className="muted">{t('replayWaitingSession')}</span>
  )
  return (
    <section className={`replay-panel replay-${run.state}${run.result ? ` verdict-${run.result.verdict}` : ''}`} data-testid="replay-panel" data-state={run.state}>
      <div className="replay-head">
        {run.state === 'running' && (
          <span className="live-marker">
            <span className="pulse" />
            {t('replayRunning', { to: run.request.to ?? '' })}
          </span>
        )}
        {run.state === 'failed' && <span className="err" data-testid="replay-error">{t('replayFailed', { error: run.error ?? '' })}</span>}
        {run.result && (
          <strong className="replay-verdict" data-testid="replay-verdict" data-verdict={run.result.verdict}>
            {run.result.verdict === 'equivalent' ? `✓ ${t('replayEquivalent')}` : `≠ ${t('replayDiverged', { n: run.result.divergedAt ?? '?' })}`}
          </strong>
        )}
        {run.state !== 'failed' && sessionLink}
        {run.state !== 'running' && (
          <button type="button" className="btn ghost small replay-dismiss" onClick={() => runs.clearReplay(of)}>
            {t('replayDismiss')}
          </button>
        )}
      </div>
      {run.result && (
        <>
          <Notes notes={run.result.notes} />
          <ReplayDiff rows={run.result.diff} divergedAt={run.result.divergedAt} />
        </>
      )}
    </section>
  )
}

function ReplayDiff({ rows, divergedAt }: { rows: DiffRow[]; divergedAt?: number }) {
  const t = useT()
  // Equal exchanges show their first line (like the CLI's diff); a click opens them.
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set())
  const toggle = (n: number) => setOpen((cur) => {
    const next = new Set(cur)
    if (!next.delete(n)) next.add(n)
    return next
  })
  return (
    <div className="replay-diff-wrap">
      <table className="table replay-diff" data-testid="replay-diff">
        <thead>
          <tr>
            <th>#</th>
            <th>{t('replayColClient')}</th>
            <th>{t('replayColRecorded')}</th>
            <th aria-label="=" />
            <th>{t('replayColReplayed')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const mark = r.equal ? '=' : r.missing ? '!' : '≠'
            const recorded = r.missing === 'recorded' ? [t('replayNoRecorded')] : r.recorded
            const replayed = r.missing === 'replayed' ? [t('replayNoResponse')] : r.replayed
            const folded = r.equal && !open.has(r.n) && Math.max(recorded.length, replayed.length) > 1
            const shown = (lines: string[]) => (folded ? lines.slice(0, 1) : lines).join('\n')
            return (
              <tr
                key={r.n}
                className={`${r.equal ? 'same' : 'differs'}${r.n === divergedAt ? ' first-divergence' : ''}`}
                data-testid="replay-row"
                data-n={r.n}
                data-equal={r.equal ? 'true' : 'false'}
              >
                <td className="num">{r.n}</td>
                <td className="mono">
                  {r.command}
                  {r.stateDependent && (
                    <span className="state-flag" title={t('replayStateDependent')}>
                      {' '}
                      ⚑
                    </span>
                  )}
                  {r.notes?.length ? <Notes notes={r.notes} /> : null}
                </td>
                <td className="mono reply-lines" data-testid="replay-recorded">
                  {shown(recorded)}
                </td>
                <td className={`mark mark-${r.equal ? 'same' : r.missing ? 'missing' : 'differs'}`}>{mark}</td>
                <td className="mono reply-lines" data-testid="replay-replayed">
                  {shown(replayed)}
                  {r.equal && Math.max(recorded.length, replayed.length) > 1 && (
                    <button type="button" className="linkish fold" onClick={() => toggle(r.n)} data-testid="replay-fold">
                      {folded ? t('more', { n: Math.max(recorded.length, replayed.length) - 1 }) : t('hide')}
                    </button>
                  )}
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
      <p className="muted small">{t('replayLegend')}</p>
    </div>
  )
}
