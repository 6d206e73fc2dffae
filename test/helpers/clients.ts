// Runs real client programs (curl, swaks, the python scripts in test/clients/) for tests:
// argument arrays only, never a shell string, and always a bounded run time.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface RunOptions {
  /** Written to stdin, which is then closed. Without it stdin is closed at once. */
  input?: string | Buffer
  /** Killed (SIGKILL) after this long; the result then has timedOut = true. Default 20 s. */
  timeoutMs?: number
  /** Added to the inherited environment. */
  env?: Record<string, string>
  cwd?: string
}

export interface RunResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
}

const DEFAULT_TIMEOUT_MS = 20_000

export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout.on('data', (b: Buffer) => stdout.push(b))
    child.stderr.on('data', (b: Buffer) => stderr.push(b))
    // A program that exits without reading its stdin makes our write fail with EPIPE: not our error.
    child.stdin.on('error', () => {})
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(new Error(`cannot run ${cmd}: ${err.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
      })
    })
    child.stdin.end(options.input ?? '')
  })
}

/** curl, quiet but with its errors on stderr. Pass URLs and options as separate array items. */
export function curl(args: readonly string[], options?: RunOptions): Promise<RunResult> {
  return run('curl', ['--silent', '--show-error', '--max-time', '15', ...args], options)
}

/** swaks (the SMTP test tool); its transcript is on stdout. */
export function swaks(args: readonly string[], options?: RunOptions): Promise<RunResult> {
  return run('swaks', ['--timeout', '15', ...args], options)
}

const clientsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'clients')

/** The python client scripts in test/clients/, by name. */
export const scripts = {
  seedSmtp: join(clientsDir, 'seed_smtp.py'),
  seedPop3: join(clientsDir, 'seed_pop3.py'),
  seedImap: join(clientsDir, 'seed_imap.py'),
  smtpSend: join(clientsDir, 'smtp_send.py'),
  imapFetch: join(clientsDir, 'imap_fetch.py'),
} as const

export interface PythonResult<T> extends RunResult {
  /** stdout parsed as JSON, when it is JSON. */
  json?: T
}

/** Runs a python3 script; the test/clients scripts print one JSON object on stdout. */
export async function python<T = Record<string, unknown>>(
  scriptPath: string,
  args: readonly string[],
  options?: RunOptions,
): Promise<PythonResult<T>> {
  const result: PythonResult<T> = await run('python3', [scriptPath, ...args], options)
  try {
    result.json = JSON.parse(result.stdout) as T
  } catch {
    // Left undefined: the caller's assertion on code/stderr tells what went wrong.
  }
  return result
}

/** `--host H --port P --user U --password W` for the test/clients scripts. */
export function loginArgs(host: string, port: number, login?: { user: string; password: string }): string[] {
  const args = ['--host', host, '--port', String(port)]
  if (login) args.push('--user', login.user, '--password', login.password)
  return args
}
