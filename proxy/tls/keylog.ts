// The NSS key log (`--keylog FILE`, `SSLKEYLOGFILE`): every TLS secret of both legs,
// appended one line at a time, so Wireshark can decrypt a capture taken beside mailtap.
// Format: https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/
import { createWriteStream, type WriteStream } from 'node:fs'
import type { TLSSocket } from 'node:tls'

export interface KeyLog {
  readonly path: string
  /** Appends this socket's secrets as its handshake produces them. Call right after the
   *  socket is created (before its handshake runs), on either side. */
  attach(socket: TLSSocket): void
  /** One NSS line ('CLIENT_RANDOM <hex> <hex>' or a TLS 1.3 '*_SECRET' line). */
  write(line: Buffer | string): void
  /** Lines written so far (for tests and status). */
  readonly lines: number
  close(): Promise<void>
}

/** Opens `path` for appending (created mode 0600: these lines decrypt the traffic). */
export function openKeyLog(path: string): KeyLog {
  let stream: WriteStream | undefined = createWriteStream(path, { flags: 'a', mode: 0o600 })
  let lines = 0
  let failed = false
  stream.on('error', (err) => {
    // A key log is an aid: losing it must not take the proxy down. Say so once.
    if (!failed) process.emitWarning(`key log ${path} stopped: ${err.message}`, { code: 'MAILTAP_KEYLOG' })
    failed = true
    stream = undefined
  })
  const write = (line: Buffer | string) => {
    if (!stream || failed) return
    const text = typeof line === 'string' ? line : line.toString('latin1')
    stream.write(text.endsWith('\n') ? text : text + '\n')
    lines++
  }
  return {
    path,
    attach(socket) {
      socket.on('keylog', write)
    },
    write,
    get lines() {
      return lines
    },
    close() {
      const s = stream
      stream = undefined
      if (!s || failed) return Promise.resolve()
      return new Promise((resolve) => s.end(() => resolve()))
    },
  }
}

/** The key log the user asked for: `--keylog FILE` first, else `$SSLKEYLOGFILE`, else none. */
export function openKeyLogFromOptions(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): KeyLog | undefined {
  const path = flag || env.SSLKEYLOGFILE
  return path ? openKeyLog(path) : undefined
}
