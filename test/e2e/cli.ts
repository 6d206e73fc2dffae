// The real `mailtap` command for end-to-end tests: spawns bin/mailtap.mjs with a fresh data
// directory, reads the bound routes and the dashboard URL from its stdout, and talks to
// its HTTP API like any user would.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Protocol, Session, SessionEvent } from '../../shared/schema.ts'

const BIN = path.resolve(import.meta.dirname, '../../bin/mailtap.mjs')
const START_TIMEOUT_MS = 20_000

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
  const args = [BIN, '--data', dataDir, '--http', '127.0.0.1:0', ...routes.flatMap((r) => ['--route', r]), ...extraArgs]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // A test run that ends early (--test-force-exit, a crash) must not leave mailtap running.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  void exited.then(() => process.off('exit', killOnExit))
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`

  // 'dashboard:' comes after every 'route:' line.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`mailtap did not print its dashboard line in time\n${output()}`)), START_TIMEOUT_MS)
    const fail = (err: Error) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(err)
    }
    const check = () => {
      if (/^dashboard: \S+/m.test(stdout)) {
        clearTimeout(timer)
        child.stdout!.off('data', check)
        child.off('exit', onExit)
        resolve()
      }
    }
    const onExit = (code: number | null) => fail(new Error(`mailtap exited (${code}) before it was ready\n${output()}`))
    child.stdout!.on('data', check)
    child.once('exit', onExit)
  })

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
    output,
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
      if (child.exitCode === null && child.signalCode === null) {
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
        child.kill('SIGTERM')
        await exited
        clearTimeout(killer)
      }
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
