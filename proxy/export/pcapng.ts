// Synthesizes a pcapng capture of one session: a TCP handshake, the data segments in
// the order they crossed the proxy (seq/ack numbers consistent), and a FIN exchange,
// so Wireshark and tshark dissect it as SMTP, POP or IMAP. Pure: bytes in, bytes out.
import { isIP } from 'node:net'
import type { Peer, Protocol, Side } from '../../shared/schema.ts'

/** Ports Wireshark's dissectors are registered on; other ports would show as bare TCP. */
export const STANDARD_PORTS: Record<Protocol, number> = { smtp: 25, pop3: 110, imap: 143 }
/** Where the bytes are TLS from the first one (passthrough of smtps/pop3s/imaps): Wireshark shows TLS. */
export const IMPLICIT_TLS_PORTS: Record<Protocol, number> = { smtp: 465, pop3: 995, imap: 993 }

/** IPv4 total length is 16 bits: 65535 - 20 (IP) - 32 (TCP with options) leaves room. */
export const MAX_SEGMENT_BYTES = 65000

export interface PcapSegment {
  side: Side
  bytes: Uint8Array
  /** Epoch milliseconds. */
  at: number
}

export interface PcapOptions {
  protocol: Protocol
  client: Peer
  server: Peer
  /** The port the packets use for the server; default STANDARD_PORTS[protocol]. */
  serverPort?: number
  /** Extra words for the section header comment (session id, route...). */
  comment?: string
}

/** One synthesized TCP connection. A session is one, or two when STARTTLS was intercepted. */
export interface PcapConnection {
  segments: Iterable<PcapSegment>
  startedAt: number
  endedAt?: number
  /** Who sent the first FIN; the other side answers it. */
  closedBy?: Side
  /** Comment on the connection's SYN packet. */
  comment?: string
}

const LINKTYPE_ETHERNET = 1
const ETHERTYPE_IPV4 = 0x0800
const ETHERTYPE_IPV6 = 0x86dd
const CLIENT_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x01])
const SERVER_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x02])
/** RFC 5737 documentation addresses stand in when a peer has no IP (imported sessions). */
const FALLBACK_V4 = { client: '192.0.2.1', server: '192.0.2.2' }
const FALLBACK_V6 = { client: '2001:db8::1', server: '2001:db8::2' }

const TCP_FIN = 0x01
const TCP_SYN = 0x02
const TCP_PSH = 0x08
const TCP_ACK = 0x10

/**
 * Builds the whole file in memory; the caller streams or saves it. Connection k uses
 * the client port + k, so each is its own TCP stream in Wireshark.
 */
export function writePcapng(connections: readonly PcapConnection[], opts: PcapOptions): Buffer {
  const out: Buffer[] = []
  const ends = resolveEndpoints(opts)
  const comments = [`mailtap ${opts.protocol} session`]
  if (opts.comment) comments.push(opts.comment)
  if (ends.portNote) comments.push(ends.portNote)
  if (ends.addressNote) comments.push(ends.addressNote)
  out.push(sectionHeader(comments.join('\n')))
  out.push(interfaceDescription())

  let lastMicros = 0n
  connections.forEach((conn, k) => {
    const tcp = new TcpState(ends, k)
    const packet = (from: Side, flags: number, payload: Uint8Array, at: number, comment?: string) => {
      let micros = BigInt(Math.round(at * 1000))
      // Timestamps never run backwards: Wireshark's analysis assumes capture order.
      if (micros < lastMicros) micros = lastMicros
      lastMicros = micros
      out.push(enhancedPacket(tcp.frame(from, flags, payload), micros, comment))
    }

    const start = conn.startedAt
    const synComment = [k === 0 ? ends.portNote : undefined, conn.comment].filter(Boolean).join('\n')
    packet('client', TCP_SYN, EMPTY, start, synComment || undefined)
    packet('server', TCP_SYN | TCP_ACK, EMPTY, start)
    packet('client', TCP_ACK, EMPTY, start)

    let lastAt = start
    for (const seg of conn.segments) {
      const at = Math.max(seg.at, lastAt)
      lastAt = at
      for (let off = 0; off < seg.bytes.length; off += MAX_SEGMENT_BYTES) {
        const part = seg.bytes.subarray(off, Math.min(seg.bytes.length, off + MAX_SEGMENT_BYTES))
        packet(seg.side, TCP_PSH | TCP_ACK, part, at)
      }
    }

    const end = Math.max(conn.endedAt ?? lastAt, lastAt)
    const first: Side = conn.closedBy ?? 'client'
    const second: Side = first === 'client' ? 'server' : 'client'
    packet(first, TCP_FIN | TCP_ACK, EMPTY, end)
    packet(second, TCP_FIN | TCP_ACK, EMPTY, end)
    packet(first, TCP_ACK, EMPTY, end)
  })
  return Buffer.concat(out)
}

const EMPTY = new Uint8Array(0)

interface Endpoints {
  family: 4 | 6
  client: { ip: Buffer; port: number }
  server: { ip: Buffer; port: number }
  portNote?: string
  addressNote?: string
}

