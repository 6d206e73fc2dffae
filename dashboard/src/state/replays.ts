// Replays and mocks started from the dashboard. They outlive the view that started them
// (the user opens the replay's own session while it runs, or browses mock sessions), so
// they live here, in one small store, rather than in component state.
import { useSyncExternalStore } from 'react'
import type { Session } from '../../../shared/schema.ts'
import type { ReplayRequest, ReplayResponse, RunningMock } from '../live/api.ts'

export interface ReplayRun {
  /** The recorded session being replayed. */
  of: string
  request: ReplayRequest
  /** Local clock when the request left, to tell this run's session from earlier ones. */
  startedAt: number
  state: 'running' | 'done' | 'failed'
  result?: ReplayResponse
  error?: string
}

export interface MockRun extends RunningMock {
  /** Local clock when it started; undefined for a mock found running after a reload. */
  startedAt?: number
}

type Listener = () => void

class RunStore {
  replays = new Map<string, ReplayRun>()
  mocks = new Map<string, MockRun>()
  version = 0
  private readonly listeners = new Set<Listener>()

  subscribe = (fn: Listener): (() => void) => {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  getVersion = (): number => this.version

  private changed(): void {
    this.version++
    for (const fn of this.listeners) fn()
  }

  setReplay(run: ReplayRun): void {
    this.replays.set(run.of, run)
    this.changed()
  }

  clearReplay(of: string): void {
    if (this.replays.delete(of)) this.changed()
  }

  addMock(m: MockRun): void {
    this.mocks.set(m.mockId, m)
    this.changed()
  }

  removeMock(mockId: string): void {
    if (this.mocks.delete(mockId)) this.changed()
  }
}

export const runs = new RunStore()

export function useRuns(): RunStore {
  useSyncExternalStore(runs.subscribe, runs.getVersion)
  return runs
}

/** Clocks may differ a little between the page and mailtap (same machine, usually not). */
const CLOCK_SLACK_MS = 2000

/** The session a running replay streams into, once the list has it. */
export function replaySessionOf(run: ReplayRun, sessions: Iterable<Session>): Session | undefined {
  if (run.result) {
    for (const s of sessions) if (s.id === run.result.replaySessionId) return s
  }
  let best: Session | undefined
  for (const s of sessions) {
    if (s.origin?.kind !== 'replay' || s.origin.of !== run.of || s.startedAt < run.startedAt - CLOCK_SLACK_MS) continue
    if (!best || s.startedAt > best.startedAt) best = s
  }
  return best
}

/** The sessions a mock served so far, oldest first. */
export function mockSessionsOf(mock: MockRun, sessions: Iterable<Session>): Session[] {
  const out: Session[] = []
  for (const s of sessions) {
    if (s.origin?.kind !== 'mock' || s.origin.of !== mock.of) continue
    if (mock.sessions.includes(s.id) || (mock.startedAt !== undefined && s.startedAt >= mock.startedAt - CLOCK_SLACK_MS)) out.push(s)
  }
  return out.sort((a, b) => a.startedAt - b.startedAt)
}
