// The real `mailtap` command as a child process on a data directory the test owns, so it
// can be killed with SIGKILL and started again on the same recordings.
import { spawnCli, type CliProcess } from '../helpers/cli-process.ts'

export interface MailtapProcess extends CliProcess {
  /** The bound port of the first route. */
  routePort: number
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  baseUrl: string
}

/** Spawns `mailtap --data DIR --http 127.0.0.1:0 --route R...` and waits for its start lines. */
export async function spawnMailtap(dataDir: string, routes: string[]): Promise<MailtapProcess> {
  // 'dashboard:' is printed after every 'route:' line.
  const cli = await spawnCli(['--data', dataDir, '--http', '127.0.0.1:0', ...routes.flatMap((r) => ['--route', r])], /^dashboard: \S+/m)
  const route = /^route: \w+:\/\/\S*:(\d+) → /m.exec(cli.stdout)
  const dashboard = /^dashboard: (http:\/\/\S+?)\/?$/m.exec(cli.stdout)
  if (!route || !dashboard) {
    await cli.kill9()
    throw new Error(`could not read the route port and dashboard URL\n${cli.output()}`)
  }
  return Object.assign(cli, { routePort: Number(route[1]), baseUrl: dashboard[1]! })
}
