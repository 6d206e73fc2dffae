// Runs tshark on a capture file and returns the requested fields, one row per packet.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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

export function tsharkFields(capture: Buffer, filter: string, fields: string[], extra: string[] = []): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'mailtap-tshark-'))
  try {
    const file = join(dir, 'capture.pcapng')
    writeFileSync(file, capture)
    const args = ['-r', file, '-n', ...extra, ...(filter ? ['-Y', filter] : []), '-T', 'fields', ...fields.flatMap((f) => ['-e', f])]
    const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 })
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
