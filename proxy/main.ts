// Wiring only: parse the command line, build the pieces, start them, print where they are.
// The one place that sees the whole configuration.
import { createWriteStream } from 'node:fs'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { parseCommand, type Command } from './cli.ts'
import { UsageError, parseRoute, type Config } from './config.ts'
import { Feed } from './feed.ts'
import { ListenError, listenRoute, type RouteListener } from './relay/listener.ts'
import { findRecorder } from './session/recorder.ts'
import { openStore, type Store } from './store/index.ts'
import { LockError, lockDataDir, runningMailtap } from './store/lock.ts'
import { attachHub } from './hub/hub.ts'
import { startHttp } from './api/app.ts'
import { loadOrCreateCa, type Ca } from './tls/ca.ts'
import { createTlsSupport } from './tls/support.ts'
import { openKeyLogFromOptions } from './tls/keylog.ts'
import { exportSession } from './export/index.ts'
import { importFile } from './import/index.ts'
import type { Route } from '../shared/schema.ts'
import type { Lab } from './lab/index.ts'

export const VERSION = '0.1.0'

const DASHBOARD_DIR = path.resolve(import.meta.dirname, '../dashboard/dist')

/**
 * Lab mode: starts the embedded mail server on loopback ports of its own, with a leaf from
 * mailtap's CA, and returns the proxy routes that go in front of it (2525, 1110, 1143 and
 * the implicit-TLS variants, or --lab-ports).
 */
async function startLabRoutes(config: Config, ca: Ca): Promise<{ server: Lab; routes: Route[] }> {
  const { startLab, parseFaults, LAB_PROXY_PORTS } = await import('./lab/index.ts')
  let faults
  try {
    faults = config.labFaults ? parseFaults(config.labFaults) : undefined
  } catch (err) {
    throw new UsageError(`bad value for --lab-faults: ${(err as Error).message}`)
  }
  const names = new Set(['localhost', '127.0.0.1', 'mail.test', ...(config.labDomain ? [config.labDomain.toLowerCase()] : [])])
  const leaf = await ca.issue([...names])
  let server: Lab
  try {
    server = await startLab({ dataDir: config.dataDir, tls: { key: leaf.key, cert: leaf.cert }, faults, users: config.labUsers, domain: config.labDomain })
  } catch (err) {
    // The lab's own checks (users, domain) are one line each: a config problem, not a crash.
    if (/^lab: /.test((err as Error).message)) throw new UsageError((err as Error).message)
    throw err
  }
  const ports = { ...LAB_PROXY_PORTS, ...config.labPorts }
  const route = (scheme: string, listen: number | undefined, upstream: number) =>
    parseRoute(`${scheme}://127.0.0.1:${listen ?? 0}=${scheme.replace(/s$/, '')}://127.0.0.1:${upstream}`)
  const routes = [
    route('smtp', ports.smtp, server.ports.smtp),
    route('pop3', ports.pop3, server.ports.pop3),
    route('imap', ports.imap, server.ports.imap),
    route('smtps', ports.smtps, server.ports.smtp),
    route('pop3s', ports.pop3s, server.ports.pop3),
    route('imaps', ports.imaps, server.ports.imap),
  ]
  return { server, routes }
}

async function run(config: Config): Promise<void> {
  const unlock = lockDataDir(config.dataDir)
  const feed = new Feed()
  const ca = await loadOrCreateCa(config.dataDir)
  const store = await openStore({
    dir: config.dataDir,
    feed,
    retention: config.retention,
    onGap: (id, note) => findRecorder(id)?.gap(note),
  })
  const keylog = openKeyLogFromOptions(config.keylog)
  const routes: Route[] = [...config.routes]

  const lab = config.lab ? await startLabRoutes(config, ca) : undefined
  routes.push(...(lab?.routes ?? []))
  // The lab's certificate comes from mailtap's CA: trust it on the upstream leg.
  const upstreamCa = lab ? [ca.certPem] : []

  const tls = createTlsSupport({ ca, verify: config.upstreamVerify, keylog, upstreamCa })
  const listeners: RouteListener[] = []
  try {
    for (const [i, route] of routes.entries()) {
      try {
        listeners.push(
          await listenRoute(route, {
            feed,
            tls,
            idleTimeoutMs: config.idleTimeoutMs,
            connectTimeoutMs: config.connectTimeoutMs,
          }),
        )
      } catch (err) {
        // A lab port taken (often a second mailtap): one line that says how to run anyway.
        if (i >= config.routes.length && err instanceof ListenError && /already in use/.test(err.message)) {
          throw new ListenError(`lab ${err.message}; start with --lab-ports auto (free ports) or --lab-ports SMTP,POP3,IMAP`)
        }
        throw err
      }
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()))
    await lab?.server.stop()
    throw err
  }
  // Routes as bound (a port 0 became a real one).
  const bound = listeners.map((l) => l.route)

  const http = await startHttp({
    host: config.http.host,
    port: config.http.port,
    token: config.token,
    store,
    feed,
    routes: bound,
    version: VERSION,
    caPem: () => ca.certPem,
    ca,
    upstreamCa: [ca.certPem],
    upstreamVerify: config.upstreamVerify,
    staticDir: existsSync(DASHBOARD_DIR) ? DASHBOARD_DIR : undefined,
    lab: lab ? { users: lab.server.users, domain: lab.server.domain } : undefined,
    attachWs: (server) => void attachHub(server, { feed, store, version: VERSION }),
  })

  console.log(`mailtap ${VERSION}`)
  for (const r of bound) console.log(`route: ${r.listenUrl} → ${r.upstreamUrl}${r.tlsMode === 'passthrough' ? ' (TLS passthrough)' : ''}`)
  console.log(`dashboard: ${http.url.replace(/\/?$/, "/")}`)
  if (http.token) console.log(`token: ${http.token}  (required by the API and the dashboard on this address)`)
  console.log(`data: ${config.dataDir}`)
  console.log(`CA: ${ca.certPath}  (trust it to see inside TLS: mailtap ca)`)
  if (lab) {
    const { banner } = await import('./lab/index.ts')
    // The lab's routes were appended after the user's, in LAB_PORTS order.
    const labBound = bound.slice(config.routes.length)
    const port = (scheme: string) => labBound.find((r) => r.listenUrl.startsWith(`${scheme}://`))?.listen.port ?? 0
    console.log(
      banner(
        lab.server,
        { smtp: port('smtp'), pop3: port('pop3'), imap: port('imap'), smtps: port('smtps'), pop3s: port('pop3s'), imaps: port('imaps') },
        http.url,
      ),
    )
  }

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await Promise.all(listeners.map((l) => l.close()))
    await http.close()
    await lab?.server.stop()
    await store.close()
    keylog?.close?.()
    unlock()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

