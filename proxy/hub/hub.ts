// The live WebSocket hub at /ws: fans the feed out to dashboards (shared/wire.ts).
// Each broadcast is serialized once; a dashboard that cannot keep up gets a `reset` and
// loses its subscriptions instead of making the proxy wait or grow its memory.
// Events go out with every secret's value replaced by '•••' (SECRET_MASK), kind kept.
import { readFileSync } from 'node:fs'
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import type { Session, SessionEvent } from '../../shared/schema.ts'
import { WIRE_VERSION, type ClientMessage, type ServerMessage } from '../../shared/wire.ts'
import type { Feed, FeedEvents } from '../feed.ts'
import type { Store } from '../store/index.ts'
import { redactEvent } from '../store/redact.ts'

export interface HubOptions {
  feed: Feed
  store: Store
  /** Default '/ws'. */
  path?: string
  /** Token / Host / Origin checks; false answers the upgrade with 403. */
  verifyClient?: (req: IncomingMessage) => boolean
  /** A client whose socket holds more than this gets a `reset`. Default 1 MiB. */
  maxBufferedBytes?: number
  /** Live events queued for one subscription while its history loads. Default 10,000. */
  maxQueuedEvents?: number
  /** At most one session-updated per session per this interval. Default 150 ms. */
  updateIntervalMs?: number
  /** Resets within a minute after which a client is closed instead. Default 3. */
  maxResets?: number
  /** Reported in `hello`; defaults to package.json's version. */
  version?: string
}

export interface HubStats {
  clients: number
  /** Session subscriptions across all clients. */
  subscriptions: number
  /** The largest bufferedAmount seen on any client right after a send. */
  peakBufferedBytes: number
  resets: number
  closedSlow: number
}

export interface Hub {
  stats(): HubStats
  close(): Promise<void>
}

/** Replay page size when a subscription loads stored events. */
const REPLAY_PAGE = 500
const RESET_WINDOW_MS = 60_000
const KEEPALIVE_MS = 30_000

interface Subscription {
  loading: boolean
  lastSeq: number
  queue: SessionEvent[]
}

interface Client {
  ws: WebSocket
  list: boolean
  subs: Map<string, Subscription>
  resetTimes: number[]
  alive: boolean
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}

