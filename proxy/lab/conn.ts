// What the lab's hand-written POP3 and IMAP servers share: listeners (plain and implicit
// TLS), a per-connection byte buffer, commands handled one at a time in arrival order
// (pipelined input waits its turn), and the in-place STARTTLS/STLS upgrade.
import net from 'node:net'
import tls from 'node:tls'

export type LabSocket = net.Socket | tls.TLSSocket

/** Longest command line we buffer before giving up on a client (RFC 7162 3.2.1 suggests 8192+). */
export const MAX_LINE_BYTES = 64 * 1024

export abstract class LabConnection {
  protected socket: LabSocket
  protected buffer: Buffer = Buffer.alloc(0)
  protected closed = false
  secure: boolean
  private busy = false
  /** The client sent FIN: answer what it sent, then close (a `printf ... | nc` session). */
  private clientEnded = false
  /** Resolves once the greeting is written: nothing is answered before it (a slow fault delays it). */
  protected greeting: Promise<void> = Promise.resolve()
  private readonly onData = (chunk: Buffer) => {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    void this.pump()
  }

  constructor(socket: LabSocket, protected readonly secureContext: tls.SecureContext | undefined) {
    this.socket = socket
    this.secure = socket instanceof tls.TLSSocket
    this.attach(socket)
  }

  private attach(socket: LabSocket): void {
    socket.on('data', this.onData)
    socket.on('end', () => {
      if (socket !== this.socket) return
      this.clientEnded = true
      void this.pump()
    })
    socket.on('error', () => this.socket.destroy())
    socket.on('close', () => {
      if (socket !== this.socket) return
      this.closed = true
      this.onClose()
    })
  }

  /** Sends the greeting; called once the connection is set up. */
  abstract start(): void
  /**
   * Takes one complete command off the front of `this.buffer` and handles it; returns false
   * when the buffer does not hold a complete command yet ("need more bytes").
   */
  protected abstract step(): Promise<boolean>
  protected onClose(): void {}

  private async pump(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      await this.greeting
      while (!this.closed && (await this.step())) {
        // keep going: pipelined commands are answered in order
      }
    } catch (err) {
      // A bug in a handler must not take the lab down; close this connection only.
      console.error('mailtap lab: connection error:', err)
      this.socket.destroy()
    } finally {
      this.busy = false
    }
    if (this.clientEnded && !this.closed) this.end()
  }

  write(data: string | Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(data)
  }

  /** Ends the connection after what was written is flushed. */
  end(): void {
    this.closed = true
    this.socket.end()
    // A client that never reads must not keep the lab (and its stop()) waiting.
    setTimeout(() => this.socket.destroy(), 2000).unref()
  }

  get canStartTls(): boolean {
    return !this.secure && this.secureContext !== undefined
  }

  /**
   * Switches to TLS in place, after the go-ahead reply was written. Bytes the client sent
   * after the command in plaintext are discarded (RFC 3207 4.2, RFC 2595 3.1: a client must
   * not pipeline past STARTTLS; keeping them would allow command injection).
   */
  protected startTls(): void {
    if (!this.secureContext) throw new Error('startTls without a certificate')
    const raw = this.socket
    raw.removeListener('data', this.onData)
    this.buffer = Buffer.alloc(0)
    const secured = new tls.TLSSocket(raw, { isServer: true, secureContext: this.secureContext })
    this.socket = secured
    this.secure = true
    this.attach(secured)
  }
}

export interface LabListener {
  server: net.Server
  port: number
  close(): Promise<void>
}

/** Listens on host:port (0 = ephemeral), handing each socket to a new connection. */
export async function listen(
  host: string,
  port: number,
  tlsOptions: { key: string; cert: string } | undefined,
  implicitTls: boolean,
  create: (socket: LabSocket) => LabConnection,
): Promise<LabListener> {
  const sockets = new Set<net.Socket>()
  const onSocket = (socket: net.Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    create(socket).start()
  }
  // allowHalfOpen: a client that sends its commands and then FIN still gets every reply,
  // even a slow one; the connection ends itself once the last command is answered.
  const server: net.Server = implicitTls
    ? tls.createServer({ key: tlsOptions!.key, cert: tlsOptions!.cert, allowHalfOpen: true }, onSocket)
    : net.createServer({ allowHalfOpen: true }, onSocket)
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Splits off one CRLF- (or bare LF-) terminated line; undefined if none is complete. */
export function takeLine(buffer: Buffer): { line: string; rest: Buffer } | undefined {
  const lf = buffer.indexOf(0x0a)
  if (lf < 0) return undefined
  const end = lf > 0 && buffer[lf - 1] === 0x0d ? lf - 1 : lf
  return { line: buffer.subarray(0, end).toString('utf8'), rest: buffer.subarray(lf + 1) }
}

/** Message bytes with every line ending as CRLF (sizes and RETR both use this form). */
export function toCrlf(raw: Buffer): Buffer {
  let bare = false
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0a && (i === 0 || raw[i - 1] !== 0x0d)) {
      bare = true
      break
    }
  }
  if (!bare) return raw
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1')
}
