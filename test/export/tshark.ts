// Runs tshark on a capture file and returns the requested fields, one row per packet.
import { execFile, execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Why tshark tests are skipped, or false to run them. Outside CI a missing tshark skips. */
export const tsharkSkip: string | false = hasTshark()
  ? false
  : process.env.CI
    ? false // in CI a missing tshark must fail loudly
    : 'tshark is not installed (apt-get install tshark)'

/** Async, so tests can run several tshark processes at once. */
export async function tsharkFields(capture: Buffer, filter: string, fields: string[], extra: string[] = []): Promise<string[][]> {
  const dir = await mkdtemp(join(tmpdir(), 'mailtap-tshark-'))
  try {
    const file = join(dir, 'capture.pcapng')
    await writeFile(file, capture)
    const args = ['-r', file, '-n', ...extra, ...(filter ? ['-Y', filter] : []), '-T', 'fields', ...fields.flatMap((f) => ['-e', f])]
    const out = await new Promise<string>((resolve, reject) => {
      execFile('tshark', args, { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`tshark ${args.join(' ')}: ${err.message} ${stderr}`))
        else resolve(stdout)
      })
    })
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
