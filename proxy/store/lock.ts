// One mailtap per data directory. A running mailtap keeps its pid in DIR/mailtap.pid; the
// store is not safe to open twice (recovery would mark the other process's live sessions
// as crashed), so a second server, or `export`/`import`/`replay`/`mock` beside a running
// one, is refused with one clear line. A pid file left by a crash (kill -9) is stale and
// taken over.
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'

export function lockFile(dir: string): string {
  return path.join(dir, 'mailtap.pid')
}

/** The pid of another live mailtap using `dir`, if any. */
export function runningMailtap(dir: string): number | undefined {
  let pid: number
  try {
    pid = Number(readFileSync(lockFile(dir), 'utf8').trim())
  } catch {
    return undefined
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch (err) {
    // EPERM: alive but not ours to signal; ESRCH: gone, the file is stale.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined
  }
}

/** Claims `dir` for this process; returns a release function. Throws when another holds it. */
export function lockDataDir(dir: string): () => void {
  const other = runningMailtap(dir)
  if (other !== undefined) throw new LockError(`another mailtap (pid ${other}) is using ${dir}: stop it, or give this one its own --data`)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(lockFile(dir), `${process.pid}\n`)
  return () => {
    if (runningMailtap(dir) === undefined) rmSync(lockFile(dir), { force: true })
  }
}

export class LockError extends Error {
  override name = 'LockError'
}
