// Gate for tests that need the real Dovecot/Postfix test bed (test/servers/servers.sh):
// returns its ports when every port greets, skips the test otherwise, and fails it under CI.
import { connect as connectTcp, type Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import type { TestContext } from 'node:test'
import { ports, portTable, serverFiles, type Ports, type PortName } from '../servers/ports.ts'
import { run } from './clients.ts'

export { ports, users, type Ports, type TestUser } from '../servers/ports.ts'

const GREETING_TIMEOUT_MS = 3000

/** Resolves to the greeting line, or rejects with why there was none. */
function readGreeting(port: number, implicitTls: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = implicitTls
      ? connectTls({ host: ports.host, port, rejectUnauthorized: false })
      : connectTcp({ host: ports.host, port })
    let data = ''
    let settled = false
    const finish = (err: Error | undefined, line?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolve(line ?? '')
    }
    const timer = setTimeout(() => finish(new Error('no greeting')), GREETING_TIMEOUT_MS)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      data += chunk
      const end = data.indexOf('\n')
      if (end >= 0) finish(undefined, data.slice(0, end).replace(/\r$/, ''))
    })
    socket.on('error', (err) => finish(err))
    socket.on('close', () => finish(new Error('closed before greeting')))
  })
}

async function probeServers(): Promise<string | undefined> {
  const failures = await Promise.all(
    portTable.map(async ({ name, implicitTls, greeting }) => {
      try {
        const line = await readGreeting(ports[name], implicitTls)
        return greeting.test(line) ? undefined : { name, problem: `unexpected greeting ${JSON.stringify(line)}` }
      } catch (err) {
        const { code, message } = err as NodeJS.ErrnoException
        return { name, problem: code ?? message }
      }
    }),
  )
  const problems = failures.filter((f) => f !== undefined)
  if (problems.length === 0) return undefined
  // Usually nothing listens at all: one short reason instead of seven.
  if (problems.length === portTable.length && problems.every((p) => p.problem === problems[0].problem)) {
    return `no port of ${ports.host} answers (${problems[0].problem})`
  }
  return problems.map((p) => `${p.name} ${ports[p.name]}: ${p.problem}`).join('; ')
}

// One probe per process: every test file may call realServers() in many tests.
let probe: Promise<string | undefined> | undefined

/**
 * The test bed's ports when all of them answer. Otherwise: under CI the call throws (the test
 * fails, since CI installs the servers); elsewhere the test is skipped and undefined returned.
 *
 *   const servers = await realServers(t); if (!servers) return
 */
export async function realServers(t?: TestContext): Promise<Ports | undefined> {
  probe ??= probeServers()
  const problem = await probe
  if (problem === undefined) return ports
  if (process.env.CI) throw new Error(`real servers are not running: ${problem} (start them: bash test/servers/servers.sh start)`)
  t?.skip(`real servers unavailable: ${problem}`)
  return undefined
}

async function runServersScript(args: string[]): Promise<void> {
  const result = await run('bash', [serverFiles.script, ...args], { timeoutMs: 15_000 })
  if (result.code !== 0) {
    throw new Error(`servers.sh ${args[0]} failed (${result.code ?? result.signal}): ${result.stderr.trim() || result.stdout.trim()}`)
  }
}

/** Empties the user's INBOX on the real Dovecot (doveadm expunge; safe while sessions are open). */
export function resetMailbox(user: string): Promise<void> {
  return runServersScript(['reset-mailbox', user])
}

/**
 * Changes the user's password in Dovecot's passwd-file; the next login (IMAP, POP3, or SMTP
 * AUTH through Dovecot SASL) sees it. `servers.sh start` restores the documented passwords.
 */
export function setPassword(user: string, password: string): Promise<void> {
  return runServersScript(['set-password', user, password])
}

export type { PortName }
