// The real `mailtap` command for end-to-end tests: spawns bin/mailtap.mjs with a fresh data
// directory, reads the bound routes and the dashboard URL from its stdout, and talks to
// its HTTP API like any user would.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Protocol, Session, SessionEvent } from '../../shared/schema.ts'
import { spawnCli } from '../helpers/cli-process.ts'

export interface RunningCli {
  /** The listening port of each route, by the route's protocol (first route wins). */
  ports: Partial<Record<Protocol, number>>
  /** `http://127.0.0.1:PORT` without a trailing slash. */
  baseUrl: string
  dataDir: string
  /** Everything mailtap printed so far, for failure messages. */
  output(): string
  /** GET or POST against the API; throws with the body when the status is not 2xx. */
  get<T = unknown>(pathAndQuery: string): Promise<T>
  getText(pathAndQuery: string): Promise<{ status: number; type: string; text: string; bytes: Buffer }>
  post<T = unknown>(pathAndQuery: string, body: string | Buffer, contentType?: string): Promise<{ status: number; json: T }>
  /** Resolves once `n` sessions of the protocol are closed, newest first. */
  waitClosed(protocol: Protocol, n?: number, timeoutMs?: number): Promise<Session[]>
  /** SIGTERM, then SIGKILL if it has not exited within a few seconds; removes the data directory. */
  stop(): Promise<void>
}

/** Spawns `mailtap --data TMP --http 127.0.0.1:0 --route R...` and waits for its start lines. */
export async function startCli(routes: string[], extraArgs: string[] = []): Promise<RunningCli> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-e2e-'))
  // 'dashboard:' comes after every 'route:' line.
  const cli = await spawnCli(['--data', dataDir, '--http', '127.0.0.1:0', ...routes.flatMap((r) => ['--route', r]), ...extraArgs], /^dashboard: \S+/m)
  const stdout = cli.stdout
  const ports: Partial<Record<Protocol, number>> = {}
  for (const m of stdout.matchAll(/^route: (smtp|pop3|imap)s?:\/\/[^\s]*:(\d+) → /gm)) {
    const protocol = m[1] as Protocol
    ports[protocol] ??= Number(m[2])
  }
  const baseUrl = /^dashboard: (http:\/\/\S+?)\/?$/m.exec(stdout)![1]

  const getText = async (p: string) => {
    const res = await fetch(baseUrl + p)
    const bytes = Buffer.from(await res.arrayBuffer())
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: bytes.toString('utf8'), bytes }
  }
  const get = async <T>(p: string): Promise<T> => {
    const r = await getText(p)
    if (r.status < 200 || r.status >= 300) throw new Error(`GET ${p}: ${r.status} ${r.text}`)
    return JSON.parse(r.text) as T
  }
  const post = async <T>(p: string, body: string | Buffer, contentType = 'text/plain') => {
    const res = await fetch(baseUrl + p, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': contentType } })
    return { status: res.status, json: (await res.json()) as T }
  }

  return {
    ports,
    baseUrl,
    dataDir,
    output: cli.output,
    get,
    getText,
    post,
    async waitClosed(protocol, n = 1, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const { sessions } = await get<{ sessions: Session[] }>(`/api/sessions?protocol=${protocol}`)
        const closed = sessions.filter((s) => s.status !== 'live')
        if (closed.length >= n) return closed
        if (Date.now() > deadline) throw new Error(`only ${closed.length} of ${n} ${protocol} sessions closed: ${JSON.stringify(sessions)}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    async stop() {
      await cli.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** One session with its events, as the API gives it. */
export interface SessionView {
  session: Session
  events: SessionEvent[]
}

export function sessionView(cli: RunningCli, id: string, query = ''): Promise<SessionView> {
  return cli.get<SessionView>(`/api/sessions/${id}${query}`)
}
