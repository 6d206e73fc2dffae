// The real `mailtap` command as a child process on a data directory the test owns, so it
// can be killed with SIGKILL and started again on the same recordings.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'

const BIN = path.resolve(import.meta.dirname, '../../bin/mailtap.mjs')
const START_TIMEOUT_MS = 20_000

export interface MailtapProcess {
  child: ChildProcess
  /** The bound port of the first route. */
  routePort: number
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  baseUrl: string
  output(): string
  /** kill -9, and resolve once the process is gone. */
  kill9(): Promise<void>
  /** SIGTERM (a clean stop), SIGKILL after a few seconds. */
  stop(): Promise<void>
}

/** Spawns `mailtap --data DIR --http 127.0.0.1:0 --route R...` and waits for its start lines. */
export async function spawnMailtap(dataDir: string, routes: string[]): Promise<MailtapProcess> {
  const args = [BIN, '--data', dataDir, '--http', '127.0.0.1:0', ...routes.flatMap((r) => ['--route', r])]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`

  // 'dashboard:' is printed after every 'route:' line.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`mailtap did not print its dashboard line in time\n${output()}`)), START_TIMEOUT_MS)
    const fail = (err: Error) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(err)
    }
    const onExit = (code: number | null) => fail(new Error(`mailtap exited (${code}) before it was ready\n${output()}`))
    const check = () => {
      if (!/^dashboard: \S+/m.test(stdout)) return
      clearTimeout(timer)
      child.stdout!.off('data', check)
      child.off('exit', onExit)
      resolve()
    }
    child.stdout!.on('data', check)
    child.once('exit', onExit)
  })
  const route = /^route: \w+:\/\/\S*:(\d+) → /m.exec(stdout)
  const dashboard = /^dashboard: (http:\/\/\S+?)\/?$/m.exec(stdout)
  if (!route || !dashboard) {
    child.kill('SIGKILL')
    throw new Error(`could not read the route port and dashboard URL\n${output()}`)
  }
  return {
    child,
    routePort: Number(route[1]),
    baseUrl: dashboard[1]!,
    output,
    async kill9() {
      child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      child.kill('SIGTERM')
      await exited
      clearTimeout(killer)
    },
  }
}