export function attachHub(server: Server, options: HubOptions): Hub {
  const { feed, store } = options
  const path = options.path ?? '/ws'
  const limit = options.maxBufferedBytes ?? 1024 * 1024
  const maxQueued = options.maxQueuedEvents ?? 10_000
  const updateMs = options.updateIntervalMs ?? 150
  const maxResets = options.maxResets ?? 3
  const hello = JSON.stringify({
    type: 'hello',
    wireVersion: WIRE_VERSION,
    version: options.version ?? packageVersion(),
  } satisfies ServerMessage)

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  const clients = new Set<Client>()
  const bySession = new Map<string, Set<Client>>()
  const stats: HubStats = { clients: 0, subscriptions: 0, peakBufferedBytes: 0, resets: 0, closedSlow: 0 }
  /** session-updated throttle: when each session was last sent, and what waits. */
  const updates = new Map<string, { last: number; timer?: NodeJS.Timeout; session?: Session }>()

  // -------------------------------------------------------------------------
  // Sending

  /** Sends unless the client is over its limit, in which case it is reset. */
  function send(c: Client, payload: string): boolean {
    if (c.ws.readyState !== WebSocket.OPEN) return false
    if (c.ws.bufferedAmount + payload.length > limit) {
      overflow(c)
      return false
    }
    c.ws.send(payload)
    if (c.ws.bufferedAmount > stats.peakBufferedBytes) stats.peakBufferedBytes = c.ws.bufferedAmount
    return true
  }

  function sendMessage(c: Client, msg: ServerMessage): boolean {
    return send(c, JSON.stringify(msg))
  }

  function overflow(c: Client): void {
    const at = Date.now()
    c.resetTimes = c.resetTimes.filter((t) => at - t < RESET_WINDOW_MS)
    c.resetTimes.push(at)
    dropSubscriptions(c)
    if (c.resetTimes.length > maxResets) {
      // Keeps falling behind: close it. terminate() frees its buffers at once.
      stats.closedSlow++
      c.ws.terminate()
      return
    }
    stats.resets++
    // One small message past the limit is the price of telling the client why.
    c.ws.send(JSON.stringify({ type: 'reset', reason: 'the dashboard fell behind; reload the snapshot' } satisfies ServerMessage))
  }

  function dropSubscriptions(c: Client): void {
    c.list = false
    for (const id of c.subs.keys()) unsubscribe(c, id)
  }

  function unsubscribe(c: Client, id: string): void {
    c.subs.delete(id)
    const set = bySession.get(id)
    set?.delete(c)
    if (set?.size === 0) bySession.delete(id)
  }

  /** Sends a session message to list subscribers and to that session's subscribers. */
  function broadcastSession(type: 'session-opened' | 'session-updated' | 'session-closed', session: Session): void {
    let payload: string | undefined
    const subs = bySession.get(session.id)
    for (const c of clients) {
      if (!c.list && !subs?.has(c)) continue
      payload ??= JSON.stringify({ type, session } satisfies ServerMessage)
      send(c, payload)
    }
  }

  // -------------------------------------------------------------------------
  // Feed

  const listeners: { [K in keyof FeedEvents]?: (...args: FeedEvents[K]) => void } = {
    'session-opened': (s) => {
      updates.set(s.id, { last: Date.now() })
      broadcastSession('session-opened', s)
    },
    'session-updated': (s) => {
      let u = updates.get(s.id)
      if (!u) updates.set(s.id, (u = { last: 0 }))
      const now = Date.now()
      if (u.timer) {
        u.session = s
      } else if (now - u.last >= updateMs) {
        u.last = now
        broadcastSession('session-updated', s)
      } else {
        u.session = s
        const entry = u
        u.timer = setTimeout(() => {
          entry.timer = undefined
          entry.last = Date.now()
          const latest = entry.session
          entry.session = undefined
          if (latest) broadcastSession('session-updated', latest)
        }, updateMs - (now - u.last))
      }
    },
    'session-closed': (s) => {
      const u = updates.get(s.id)
      if (u?.timer) clearTimeout(u.timer)
      updates.delete(s.id)
      broadcastSession('session-closed', s)
    },
    'session-deleted': (sessionIds) => {
      if (sessionIds.length === 0) return
      let payload: string | undefined
      for (const c of clients) {
        let subscribed = false
        for (const id of sessionIds) {
          if (!c.subs.has(id)) continue
          subscribed = true
          unsubscribe(c, id)
        }
        if (!c.list && !subscribed) continue
        payload ??= JSON.stringify({ type: 'session-deleted', sessionIds } satisfies ServerMessage)
        send(c, payload)
      }
      for (const id of sessionIds) {
        const u = updates.get(id)
        if (u?.timer) clearTimeout(u.timer)
        updates.delete(id)
      }
    },
    event: (sessionId, event) => {
      const subs = bySession.get(sessionId)
      if (!subs) return
      let payload: string | undefined
      for (const c of [...subs]) {
        const sub = c.subs.get(sessionId)
        if (!sub) continue
        if (sub.loading) {
          sub.queue.push(event)
          if (sub.queue.length > maxQueued) overflow(c)
          continue
        }
        if (event.seq <= sub.lastSeq) continue
        payload ??= JSON.stringify({ type: 'event', sessionId, event: redactEvent(event) } satisfies ServerMessage)
        if (send(c, payload)) sub.lastSeq = event.seq
      }
    },
  }
  for (const [name, fn] of Object.entries(listeners)) feed.on(name as keyof FeedEvents, fn as never)

  // -------------------------------------------------------------------------
  // Subscriptions

  /** Resolves once the client's socket has room for a replay page (or it is gone). */
  async function waitForRoom(c: Client, sub: Subscription, id: string): Promise<boolean> {
    while (c.ws.readyState === WebSocket.OPEN && c.subs.get(id) === sub && c.ws.bufferedAmount > limit / 2) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return c.ws.readyState === WebSocket.OPEN && c.subs.get(id) === sub
  }

  async function subscribe(c: Client, id: string, afterSeq: number): Promise<void> {
    if (!store.get(id)) {
      sendMessage(c, { type: 'error', message: `unknown session ${id}` })
      return
    }
    unsubscribe(c, id)
    const sub: Subscription = { loading: true, lastSeq: afterSeq, queue: [] }
    c.subs.set(id, sub)
    let set = bySession.get(id)
    if (!set) bySession.set(id, (set = new Set()))
    set.add(c)
    // History first, from the store (which flushes the session before reading); live
    // events meanwhile wait in sub.queue, and seq numbers remove the overlap.
    let after = afterSeq
    for (;;) {
      if (!(await waitForRoom(c, sub, id))) return
      const page = await store.events(id, { after, limit: REPLAY_PAGE })
      if (c.subs.get(id) !== sub) return
      for (const event of page) {
        if (!sendMessage(c, { type: 'event', sessionId: id, event: redactEvent(event) })) return
        after = event.seq
      }
      if (page.length < REPLAY_PAGE) break
    }
    for (const event of sub.queue) {
      if (event.seq <= after) continue
      if (!sendMessage(c, { type: 'event', sessionId: id, event: redactEvent(event) })) return
      after = event.seq
    }
    sub.queue = []
    sub.loading = false
    sub.lastSeq = after
  }

  function onMessage(c: Client, data: WebSocket.RawData, isBinary: boolean): void {
    let msg: ClientMessage
    try {
      if (isBinary) throw new Error('binary')
      msg = JSON.parse(data.toString()) as ClientMessage
      if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') throw new Error('shape')
    } catch {
      sendMessage(c, { type: 'error', message: 'expected a JSON message from shared/wire.ts ClientMessage' })
      return
    }
    switch (msg.type) {
      case 'subscribe-list':
        c.list = true
        return
      case 'subscribe': {
        if (typeof msg.sessionId !== 'string') {
          sendMessage(c, { type: 'error', message: 'subscribe needs a sessionId' })
          return
        }
        const after = Number.isFinite(msg.afterSeq) && (msg.afterSeq as number) > 0 ? Math.floor(msg.afterSeq as number) : 0
        subscribe(c, msg.sessionId, after).catch((err: Error) => {
          if (c.ws.readyState === WebSocket.OPEN) sendMessage(c, { type: 'error', message: `subscribe failed: ${err.message}` })
        })
        return
      }
      case 'unsubscribe':
        if (typeof msg.sessionId === 'string') unsubscribe(c, msg.sessionId)
        return
      case 'ping':
        sendMessage(c, { type: 'pong', id: msg.id })
        return
      default:
        sendMessage(c, { type: 'error', message: `unknown message type ${String((msg as { type: unknown }).type)}` })
    }
  }

  // -------------------------------------------------------------------------
  // Connections

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let pathname: string
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    } catch {
      return
    }
    if (pathname !== path) return
    if (options.verifyClient && !options.verifyClient(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws))
  }

  function onConnection(ws: WebSocket): void {
    const c: Client = { ws, list: false, subs: new Map(), resetTimes: [], alive: true }
    clients.add(c)
    stats.clients = clients.size
    ws.on('message', (data, isBinary) => onMessage(c, data, isBinary))
    ws.on('pong', () => (c.alive = true))
    ws.on('error', () => ws.terminate())
    ws.on('close', () => {
      dropSubscriptions(c)
      clients.delete(c)
      stats.clients = clients.size
    })
    ws.send(hello)
  }

  server.on('upgrade', onUpgrade)

  const keepalive = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        c.ws.terminate()
        continue
      }
      c.alive = false
      c.ws.ping()
    }
  }, KEEPALIVE_MS)
  keepalive.unref()

  return {
    stats: () => {
      let subscriptions = 0
      for (const c of clients) subscriptions += c.subs.size
      return { ...stats, subscriptions }
    },
    async close() {
      for (const [name, fn] of Object.entries(listeners)) feed.off(name as keyof FeedEvents, fn as never)
      server.off('upgrade', onUpgrade)
      clearInterval(keepalive)
      for (const u of updates.values()) if (u.timer) clearTimeout(u.timer)
      updates.clear()
      for (const c of clients) c.ws.close(1001, 'mailtap is shutting down')
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      for (const c of clients) c.ws.terminate()
    },
  }
}
