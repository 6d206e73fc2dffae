// The skeleton the line-based decoders (SMTP, POP3) share: one LineFramer a side, the
// feed/end/upgraded cycle (client bytes held for a reply are re-read after each server
// chunk) and the opaque tails (bytes counted, not decoded, with their reason and notes).
import type { Decoded, Decoder, DecoderOptions, Note, RawRef, Side } from '../../shared/schema.ts'
import { decoded, OpaqueTail } from './common.ts'
import { LineFramer, looksLikeTlsClientHello } from './lines.ts'

export abstract class LineDecoder implements Decoder {
  protected readonly options: DecoderOptions
  protected readonly framers: Record<Side, LineFramer>
  /** The server's bytes are not the protocol (TLS on a plaintext port, a handshake). */
  protected serverOpaque = false
  protected tls: boolean
  protected readonly opaque: Record<Side, OpaqueTail> = { client: new OpaqueTail(), server: new OpaqueTail() }
  protected opaqueReason: Record<Side, string> = { client: '', server: '' }
  /** Notes for the opaque tails, emitted with them. */
  protected opaqueNotes: Record<Side, Note[]> = { client: [], server: [] }
  /** `at` of the latest client feed: client bytes held for a reply are decoded later. */
  protected clientAt = 0
  private ended: Record<Side, boolean> = { client: false, server: false }

  constructor(options: DecoderOptions) {
    this.options = options
    this.tls = options.implicitTls === true
    const framing = { maxLineBytes: options.maxLineBytes ?? 64 * 1024 }
    this.framers = { client: new LineFramer(framing), server: new LineFramer(framing) }
  }

  /** Decodes what the client's framer holds (bytes may stay held until a reply). */
  protected abstract runClient(at: number, out: Decoded[]): void
  protected abstract runServer(at: number, out: Decoded[]): void
  /** The side closed: what its framer still holds is cut short (runX has already run). */
  protected abstract endClient(at: number, out: Decoded[]): void
  protected abstract endServer(at: number, out: Decoded[]): void
  /** After the TLS switch: forget what was learnt in plaintext (the RFC says what). */
  protected abstract resetAfterTls(): void
  /** The STARTTLS_INJECTION note for plaintext a side sent between the go-ahead and the handshake. */
  protected abstract injectionNote(side: Side): Note

  feed(side: Side, bytes: Uint8Array, at: number): Decoded[] {
    const out: Decoded[] = []
    if (bytes.length === 0 || this.ended[side]) return out
    this.framers[side].push(bytes)
    if (side === 'client') {
      this.clientAt = at
      this.runClient(at, out)
    } else {
      this.runServer(at, out)
      // A reply may have decided how held client bytes are read (354, 334, a STARTTLS go-ahead).
      this.runClient(this.clientAt, out)
    }
    return out
  }

  end(side: Side, at: number): Decoded[] {
    const out: Decoded[] = []
    if (this.ended[side]) return out
    if (side === 'client') {
      this.runClient(at, out)
      this.endClient(at, out)
    } else {
      this.runServer(at, out)
      this.endServer(at, out)
    }
    this.ended[side] = true
    return out
  }

  upgraded(at: number): Decoded[] {
    const out: Decoded[] = []
    for (const side of ['client', 'server'] as const) {
      const run = this.framers[side].drain()
      if (run) this.toOpaque(side, run.offset, run.bytes.length, 'tls-handshake', run.bytes)
      this.flushOpaque(side, at, out)
    }
    this.tls = true
    this.serverOpaque = false
    this.resetAfterTls()
    return out
  }

  /**
   * Whether the client opened with a TLS record (TLS on a plaintext port); undefined
   * while one byte 0x16 is all there is, since the next chunk decides.
   */
  protected clientStartsWithTls(): boolean | undefined {
    const f = this.framers.client
    if (f.offset !== 0 || f.buffered === 0) return false
    const head = f.peek(2)
    if (head[0] === 0x16 && head.length < 2) return undefined
    return looksLikeTlsClientHello(head)
  }

  /** The client spoke TLS on a plaintext port: both sides are opaque from here on. */
  protected goOpaqueBoth(at: number, out: Decoded[], note: Note): void {
    this.serverOpaque = true
    out.push(decoded('client', at, undefined, { notes: [note] }))
    this.opaqueReason.client = this.opaqueReason.server = 'tls-on-plaintext-port'
  }

  /**
   * The server said go ahead with TLS: its next bytes are the handshake. Plaintext the
   * client pipelined after the command would be read as if it came through TLS by a
   * vulnerable server (CVE-2011-0411 class): it is an injection, never commands.
   */
  protected tlsGoAhead(at: number, raw: RawRef | undefined, out: Decoded[]): void {
    this.serverOpaque = true
    this.opaqueReason.server = ''
    out.push(decoded('server', at, { kind: 'tls', phase: 'go-ahead' }, { raw }))
    const held = this.framers.client.drain()
    if (held) {
      this.toOpaque('client', held.offset, held.bytes.length, 'starttls-injection')
      this.noteInjection('client')
    }
  }

  /** Client bytes after TLS took over: counted, never read. */
  protected drainClientOpaque(): void {
    const run = this.framers.client.drain()
    if (run) this.opaque.client.add(run.offset, run.bytes.length)
  }

  /** Client bytes after a STARTTLS go-ahead: the handshake (or an injection). */
  protected drainClientHandshake(): void {
    const run = this.framers.client.drain()
    if (run) this.toOpaque('client', run.offset, run.bytes.length, 'tls-handshake', run.bytes)
  }

  /** Server bytes while serverOpaque: all of them, as a handshake unless a reason was set. */
  protected drainServerOpaque(): void {
    const run = this.framers.server.drain()
    if (!run) return
    const reason = this.opaqueReason.server || 'tls-handshake'
    this.toOpaque('server', run.offset, run.bytes.length, reason, reason === 'tls-handshake' ? run.bytes : undefined)
  }

  /**
   * Counts bytes as opaque. After a STARTTLS go-ahead, bytes that start with a TLS
   * record are the handshake; anything else in plaintext is an injection.
   */
  protected toOpaque(side: Side, offset: number, length: number, reason: string, bytes?: Buffer): void {
    const tail = this.opaque[side]
    if (tail.length === 0) {
      this.opaqueReason[side] = reason
      if (reason === 'tls-handshake' && bytes && bytes[0] !== 0x16) {
        this.opaqueReason[side] = 'starttls-injection'
        this.noteInjection(side)
      }
    }
    tail.add(offset, length)
  }

  /** Adds the side's STARTTLS_INJECTION note to its opaque tail (once). */
  protected noteInjection(side: Side): void {
    if (this.opaqueNotes[side].some((n) => n.code === 'STARTTLS_INJECTION')) return
    this.opaqueNotes[side].push(this.injectionNote(side))
  }

  /** Emits a side's opaque tail (one item for all of it) with the notes gathered for it. */
  protected flushOpaque(side: Side, at: number, out: Decoded[]): void {
    const items = this.opaque[side].flush(side, at, this.opaqueReason[side] || 'opaque')
    const notes = this.opaqueNotes[side]
    this.opaqueNotes[side] = []
    if (items.length && notes.length) items[0].notes = notes
    else if (notes.length) out.push(decoded(side, at, undefined, { notes }))
    out.push(...items)
  }
}
