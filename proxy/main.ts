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
import { attachHub } from './hub/hub.ts'
import { startHttp } from './api/app.ts'
import { loadOrCreateCa, type Ca } from './tls/ca.ts'
import { createTlsSupport } from './tls/support.ts'
import { openKeyLogFromOptions } from './tls/keylog.ts'
import { exportSession } from './export/index.ts'
import { importFile } from './import/index.ts'
import type { Route } from '../shared/schema.ts'

export const VERSION = '0.1.0'

/** Lab mode's proxy ports, in front of the lab server's own loopback ports. */
const LAB_PORTS = { smtp: 2525, pop3: 1110, imap: 1143, smtps: 2465, pop3s: 1995, imaps: 1993 }

const DASHBOARD_DIR = path.resolve(import.meta.dirname, '../dashboard/dist')

async function run(config: Config): Promise<void> {
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

  let lab: Awaited<ReturnType<typeof import('./lab/index.ts').startLab>> | undefined
  const upstreamCa: string[] = []
  if (config.lab) {
    const { startLab, parseFaults } = await import('./lab/index.ts')
    let faults
    try {
      faults = config.labFaults ? parseFaults(config.labFaults) : undefined
    } catch (err) {
      throw new UsageError(`bad value for --lab-faults: ${(err as Error).message}`)
    }
    const leaf = await ca.issue([...new Set(['localhost', '127.0.0.1', 'mail.test', ...(config.labDomain ? [config.labDomain.toLowerCase()] : [])])])
    try {
      lab = await startLab({ dataDir: config.dataDir, tls: { key: leaf.key, cert: leaf.cert }, faults, users: config.labUsers, domain: config.labDomain })
    } catch (err) {
      // The lab's own checks (users, domain) are one line each: a config problem, not a crash.
      if (/^lab: /.test((err as Error).message)) throw new UsageError((err as Error).message)
      throw err
    }
    upstreamCa.push(ca.certPem)
    const p = (name: keyof typeof LAB_PORTS) => (config.labPorts ?? LAB_PORTS)[name]
    routes.push(
      parseRoute(`smtp://127.0.0.1:${p('smtp')}=smtp://127.0.0.1:${lab.ports.smtp}`),
      parseRoute(`pop3://127.0.0.1:${p('pop3')}=pop3://127.0.0.1:${lab.ports.pop3}`),
      parseRoute(`imap://127.0.0.1:${p('imap')}=imap://127.0.0.1:${lab.ports.imap}`),
      parseRoute(`smtps://127.0.0.1:${p('smtps')}=smtp://127.0.0.1:${lab.ports.smtp}`),
      parseRoute(`pop3s://127.0.0.1:${p('pop3s')}=pop3://127.0.0.1:${lab.ports.pop3}`),
      parseRoute(`imaps://127.0.0.1:${p('imaps')}=imap://127.0.0.1:${lab.ports.imap}`),
    )
  }

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
    await lab?.stop()
    throw err
  }
  // Routes as bound (a port 0 became a real one).
  const bound = listeners.map((l) => ({ ...l.route, listen: { ...l.route.listen, port: l.port }, listenUrl: l.route.listenUrl.replace(/:\d+$/, `:${l.port}`) }))

  const http = await startHttp({
    host: config.http.host,
    port: config.http.port,
    token: config.token,
    store,
    feed,
    routes: bound,
    version: VERSION,
    caPem: () => ca.certPem,
    staticDir: existsSync(DASHBOARD_DIR) ? DASHBOARD_DIR : undefined,
    lab: lab ? { users: lab.users, domain: lab.domain } : undefined,
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
        lab,
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
    await lab?.stop()
    await store.close()
    keylog?.close?.()
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

async function withStore<T>(config: Config, use: (store: Store, feed: Feed) => Promise<T>): Promise<T> {
  const feed = new Feed()
  const store = await openStore({ dir: config.dataDir, feed })
  try {
    return await use(store, feed)
  } finally {
    await store.close()
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
        const { runReplayCommand } = await import('./replay/index.ts')
        const c = cmd
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
    if (err instanceof UsageError || err instanceof ListenError) return usageExit(err)
    if (['ImportError', 'ExportError', 'ReplayError', 'MockError', 'EndpointError', 'ScriptError'].includes((err as Error).name)) return usageExit(err)
    throw err
  }
}

function usageExit(err: unknown): void {
  process.stderr.write(`mailtap: ${(err as Error).message}\n`)
  process.exit(2)
}

await main(process.argv.slice(2))
