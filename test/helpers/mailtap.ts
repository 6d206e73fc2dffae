// mailtap in the test process: the real feed, relay and store, with routes to whatever
// the test names. Integration tests drive real clients through it and read back what
// was recorded.
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Session, SessionEvent } from '../../shared/schema.ts'
import { Feed } from '../../proxy/feed.ts'
import { parseRoute } from '../../proxy/config.ts'
import { listenRoute, type RouteListener } from '../../proxy/relay/listener.ts'
import type { TlsSupport } from '../../proxy/relay/relay.ts'
import { openStore, type Store } from '../../proxy/store/index.ts'

export interface Harness {
  feed: Feed
  store: Store
  dataDir: string
  /** The bound port of each route, in the order given. */
  ports: number[]
  /** Sessions as they close, in closing order. */
  closed: Session[]
  /** Resolves once `n` sessions have closed in total. */
  waitClosed(n: number, timeoutMs?: number): Promise<Session[]>
  events(id: string): SessionEvent[]
  stop(): Promise<void>
}

export async function startMailtap(
  routes: string[],
  opts: { tls?: TlsSupport; idleTimeoutMs?: number; connectTimeoutMs?: number; dataDir?: string } = {},
): Promise<Harness> {
  const feed = new Feed()
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'mailtap-test-'))
  const store = await openStore({ dir: dataDir, feed })
  const closed: Session[] = []
  const events = new Map<string, SessionEvent[]>()
  const waiters: { n: number; resolve: (s: Session[]) => void }[] = []
  feed.on('event', (id, ev) => {
    let list = events.get(id)
    if (!list) events.set(id, (list = []))
    list.push(ev)
  })
  feed.on('session-closed', (s) => {
    closed.push(s)
    for (const w of waiters.filter((w) => closed.length >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(closed.slice())
    }
  })
  const listeners: RouteListener[] = []
  for (const r of routes) {
    listeners.push(
      await listenRoute(parseRoute(r), {
        feed,
        tls: opts.tls,
        idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
        connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      }),
    )
  }
  return {
    feed,
    store,
    dataDir,
    ports: listeners.map((l) => l.port),
    closed,
    events: (id) => events.get(id) ?? [],
    waitClosed: (n, timeoutMs = 30_000) =>
      closed.length >= n
        ? Promise.resolve(closed.slice())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`only ${closed.length} of ${n} sessions closed`)), timeoutMs)
            waiters.push({ n, resolve: (s) => (clearTimeout(timer), resolve(s)) })
          }),
    stop: async () => {
      await Promise.all(listeners.map((l) => l.close()))
      await store.close()
    },
  }
}