async function printCa(config: Config): Promise<void> {
  const ca: Ca = await loadOrCreateCa(config.dataDir)
  console.log(`# mailtap local CA: ${ca.certPath}`)
  console.log(`# SHA-256 fingerprint: ${ca.fingerprint256}`)
  process.stdout.write(ca.certPem.endsWith('\n') ? ca.certPem : ca.certPem + '\n')
}

/** For the one-shot commands (export, import, replay, mock): never beside a running server. */
async function withStore<T>(config: Config, use: (store: Store, feed: Feed) => Promise<T>): Promise<T> {
  const pid = runningMailtap(config.dataDir)
  if (pid !== undefined) {
    throw new UsageError(`mailtap (pid ${pid}) is running on ${config.dataDir}: use its dashboard or HTTP API, or stop it first`)
  }
  const unlock = lockDataDir(config.dataDir)
  const feed = new Feed()
  const store = await openStore({ dir: config.dataDir, feed })
  try {
    return await use(store, feed)
  } finally {
    await store.close()
    unlock()
  }
}

async function main(argv: string[]): Promise<void> {
  let cmd: Command
  try {
    cmd = parseCommand(argv)
  } catch (err) {
    return usageExit(err)
  }
  try {
    switch (cmd.name) {
      case 'help':
        process.stdout.write(cmd.text)
        return
      case 'version':
        console.log(VERSION)
        return
      case 'run':
        return await run(cmd.config)
      case 'ca':
        return await printCa(cmd.config)
      case 'export': {
        const { id, format, out, secrets } = cmd
        return await withStore(cmd.config, async (store) => {
          if (!store.get(id)) throw new UsageError(`no session '${id}' in ${cmd.config.dataDir}`)
          const result = await exportSession(store, id, format, { secrets })
          const body = Buffer.isBuffer(result.body) ? Readable.from([result.body]) : result.body
          await pipeline(body, out ? createWriteStream(out) : process.stdout)
          if (out) console.error(`wrote ${out}`)
        })
      }
      case 'import': {
        const { file, protocol } = cmd
        return await withStore(cmd.config, async (store, feed) => {
          if (!existsSync(file)) throw new UsageError(`cannot read ${file}: no such file`)
          const session = await importFile(file, { feed, protocol: protocol as never })
          await store.flush()
          console.log(`imported ${file} as session ${session.id} (${session.protocol}, ${session.totals.events} events)`)
        })
      }
      case 'replay': {
        const { runReplayCommand, parseRule } = await import('./replay/index.ts')
        const c = cmd
        let rules
        try {
          rules = c.rules.map(parseRule)
        } catch (err) {
          throw new UsageError((err as Error).message)
        }
        const code = await withStore(c.config, async (store, feed) => {
          if (!store.get(c.session)) throw new UsageError(`no session '${c.session}' in ${c.config.dataDir}`)
          // The upstream may be the lab or another server signed by mailtap's own CA.
          const ca = await loadOrCreateCa(c.config.dataDir)
          return runReplayCommand({
            store,
            feed,
            session: c.session,
            to: c.to,
            user: c.user,
            password: c.password,
            speed: c.speed,
            lockstep: c.lockstep,
            rules,
            tls: { ca: ca.certPem, verify: c.config.upstreamVerify },
          })
        })
        process.exitCode = code
        return
      }
      case 'mock': {
        const { runMockCommand } = await import('./replay/index.ts')
        const c = cmd
        return await withStore(c.config, async (store, feed) => {
          if (!store.get(c.session)) throw new UsageError(`no session '${c.session}' in ${c.config.dataDir}`)
          const ca = await loadOrCreateCa(c.config.dataDir)
          await runMockCommand({ store, feed, session: c.session, listen: c.listen, ca })
        })
      }
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ListenError || err instanceof LockError) return usageExit(err)
    if (['ImportError', 'ExportError', 'ReplayError', 'MockError', 'EndpointError', 'ScriptError'].includes((err as Error).name)) return usageExit(err)
    throw err
  }
}

function usageExit(err: unknown): void {
  process.stderr.write(`mailtap: ${(err as Error).message}\n`)
  process.exit(2)
}

await main(process.argv.slice(2))
