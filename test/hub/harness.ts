// Test harness for the hub: a real HTTP server on a free port with a store and a feed,
// and a WebSocket client that records what it receives and can wait for a message.
import { createServer, type Server } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { Feed } from '../../proxy/feed.ts'
import { attachHub, type Hub, type HubOptions } from '../../proxy/hub/hub.ts'
import { openStore, type Store } from '../../proxy/store/index.ts'
import type { ClientMessage, ServerMessage } from '../../shared/wire.ts'

export interface Harness {
  feed: Feed
  store: Store
  server: Server
  hub: Hub
  url: string
}

export async function startHub(
  t: { after(fn: () => unknown): void },
  options: Partial<Omit<HubOptions, 'feed' | 'store'>> = {},
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'mailtap-hub-'))
  const feed = new Feed()
  const store = await openStore({ dir, feed })
  const server = createServer((_req, res) => res.writeHead(404).end())
  const hub = attachHub(server, { feed, store, ...options })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  t.after(async () => {
    await hub.close()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })
  return { feed, store, server, hub, url: `ws://127.0.0.1:${port}/ws` }
}

export class TestClient {
  readonly messages: ServerMessage[] = []
  private waiters: { pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = []
  private pings = 0

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as ServerMessage
      this.messages.push(msg)
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(msg)) return true
        w.resolve(msg)
        return false
      })
    })
  }

  static async connect(t: { after(fn: () => unknown): void }, url: string): Promise<TestClient> {
    const ws = new WebSocket(url)
    const client = new TestClient(ws)
    t.after(() => ws.terminate())
    await client.waitFor((m) => m.type === 'hello')
    return client
  }

  send(msg: ClientMessage): void {
    this.ws.send(JSON.stringify(msg))
  }

  /** Resolves with the first message (already received or to come) matching `pred`. */
  waitFor<T extends ServerMessage = ServerMessage>(pred: (m: ServerMessage) => boolean): Promise<T> {
    const found = this.messages.find(pred)
    if (found) return Promise.resolve(found as T)
    return new Promise((resolve) => this.waiters.push({ pred, resolve: resolve as (m: ServerMessage) => void }))
  }

  /** A ping round trip: everything sent before it has been handled by the hub. */
  async sync(): Promise<void> {
    const id = ++this.pings
    this.send({ type: 'ping', id })
    await this.waitFor((m) => m.type === 'pong' && m.id === id)
  }

  eventSeqs(sessionId: string): number[] {
    return this.messages.flatMap((m) => (m.type === 'event' && m.sessionId === sessionId ? [m.event.seq] : []))
  }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}
