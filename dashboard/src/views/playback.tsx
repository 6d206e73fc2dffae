// Playback: step through a recorded session one exchange at a time, or play it at 1×,
// 2× or 10× of the recorded pace, with a timeline scrubber. The diagram grows as it
// plays; the current exchange is shown in full with its annotations.
import { useEffect, useState } from 'react'
import type { Session } from '../../../shared/schema.ts'
import { useT } from '../i18n/index.ts'
import type { SessionSync } from '../live/sync.ts'
import type { Grouped } from '../state/exchanges.ts'
import { formatClock, formatMs } from '../state/format.ts'
import { isTyping } from './session-list.tsx'
import { AnnotationText, EventContent, Notes } from './event-line.tsx'
import { SequenceDiagram } from './sequence-diagram.tsx'

const SPEEDS = [1, 2, 10] as const
/** Long idle gaps are shortened so playback never stalls for minutes. */
const MAX_WAIT_MS = 2500
const MIN_WAIT_MS = 120

export function Playback({ sync, grouped, session }: { sync: SessionSync; grouped: Grouped; session: Session }) {
  const t = useT()
  const xs = grouped.exchanges
  const [pos, setPos] = useState(0)
  const [playing, setPlaying] = useState(false)
  const [speed, setSpeed] = useState<(typeof SPEEDS)[number]>(1)
  const last = xs.length - 1

  useEffect(() => {
    if (!playing) return
    if (pos >= last) {
      setPlaying(false)
      return
    }
    const gap = xs[pos + 1].startAt - xs[pos].startAt
    const wait = Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, gap / speed))
    const timer = setTimeout(() => setPos((p) => Math.min(last, p + 1)), wait)
    return () => clearTimeout(timer)
  }, [playing, pos, speed, last, xs])

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e) || e.metaKey || e.ctrlKey || e.altKey) return
      if (e.key === 'ArrowRight' || e.key === ']') setPos((p) => Math.min(last, p + 1))
      else if (e.key === 'ArrowLeft' || e.key === '[') setPos((p) => Math.max(0, p - 1))
      else if (e.key === ' ') setPlaying((v) => !v)
      else return
      e.preventDefault()
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [last])

  // Keep the current exchange in view as the diagram grows.
  useEffect(() => {
    document.querySelector('.playback [data-current=true]')?.scrollIntoView({ block: 'nearest' })
  }, [pos])

  if (!xs.length) return <div className="pad muted">{t('noExchanges')}</div>
  const cur = xs[Math.min(pos, last)]
  const elapsed = cur.startAt - xs[0].startAt
  return (
    <div className="playback">
      <div className="player" data-testid="player">
        <button type="button" className="btn small" onClick={() => setPos((p) => Math.max(0, p - 1))} disabled={pos <= 0} data-testid="pb-back">
          ◀ {t('back')}
        </button>
        <button type="button" className="btn small primary" onClick={() => setPlaying(!playing)} data-testid="pb-play">
          {playing ? `❚❚ ${t('pause')}` : `▶ ${t('play')}`}
        </button>
        <button type="button" className="btn small" onClick={() => setPos((p) => Math.min(last, p + 1))} disabled={pos >= last} data-testid="pb-step">
          {t('step')} ▶
        </button>
        <div className="seg" role="group" aria-label={t('speed')}>
          {SPEEDS.map((s) => (
            <button key={s} type="button" aria-pressed={speed === s} onClick={() => setSpeed(s)} data-testid={`pb-speed-${s}`}>
              {s}×
            </button>
          ))}
        </div>
        <input
          className="scrubber"
          type="range"
          min={0}
          max={last}
          value={pos}
          onChange={(e) => {
            setPlaying(false)
            setPos(Number(e.target.value))
          }}
          aria-label="timeline"
          data-testid="pb-scrubber"
        />
        <span className="muted small" data-testid="pb-position">
          {t('exchangeOf', { i: pos + 1, n: xs.length })} · +{formatMs(elapsed)}
        </span>
      </div>
      <div className="playback-body">
        <div className="pb-current" data-testid="pb-current">
          {cur.events.map((e) => (
            <div key={e.seq} className={`pb-event side-${e.from}`}>
              <span className={`gutter g-${e.from}`}>{e.from === 'client' ? 'C' : e.from === 'server' ? 'S' : '·'}</span>
              <div>
                <div className="muted small">{formatClock(e.at)}</div>
                <EventContent event={e} sync={sync} />
                <AnnotationText event={e} />
                <Notes notes={e.notes} />
              </div>
            </div>
          ))}
          {cur.latencyMs !== undefined && (
            <div className="muted small">
              {t('latency')}: {formatMs(cur.latencyMs)}
            </div>
          )}
        </div>
        <SequenceDiagram grouped={grouped} session={session} upTo={pos} current={pos} exportable={false} />
      </div>
    </div>
  )
}
