// The real `mailtap` command (bin/mailtap.mjs) as a child process, for end-to-end tests:
// spawned with the given arguments, its output collected, ready once its stdout shows a
// given line. The e2e, crash and lab tests build on it.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'

export const ROOT = path.resolve(import.meta.dirname, '../..')
export const BIN = path.join(ROOT, 'bin/mailtap.mjs')

export interface CliProcess {
  child: ChildProcess
  /** Everything printed so far. */
  readonly stdout: string
  readonly stderr: string
  /** Both, for failure messages. */
  output(): string
  /** kill -9, and resolve once the process is gone. */
  kill9(): Promise<void>
  /** SIGTERM (a clean stop), SIGKILL if it has not exited within a few seconds. */
  stop(): Promise<void>
}

/**
 * Spawns `node bin/mailtap.mjs ARGS` and resolves once its stdout matches `ready`; rejects
 * (and kills it) if it exits first or takes longer than `timeoutMs`. A test run that ends
 * early (--test-force-exit, a crash) does not leave it running.
 */
export async function spawnCli(args: string[], ready: RegExp, timeoutMs = 20_000): Promise<CliProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const gone = () => child.exitCode !== null || child.signalCode !== null
  const exited = new Promise<void>((resolve) => {
    if (gone()) resolve()
    else child.once('exit', () => resolve())
  })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  void exited.then(() => process.off('exit', killOnExit))
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`mailtap did not print ${ready} within ${timeoutMs} ms\n${output()}`)), timeoutMs)
    const fail = (err: Error) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(err)
    }
    const onExit = (code: number | null) => fail(new Error(`mailtap exited (${code}) before it was ready\n${output()}`))
    const check = () => {
      if (!ready.test(stdout)) return
      clearTimeout(timer)
      child.stdout!.off('data', check)
      child.off('exit', onExit)
      resolve()
    }
    child.stdout!.on('data', check)
    child.once('exit', onExit)
  })

  return {
    child,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    output,
    async kill9() {
      child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (gone()) return
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      child.kill('SIGTERM')
      await exited
      clearTimeout(killer)
    },
  }
}
