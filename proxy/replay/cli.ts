// The terminal side of `mailtap replay` and `mailtap mock`: progress on stderr, the
// side-by-side diff on stdout, the exit code (0 equivalent, 1 diverged; usage errors are
// thrown as ReplayError/MockError for main.ts to turn into 2).
import type { Feed } from '../feed.ts'
import type { Store } from '../store/index.ts'
import type { Ca } from '../tls/ca.ts'
import { replaySession, type ReplayOptions } from './client-replay.ts'
import { formatDiff } from './diff.ts'
import { startMock } from './mock-server.ts'

/** Sessions with at least this many exchanges show progress even when stderr is not a terminal. */
const PROGRESS_MIN_EXCHANGES = 50

export interface ReplayCliOptions {
  store: Store
  feed: Feed
  session: string
  to?: string
  user?: string
  password?: string
  speed?: number
  lockstep?: boolean
  rules?: ReplayOptions['rules']
  tls: ReplayOptions['tls']
  stdout?: NodeJS.WritableStream & { columns?: number }
  stderr?: NodeJS.WritableStream & { isTTY?: boolean }
}

/** Runs a replay for the CLI; resolves to the exit code. */
export async function runReplayCommand(o: ReplayCliOptions): Promise<number> {
  const out = o.stdout ?? process.stdout
  const err = o.stderr ?? process.stderr
  const tty = !!err.isTTY
  let lastShown = -1
  const result = await replaySession({
    store: o.store,
    feed: o.feed,
    sessionId: o.session,
    to: o.to,
    user: o.user,
    password: o.password,
    speed: o.speed,
    lockstep: o.lockstep,
    rules: o.rules,
    tls: o.tls,
    onProgress: (done, total) => {
      if (!tty && total < PROGRESS_MIN_EXCHANGES) return
      const pct = Math.floor((done / Math.max(total, 1)) * 100)
      if (tty) err.write(`\rreplaying: ${done}/${total} exchanges (${pct}%)${done === total ? '\n' : ''}`)
      else if (pct >= lastShown + 10 || done === total) {
        lastShown = pct
        err.write(`replaying: ${done}/${total} exchanges (${pct}%)\n`)
      }
    },
  })
  await o.store.flush()
  out.write(formatDiff(result, { width: o.stdout?.columns ?? process.stdout.columns ?? 160, original: o.session }))
  return result.verdict === 'equivalent' ? 0 : 1
}

/** Serves a recording until SIGINT/SIGTERM; prints where. */
export async function runMockCommand(o: { store: Store; feed: Feed; session: string; listen: string; ca?: Ca; stdout?: NodeJS.WritableStream }): Promise<void> {
  const out = o.stdout ?? process.stdout
  const mock = await startMock({ store: o.store, feed: o.feed, sessionId: o.session, listen: o.listen, ca: o.ca })
  out.write(`mock of ${o.session} listening on ${mock.url} (Ctrl-C to stop)\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await mock.close()
  await o.store.flush()
  out.write(`served ${mock.sessions().length} connection(s): ${mock.sessions().join(', ') || 'none'}\n`)
}
