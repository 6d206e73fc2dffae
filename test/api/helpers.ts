// Test plumbing for the API, export and import tests: a real store in a temp dir, real
// transcripts pushed through a SessionRecorder, and a real HTTP server on a free port.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Protocol, Session } from '../../shared/schema.ts'
import { startHttp, type HttpOptions, type HttpServer } from '../../proxy/api/app.ts'
import { Feed } from '../../proxy/feed.ts'
import { SessionRecorder } from '../../proxy/session/recorder.ts'
import { openStore, type Store } from '../../proxy/store/index.ts'
import { parseTranscript, T0 } from '../helpers/transcript.ts'

export interface TestStore {
  store: Store
  feed: Feed
  dir: string
  close(): Promise<void>
}

export async function openTestStore(): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'mailtap-api-test-'))
  const feed = new Feed()
  const store = await openStore({ dir, feed, flushIntervalMs: 10, indexSaveMs: 50 })
  return {
    store,
    feed,
    dir,
    async close() {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

const DEFAULT_PORTS: Record<Protocol, number> = { smtp: 2525, pop3: 1110, imap: 1143 }

/**
 * Replays a C:/S: transcript (test/helpers/transcript.ts syntax) through a recorder as
 * the relay would: an accepted STARTTLS (`== upgraded`) records both TLS legs.
 */
export async function recordTranscript(
  feed: Feed,
  protocol: Protocol,
  text: string,
  opts: { startAt?: number; clientPort?: number; serverPort?: number; closeReason?: 'client-closed' | 'server-closed' } = {},
): Promise<Session> {
  const startAt = opts.startAt ?? Date.now()
  const serverPort = opts.serverPort ?? DEFAULT_PORTS[protocol]
  const rec = new SessionRecorder(feed, {
    protocol,
    route: { id: `${protocol}-${serverPort}`, listenUrl: `${protocol}://127.0.0.1:${serverPort + 10000}`, upstreamUrl: `${protocol}://127.0.0.1:${serverPort}` },
    client: { address: '127.0.0.1', port: opts.clientPort ?? 51000 },
    server: { address: '127.0.0.1', port: serverPort, host: 'localhost' },
    at: startAt,
  })
  let at = startAt
  for (const step of parseTranscript(text).steps) {
    at = startAt + (step.at - T0)
    if (step.kind === 'data') rec.chunk(step.side, step.bytes, at)
    else if (step.kind === 'upgraded') {
      rec.tls({ leg: 'client', mode: 'intercept', how: 'starttls', version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, at)
      rec.tls({ leg: 'server', mode: 'intercept', how: 'starttls', version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, at)
      rec.upgraded(at)
    }
  }
  await rec.close(opts.closeReason ?? 'client-closed', undefined, at + 1)
  return rec.session
}

export async function startTestApi(ts: TestStore, opts: Partial<HttpOptions> = {}): Promise<HttpServer> {
  return startHttp({ store: ts.store, feed: ts.feed, routes: [], version: '0.0.0-test', host: '127.0.0.1', port: 0, ...opts })
}
