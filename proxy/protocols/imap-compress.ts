// COMPRESS=DEFLATE (RFC 4978) for one direction: raw deflate in, the plain IMAP stream
// out, plus a map from plain offsets back to the compressed wire bytes.
//
// Where the output lands must not depend on how TCP split the input, so the compressed
// stream is cut at fixed points only: right after each sync-flush marker (00 00 FF FF,
// which RFC 4978 §4 makes senders emit at the end of every command and response) and
// every SEGMENT_BYTES otherwise. Each segment is inflated as one unit, with one inflate
// context kept for the whole stream. fflate's streaming Inflate is synchronous and keeps
// its state across pushes (Node's zlib has no synchronous streaming API: _processChunk
// closes its handle after one call). A raw ref after COMPRESS therefore covers the
// compressed segments that carried the event's bytes: usually exactly the flushed
// command or response, at worst a little more.
import { Inflate } from 'fflate'

/** Longest compressed run inflated as one unit when the sender does not flush. */
const SEGMENT_BYTES = 16 * 1024
const MARKER = Buffer.from([0x00, 0x00, 0xff, 0xff])

interface Segment {
  plainStart: number
  plainEnd: number
  wireStart: number
  wireEnd: number
}

export class DeflateReader {
  private readonly inflate = new Inflate()
  private produced: Buffer[] = []
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Wire offset of the first pending byte. */
  private wireOffset: number
  /** Up to three last wire bytes, for a marker split across chunks. */
  private tail: Buffer = Buffer.alloc(0)
  private plainOffset = 0
  private segments: Segment[] = []
  /** Set once inflating failed; the rest of the stream is opaque. */
  failed: string | undefined
  /** Wire offset of the segment that failed to inflate. */
  failedAt: number | undefined

  constructor(wireStart: number) {
    this.wireOffset = wireStart
    this.inflate.ondata = (data) => {
      if (data.length) this.produced.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
    }
  }

  /** Compressed bytes in; the plain bytes that became available out (in order). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = []
    if (this.failed) return out
    let pos = 0
    while (pos < chunk.length && !this.failed) {
      const room = SEGMENT_BYTES - this.pendingBytes
      const cut = this.findMarkerEnd(chunk, pos)
      if (cut >= 0 && cut - pos <= room) {
        this.take(chunk.subarray(pos, cut))
        pos = cut
        this.inflateSegment(out)
      } else if (chunk.length - pos >= room) {
        this.take(chunk.subarray(pos, pos + room))
        pos += room
        this.inflateSegment(out)
      } else {
        this.take(chunk.subarray(pos))
        pos = chunk.length
      }
    }
    return out
  }

  /** The stream ended: inflate what is pending. */
  end(): Buffer[] {
    const out: Buffer[] = []
    if (!this.failed && this.pendingBytes > 0) this.inflateSegment(out)
    return out
  }

  /** Wire bytes covering plain bytes [start, end). */
  map(start: number, end: number): { offset: number; length: number } {
    const first = this.find(start)
    const last = this.find(Math.max(start, end - 1))
    const wireStart = first?.wireStart ?? this.wireOffset
    const wireEnd = last?.wireEnd ?? this.wireOffset
    return { offset: wireStart, length: Math.max(0, wireEnd - wireStart) }
  }

  /** Plain bytes before this offset will never be mapped again. */
  forget(before: number): void {
    let n = 0
    while (n < this.segments.length - 1 && this.segments[n].plainEnd <= before) n++
    if (n > 0) this.segments.splice(0, n)
  }

  /** Wire offset just past the last compressed byte received. */
  get wireEnd(): number {
    return this.wireOffset + this.pendingBytes
  }

  private find(plain: number): Segment | undefined {
    const segs = this.segments
    // Few segments stay alive (forget() prunes them), so a scan from the end is cheap.
    for (let i = segs.length - 1; i >= 0; i--) if (segs[i].plainStart <= plain) return segs[i]
    return segs[0]
  }

  private take(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.pending.push(bytes)
    this.pendingBytes += bytes.length
    const joined = bytes.length >= 3 ? bytes.subarray(bytes.length - 3) : Buffer.concat([this.tail, bytes])
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - 3)))
  }

  /** Index in chunk just past the next marker at or after pos, counting the tail; -1 if none. */
  private findMarkerEnd(chunk: Buffer, pos: number): number {
    const head = this.pendingBytes > 0 ? this.tail : Buffer.alloc(0)
    const probe = head.length > 0 ? Buffer.concat([head, chunk.subarray(pos, pos + 3)]) : undefined
    if (probe) {
      const i = probe.indexOf(MARKER)
      if (i >= 0) return pos + (i + 4 - head.length)
    }
    const j = chunk.indexOf(MARKER, pos)
    return j >= 0 ? j + 4 : -1
  }

  private inflateSegment(out: Buffer[]): void {
    const input = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending)
    const wireStart = this.wireOffset
    this.wireOffset += this.pendingBytes
    this.pending = []
    this.pendingBytes = 0
    this.tail = Buffer.alloc(0)
    let plain: Buffer
    try {
      this.inflate.push(input)
      plain = this.produced.length === 1 ? this.produced[0] : Buffer.concat(this.produced)
      this.produced = []
    } catch (err) {
      this.failed = (err as Error).message || 'inflate failed'
      this.failedAt = wireStart
      return
    }
    if (plain.length === 0) return
    this.segments.push({ plainStart: this.plainOffset, plainEnd: this.plainOffset + plain.length, wireStart, wireEnd: this.wireOffset })
    this.plainOffset += plain.length
    out.push(plain)
  }
}
