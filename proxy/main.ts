// Wiring only: parse the command line, build the pieces, start them, print where they are.
// The one place that sees the whole configuration.
import { parseCommand, type Command } from './cli.ts'
import { UsageError, type Config } from './config.ts'
import { Feed } from './feed.ts'
import { ListenError, listenRoute, type RouteListener } from './relay/listener.ts'

const VERSION = '0.1.0'

async function run(config: Config): Promise<void> {
  const feed = new Feed()
  const listeners: RouteListener[] = []
  for (const route of config.routes) {
    listeners.push(
      await listenRoute(route, {
        feed,
        idleTimeoutMs: config.idleTimeoutMs,
        connectTimeoutMs: config.connectTimeoutMs,
      }),
    )
  }
  console.log(`mailtap ${VERSION}`)
  for (const l of listeners) {
    const listen = l.route.listenUrl.replace(/:\d+$/, `:${l.port}`)
    console.log(`route: ${listen} → ${l.route.upstreamUrl}`)
  }
  const stop = async () => {
    await Promise.all(listeners.map((l) => l.close()))
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
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
      default:
        throw new UsageError(`'${cmd.name}' is not available yet`)
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ListenError) return usageExit(err)
    throw err
  }
}

function usageExit(err: unknown): void {
  process.stderr.write(`mailtap: ${(err as Error).message}\n`)
  process.exit(2)
}

await main(process.argv.slice(2))