function resolveEndpoints(opts: PcapOptions): Endpoints {
  const std = opts.serverPort ?? STANDARD_PORTS[opts.protocol]
  let portNote: string | undefined
  if (opts.server.port && opts.server.port !== std) {
    portNote = `the server's real port was ${opts.server.port}; packets use ${std} so that ${std === STANDARD_PORTS[opts.protocol] ? opts.protocol.toUpperCase() : 'TLS'} is dissected`
  }
  // Ports below 1024 would read as a server; an unknown port gets an ephemeral one.
  let clientPort = opts.client.port >= 1024 && opts.client.port < 65536 ? opts.client.port : 49152
  if (clientPort === std) clientPort = 49152

  const c = normalizeIp(opts.client.address)
  const s = normalizeIp(opts.server.address)
  let family: 4 | 6
  let cAddr: string
  let sAddr: string
  let addressNote: string | undefined
  if (c && s && c.family === s.family) {
    family = c.family
    cAddr = c.text
    sAddr = s.text
  } else if (c && s) {
    // Mixed families (the proxy's two legs differ): show both in IPv6, v4 as mapped.
    family = 6
    cAddr = c.family === 4 ? `::ffff:${c.text}` : c.text
    sAddr = s.family === 4 ? `::ffff:${s.text}` : s.text
  } else {
    family = (c ?? s)?.family ?? 4
    const fallback = family === 4 ? FALLBACK_V4 : FALLBACK_V6
    cAddr = c?.text ?? fallback.client
    sAddr = s?.text ?? fallback.server
    addressNote = `addresses without an IP were replaced by documentation addresses (client ${opts.client.address || '?'} → ${cAddr}, server ${opts.server.address || '?'} → ${sAddr})`
  }
  if (cAddr === sAddr && clientPort === std) clientPort = 49152
  return {
    family,
    client: { ip: ipBytes(cAddr, family), port: clientPort },
    server: { ip: ipBytes(sAddr, family), port: std },
    portNote,
    addressNote,
  }
}

function normalizeIp(address: string | undefined): { family: 4 | 6; text: string } | undefined {
  if (!address) return undefined
  const a = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a)
  if (mapped) return { family: 4, text: mapped[1]! }
  const fam = isIP(a)
  if (fam === 4 || fam === 6) return { family: fam, text: a }
  return undefined
}

function ipBytes(text: string, family: 4 | 6): Buffer {
  if (family === 4) return Buffer.from(text.split('.').map(Number))
  // Expand '::' then write eight 16-bit groups; a dotted v4 tail becomes two groups.
  let t = text
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(t)
  if (v4tail) {
    const b = v4tail[1]!.split('.').map(Number)
    t = t.slice(0, -v4tail[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
  }
  const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined]
  const h = head ? head.split(':') : []
  const tl = tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - tl.length).fill('0'), ...tl]
  const buf = Buffer.alloc(16)
  groups.forEach((g, i) => buf.writeUInt16BE(parseInt(g || '0', 16), i * 2))
  return buf
}

/** Sequence numbers of both directions; each frame advances its sender's. */
class TcpState {
  private seq: Record<Side, number> = { client: 0x1000_0000, server: 0x2000_0000 }
  private ipId = 1
  private readonly clientPort: number
  constructor(
    private readonly ends: Endpoints,
    connection: number,
  ) {
    this.clientPort = ((ends.client.port + connection - 1024) % (65536 - 1024)) + 1024
  }

  frame(from: Side, flags: number, payload: Uint8Array): Buffer {
    const to: Side = from === 'client' ? 'server' : 'client'
    const src = from === 'client' ? { ...this.ends.client, port: this.clientPort } : this.ends.server
    const dst = to === 'client' ? { ...this.ends.client, port: this.clientPort } : this.ends.server
    const syn = (flags & TCP_SYN) !== 0
    // SYN carries MSS and window scale so a 65000-byte segment is within the window.
    const options = syn ? Buffer.from([2, 4, 0xff, 0xd7, 1, 3, 3, 7]) : Buffer.alloc(0)
    const tcpLen = 20 + options.length
    const tcp = Buffer.alloc(tcpLen + payload.length)
    tcp.writeUInt16BE(src.port, 0)
    tcp.writeUInt16BE(dst.port, 2)
    tcp.writeUInt32BE(this.seq[from] >>> 0, 4)
    const ackFlag = (flags & TCP_ACK) !== 0
    tcp.writeUInt32BE(ackFlag ? this.seq[to] >>> 0 : 0, 8)
    tcp[12] = (tcpLen / 4) << 4
    tcp[13] = flags
    tcp.writeUInt16BE(0xffff, 14)
    options.copy(tcp, 20)
    tcp.set(payload, tcpLen)
    // SYN and FIN each take one sequence number.
    this.seq[from] = (this.seq[from] + payload.length + (syn ? 1 : 0) + (flags & TCP_FIN ? 1 : 0)) >>> 0

    const ip = this.ends.family === 4 ? this.ipv4(src.ip, dst.ip, tcp.length) : this.ipv6(src.ip, dst.ip, tcp.length)
    const pseudo =
      this.ends.family === 4
        ? Buffer.concat([src.ip, dst.ip, Buffer.from([0, 6, tcp.length >> 8, tcp.length & 0xff])])
        : Buffer.concat([src.ip, dst.ip, u32(tcp.length), Buffer.from([0, 0, 0, 6])])
    tcp.writeUInt16BE(checksum([pseudo, tcp]), 16)

    const eth = Buffer.alloc(14)
    ;(from === 'client' ? SERVER_MAC : CLIENT_MAC).copy(eth, 0)
    ;(from === 'client' ? CLIENT_MAC : SERVER_MAC).copy(eth, 6)
    eth.writeUInt16BE(this.ends.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, 12)
    return Buffer.concat([eth, ip, tcp])
  }

