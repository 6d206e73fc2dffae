// Test helpers for the lab: a raw line client (netcat-style, for typing the seed's lines
// exactly), a throwaway certificate, and running external clients (curl, swaks, python3).
import { execFile } from 'node:child_process'
import net from 'node:net'
import tls from 'node:tls'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** A plain TCP client that collects everything the server says. */
export class RawClient {
  private received = Buffer.alloc(0)
  private waiters: (() => void)[] = []
  closed = false
  socket: net.Socket | tls.TLSSocket

  private constructor(socket: net.Socket | tls.TLSSocket) {
    this.socket = socket
    this.listen(socket)
  }

  private listen(socket: net.Socket | tls.TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d])
      this.wake()
    })
    socket.on('close', () => {
      if (socket !== this.socket) return
      this.closed = true
      this.wake()
    })
    socket.on('error', () => {})
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new RawClient(s)))
      s.once('error', reject)
    })
  }

  static connectTls(port: number, ca: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' }, () => resolve(new RawClient(s)))
      s.once('error', reject)
    })
  }

  /** Everything received so far, as text. */
  get text(): string {
    return this.received.toString('utf8')
  }

  /** Takes and returns what was received so far. */
  take(): string {
    const t = this.text
    this.received = Buffer.alloc(0)
    return t
  }

  /** Waits until the received text matches (or the connection closes); returns and clears it. */
  async until(pattern: RegExp, what = String(pattern)): Promise<string> {
    const deadline = Date.now() + 10_000
    while (!pattern.test(this.text)) {
      if (this.closed) throw new Error(`connection closed while waiting for ${what}; got: ${JSON.stringify(this.text)}`)
      if (Date.now() > deadline) throw new Error(`no ${what} within 10 s; got: ${JSON.stringify(this.text)}`)
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 200)
      })
    }
    return this.take()
  }

  /** Waits for the server to close the connection. */
  async closedByServer(): Promise<void> {
    const deadline = Date.now() + 10_000
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('server did not close the connection')
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 200)
      })
    }
  }

  send(line: string): void {
    this.socket.write(line + '\r\n')
  }

  write(data: string | Buffer): void {
    this.socket.write(data)
  }

  /** Sends a line and waits for the reply pattern. */
  async say(line: string, reply: RegExp): Promise<string> {
    this.send(line)
    return this.until(reply, `reply to ${JSON.stringify(line)}`)
  }

  /** Upgrades the connection in place (after a STARTTLS/STLS go-ahead). */
  async startTls(ca: string): Promise<void> {
    const raw = this.socket as net.Socket
    raw.removeAllListeners('data')
    const secured = tls.connect({ socket: raw, ca, servername: 'localhost' })
    await new Promise<void>((resolve, reject) => {
      secured.once('secureConnect', resolve)
      secured.once('error', reject)
    })
    this.socket = secured
    this.received = Buffer.alloc(0)
    this.listen(secured)
  }

  close(): void {
    this.socket.destroy()
  }
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs a program with a timeout; never rejects on a non-zero exit. */
export function run(file: string, args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 20_000, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
    if (opts.input !== undefined) child.stdin?.end(opts.input)
    else child.stdin?.end()
  })
}

/** Runs inline python3 code with the given argv. */
export function python(code: string, args: (string | number)[]): Promise<RunResult> {
  return run('python3', ['-c', code, ...args.map(String)])
}

let cert: { key: string; cert: string } | undefined
/** A self-signed certificate for localhost / 127.0.0.1, made once per test process. */
export async function testCertificate(): Promise<{ key: string; cert: string }> {
  if (cert) return cert
  const dir = mkdtempSync(path.join(tmpdir(), 'mailtap-lab-cert-'))
  try {
    const r = await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ])
    if (r.code !== 0) throw new Error(`openssl failed: ${r.stderr}`)
    cert = { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') }
    return cert
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64')
}
