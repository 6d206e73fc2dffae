// An independent witness for byte-exactness tests: a plain TCP forwarder in front of
// mailtap that remembers every byte the client sent and received, so a test can compare
// them (as SHA-256 digests) with what mailtap recorded.
import net from 'node:net'
import { createHash } from 'node:crypto'

export interface WireTap {
  port: number
  /** Digests of all connections so far, in connection order. */
  connections: { sent: Buffer[]; received: Buffer[]; closed: Promise<void>; localPort: () => number | undefined }[]
  close(): void
}

export async function startWireTap(targetPort: number, host = '127.0.0.1'): Promise<WireTap> {
  const connections: WireTap['connections'] = []
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const sent: Buffer[] = []
    const received: Buffer[] = []
    const upstream = net.connect({ port: targetPort, host, allowHalfOpen: true })
    let localPort: number | undefined
    upstream.once('connect', () => (localPort = upstream.localPort))
    let closes = 0
    let done!: () => void
    const closed = new Promise<void>((r) => (done = r))
    const onClose = () => ++closes === 2 && done()
    client.on('data', (d) => sent.push(Buffer.from(d)))
    upstream.on('data', (d) => received.push(Buffer.from(d)))
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', onClose)
    upstream.on('close', onClose)
    // The port mailtap sees as the client's: how a test finds this connection's session.
    connections.push({ sent, received, closed, localPort: () => localPort })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { port: (server.address() as net.AddressInfo).port, connections, close: () => server.close() }
}

export function sha256(parts: Buffer[] | Buffer): string {
  const h = createHash('sha256')
  for (const p of Array.isArray(parts) ? parts : [parts]) h.update(p)
  return h.digest('hex')
}