  private ipv4(src: Buffer, dst: Buffer, tcpBytes: number): Buffer {
    const h = Buffer.alloc(20)
    h[0] = 0x45
    h.writeUInt16BE(20 + tcpBytes, 2)
    h.writeUInt16BE(this.ipId++ & 0xffff, 4)
    h.writeUInt16BE(0x4000, 6) // don't fragment
    h[8] = 64
    h[9] = 6
    src.copy(h, 12)
    dst.copy(h, 16)
    h.writeUInt16BE(checksum([h]), 10)
    return h
  }

  private ipv6(src: Buffer, dst: Buffer, tcpBytes: number): Buffer {
    const h = Buffer.alloc(40)
    h.writeUInt32BE(0x6000_0000, 0)
    h.writeUInt16BE(tcpBytes, 4)
    h[6] = 6
    h[7] = 64
    src.copy(h, 8)
    dst.copy(h, 24)
    return h
  }
}

/** RFC 1071 Internet checksum over the concatenation of `parts`. */
function checksum(parts: Buffer[]): number {
  let sum = 0
  let odd: number | undefined
  for (const p of parts) {
    let i = 0
    if (odd !== undefined && p.length > 0) {
      sum += (odd << 8) | p[0]!
      odd = undefined
      i = 1
    }
    for (; i + 1 < p.length; i += 2) sum += (p[i]! << 8) | p[i + 1]!
    if (i < p.length) odd = p[i]!
    // Fold now and then so the sum stays a small integer.
    if (sum > 0x7fff_ffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
  }
  if (odd !== undefined) sum += odd << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
  return ~sum & 0xffff
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b
}

// --- pcapng blocks (little-endian; readers detect the byte order from the SHB magic) ---

function pad4(n: number): number {
  return (n + 3) & ~3
}

function option(code: number, value: Buffer): Buffer {
  const b = Buffer.alloc(4 + pad4(value.length))
  b.writeUInt16LE(code, 0)
  b.writeUInt16LE(value.length, 2)
  value.copy(b, 4)
  return b
}

function options(list: Buffer[]): Buffer {
  if (list.length === 0) return Buffer.alloc(0)
  return Buffer.concat([...list, Buffer.alloc(4)]) // opt_endofopt
}

function block(type: number, body: Buffer): Buffer {
  const len = 12 + body.length
  const b = Buffer.alloc(len)
  b.writeUInt32LE(type, 0)
  b.writeUInt32LE(len, 4)
  body.copy(b, 8)
  b.writeUInt32LE(len, len - 4)
  return b
}

function sectionHeader(comment: string): Buffer {
  const fixed = Buffer.alloc(16)
  fixed.writeUInt32LE(0x1a2b3c4d, 0)
  fixed.writeUInt16LE(1, 4)
  fixed.writeUInt16LE(0, 6)
  fixed.writeBigInt64LE(-1n, 8) // section length unknown
  const opts = options([option(1, Buffer.from(comment)), option(4, Buffer.from('mailtap'))])
  return block(0x0a0d0d0a, Buffer.concat([fixed, opts]))
}

function interfaceDescription(): Buffer {
  const fixed = Buffer.alloc(8)
  fixed.writeUInt16LE(LINKTYPE_ETHERNET, 0)
  fixed.writeUInt32LE(0, 4) // snaplen: no limit
  const opts = options([option(2, Buffer.from('mailtap')), option(9, Buffer.from([6]))]) // if_tsresol: µs
  return block(1, Buffer.concat([fixed, opts]))
}

function enhancedPacket(frame: Buffer, micros: bigint, comment?: string): Buffer {
  const fixed = Buffer.alloc(20)
  fixed.writeUInt32LE(0, 0)
  fixed.writeUInt32LE(Number(micros >> 32n), 4)
  fixed.writeUInt32LE(Number(micros & 0xffff_ffffn), 8)
  fixed.writeUInt32LE(frame.length, 12)
  fixed.writeUInt32LE(frame.length, 16)
  const padded = Buffer.alloc(pad4(frame.length))
  frame.copy(padded)
  const opts = comment ? options([option(1, Buffer.from(comment))]) : Buffer.alloc(0)
  return block(6, Buffer.concat([fixed, padded, opts]))
}
