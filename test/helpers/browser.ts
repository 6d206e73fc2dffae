// Browser tests drive Debian's chromium through playwright-core (nothing downloads a
// browser) against the real mailtap process, started with a temp data dir and --http
// on port 0. Also builds the dashboard once when its sources are newer than the build.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** True when a browser is there; tests skip themselves otherwise (CI installs it). */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM)
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return newest
}

/** Runs `vite build` (under a lock: test files run in parallel) when dist is stale. */
export function ensureDashboardBuilt(): void {
  const dist = path.join(root, 'dashboard/dist/index.html')
  const sources = Math.max(newestMtime(path.join(root, 'dashboard/src')), newestMtime(path.join(root, 'shared')), statSync(path.join(root, 'dashboard/index.html')).mtimeMs)
  if (existsSync(dist) && statSync(dist).mtimeMs >= sources) return
  const res = spawnSync(
    'flock',
    [path.join(os.tmpdir(), 'mailtap-dashboard-build.lock'), 'sh', '-c', `test -f "${dist}" && [ "$(stat -c %Y "${dist}")" -ge "${Math.floor(sources / 1000)}" ] || npx vite build --config dashboard/vite.config.ts --logLevel error`],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 },
  )
  if (res.status !== 0) throw new Error(`vite build failed (${res.status ?? res.signal})`)
}

export interface MailtapProcess {
  /** The dashboard's base URL, e.g. http://127.0.0.1:41234/ */
  url: string
  /** Listening port of each --route, in the order given. */
  routePorts: number[]
  dataDir: string
  child: ChildProcess
  stdout(): string
  stop(): Promise<void>
}

/**
 * Starts `node --import tsx proxy/main.ts --http 127.0.0.1:0 --data DIR --route ...` and
 * waits for it to print `dashboard: URL` and one `route:` line per route.
 */
export async function startMailtapProcess(opts: { routes: string[]; dataDir?: string; args?: string[]; timeoutMs?: number; httpPort?: number }): Promise<MailtapProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'mailtap-dash-'))
  // MAILTAP_MAIN picks another entry point (bin/mailtap.mjs, a build); default proxy/main.ts.
  const entry = process.env.MAILTAP_MAIN ?? 'proxy/main.ts'
  const args = ['--import', 'tsx', entry, '--http', `127.0.0.1:${opts.httpPort ?? 0}`, '--data', dataDir, ...opts.routes.flatMap((r) => ['--route', r]), ...(opts.args ?? [])]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8')
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (s: string) => (err += s))
  const ready = new Promise<{ url: string; ports: number[] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mailtap did not print its dashboard URL in time.\nstdout: ${out}\nstderr: ${err}`)), opts.timeoutMs ?? 20_000)
    const check = () => {
      const m = /dashboard: (http:\/\/\S+)/.exec(out)
      const routeLines = [...out.matchAll(/^route: \S+?:(\d+) /gm)]
      if (m && routeLines.length >= opts.routes.length) {
        clearTimeout(timer)
        resolve({ url: m[1].endsWith('/') ? m[1] : `${m[1]}/`, ports: routeLines.map((r) => Number(r[1])) })
      }
    }
    child.stdout!.on('data', (s: string) => {
      out += s
      check()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`mailtap exited (${code}) before it was ready.\nstdout: ${out}\nstderr: ${err}`))
    })
  })
  const { url, ports } = await ready
  return {
    url,
    routePorts: ports,
    dataDir,
    child,
    stdout: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export interface Browser {
  context: BrowserContext
  page: Page
  downloadsDir: string
  close(): Promise<void>
}

/** A headless Chromium with a fresh profile directory, removed on close. */
export async function launchBrowser(opts: { viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {}): Promise<Browser> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-chromium-'))
  const downloadsDir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-downloads-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    acceptDownloads: true,
    downloadsPath: downloadsDir,
    viewport: opts.viewport ?? { width: 1440, height: 900 },
    deviceScaleFactor: opts.deviceScaleFactor ?? 1,
  })
  const page = context.pages()[0] ?? (await context.newPage())
  // Fail fast: a missing element is a failed test, not a 30 s wait.
  context.setDefaultTimeout(10_000)
  return {
    context,
    page,
    downloadsDir,
    close: async () => {
      await context.close()
      rmSync(userDataDir, { recursive: true, force: true })
      rmSync(downloadsDir, { recursive: true, force: true })
    },
  }
}

export interface SideEffects {
  dialogs: string[]
  console: string[]
  pageErrors: string[]
  /** Requests to anything but the dashboard's own origin (and data:/blob:/about:). */
  foreignRequests: string[]
  /** Those of them that got a response: Chromium reports some requests CSP then blocks. */
  foreignResponses: string[]
}

/** Records every dialog, console message, page error and off-origin request of a page. */
export function watchSideEffects(page: Page, origin: string): SideEffects {
  const fx: SideEffects = { dialogs: [], console: [], pageErrors: [], foreignRequests: [], foreignResponses: [] }
  page.on('dialog', (d) => {
    fx.dialogs.push(`${d.type()}: ${d.message()}`)
    void d.dismiss()
  })
  page.on('console', (m) => fx.console.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => fx.pageErrors.push(e.message))
  page.context().on('request', (r) => {
    const u = r.url()
    if (u.startsWith(origin) || /^(data|blob|about):/.test(u)) return
    fx.foreignRequests.push(u)
  })
  page.context().on('response', (r) => {
    const u = r.url()
    if (u.startsWith(origin) || /^(data|blob|about):/.test(u)) return
    fx.foreignResponses.push(`${r.status()} ${u}`)
  })
  return fx
}

/** JSON from the dashboard's API, from the test process (not the page). */
export async function apiJson<T>(base: string, p: string, init?: RequestInit): Promise<T> {
  const res = await fetch(new URL(p, base), init)
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${p}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

/** An HTTP server that counts every request: where a hostile mail would leak to. */
export async function startSink(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const { createServer } = await import('node:http')
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`)
    res.writeHead(204).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}
