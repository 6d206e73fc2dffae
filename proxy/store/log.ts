// Buffered append-only writers for the per-session files (events.ndjson, client.bin,
// server.bin, messages/<n>.eml). Appending only queues a Buffer; the store flushes every
// writer on a short timer, so a write costs the size of what is written and the feed
// listener never waits on the disk.
import { open as openFile, type FileHandle } from 'node:fs/promises'
import { constants } from 'node:fs'

/** One open file. `position` null appends at the end; a number writes there (pwrite). */
export interface StoreFile {
  write(chunks: Buffer[], position: number | null): Promise<void>
  close(): Promise<void>
}

/**
 * The only file-writing primitive the append paths use. Tests pass their own to inject
 * ENOSPC/EIO failures; everything else (reads, mkdir, rm) goes to node:fs directly.
 */
export interface StoreIo {
  open(path: string, mode: 'append' | 'positional'): Promise<StoreFile>
}

export const nodeIo: StoreIo = {
  async open(path, mode) {
    // Positional files (raw captures) are opened without O_APPEND so that pwrite lands
    // at the chunk's stream offset even after an earlier write was lost: RawRef.offset
    // stays true, a lost range reads back as zeros.
    const flags =
      mode === 'append'
        ? constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND
        : constants.O_WRONLY | constants.O_CREAT
    const fh: FileHandle = await openFile(path, flags, 0o600)
    return {
      async write(chunks, position) {
        let pos = position
        let rest = chunks
        while (rest.length > 0) {
          const { bytesWritten } = await fh.writev(rest, pos ?? undefined)
          // writev may write short (rare, but disks fill up): carry on with the remainder.
          let left = bytesWritten
          let i = 0
          while (i < rest.length && left >= rest[i]!.length) left -= rest[i++]!.length
          rest = rest.slice(i)
          if (left > 0 && rest.length > 0) rest = [rest[0]!.subarray(left), ...rest.slice(1)]
          if (pos !== null) pos += bytesWritten
          if (bytesWritten === 0 && rest.length > 0) throw Object.assign(new Error('short write'), { code: 'EIO' })
        }
      },
      close: () => fh.close(),
    }
  },
}

/** What a writer reports: a write that failed (bytes lost) or one that succeeded. */
export interface WriteReport {
  failed(err: Error, lostBytes: number): void
  written?(bytes: number): void
  /** The last queued write finished: what arrived meanwhile can go out as one writev. */
  idle?(writer: AppendWriter): void
}

/** Bytes held in memory by all writers of a store, to cap what a slow disk can cost. */
export interface Budget {
  held: number
}

/**
 * Reusable buffers that large appends are copied into. A socket's chunk queued for the
 * disk lives long enough to leave V8's young generation, and the external memory of
 * hundreds of MB/s of such chunks forces a full GC every few hundred MB. Copied into
 * slabs that go back to this pool after their write, the chunks die young and the
 * recorder allocates nothing per chunk.
 */
export class SlabPool {
  private readonly free: Buffer[] = []
  /** The fewest slabs left free since the last trim: that many were not needed. */
  private idle = 0
  private trimmer: NodeJS.Timeout | undefined
  constructor(
    /** Free slabs kept at most: as many as the store may hold (a disk that falls behind
     *  and catches up again then costs no allocation at all). */
    private readonly maxFree: number,
    readonly slabBytes = 256 * 1024,
  ) {}
  take(): Buffer {
    const slab = this.free.pop() ?? Buffer.allocUnsafeSlow(this.slabBytes)
    this.idle = Math.min(this.idle, this.free.length)
    return slab
  }
  give(slab: Buffer): void {
    if (this.free.length < this.maxFree) this.free.push(slab)
    // Slabs that stay unused for a few seconds are let go: a burst is not kept for ever.
    this.trimmer ??= setInterval(() => this.trim(), 5000).unref()
  }
  private trim(): void {
    this.free.length -= this.idle
    this.idle = this.free.length
    if (this.free.length === 0) {
      clearInterval(this.trimmer)
      this.trimmer = undefined
    }
  }
}

/** Appends at least this large are copied into slabs; smaller ones are queued as they are. */
const COPY_MIN_BYTES = 4096

/**
 * A file that only grows. `append` queues; `flush` writes everything queued in one
 * writev. At most one write is in flight per file, so the bytes land in order.
 */
export class AppendWriter {
  private pending: Buffer[] = []
  /** The slab being filled (pool mode): its bytes from `slabStart` are not in `pending` yet. */
  private slab: Buffer | undefined
  private slabStart = 0
  private slabUsed = 0
  /** Slabs holding queued bytes: back to the pool once the write that takes them ends. */
  private slabs: Buffer[] = []
  /** Positional mode: the stream offset of pending[0]. */
  private pendingAt = 0
  private pendingBytes = 0
  /** Bytes queued or being written: what this writer holds in memory. */
  heldBytes = 0
  private file: Promise<StoreFile> | undefined
  private tail: Promise<void> = Promise.resolve()
  /** Writes handed to the chain and not finished yet. */
  private writes = 0
  private closed = false

  constructor(
    private readonly io: StoreIo,
    readonly path: string,
    private readonly mode: 'append' | 'positional',
    /** Resolves once the directory exists. */
    private readonly ready: Promise<unknown>,
    private readonly report: WriteReport,
    private readonly budget: Budget = { held: 0 },
    private readonly pool?: SlabPool,
  ) {}

  /** Queues bytes. In positional mode `at` is their stream offset. */
  append(bytes: Buffer, at?: number): void {
    if (this.closed) return
    if (this.mode === 'positional' && at !== undefined) {
      // A non-contiguous chunk (an earlier one was dropped) starts a new run: write out
      // what is queued first so each writev is one contiguous range.
      if (this.pendingBytes > 0 && this.pendingAt + this.pendingBytes !== at) void this.flush()
      if (this.pendingBytes === 0) this.pendingAt = at
    }
    if (this.pool && bytes.length >= COPY_MIN_BYTES) this.copyIn(bytes)
    else {
      this.seal()
      this.pending.push(bytes)
    }
    this.pendingBytes += bytes.length
    this.heldBytes += bytes.length
    this.budget.held += bytes.length
  }

  get dirty(): boolean {
    return this.pendingBytes > 0
  }

  private copyIn(bytes: Buffer): void {
    const pool = this.pool!
    let at = 0
    while (at < bytes.length) {
      if (!this.slab || this.slabUsed === this.slab.length) {
        this.seal()
        this.slab = pool.take()
        this.slabs.push(this.slab)
        this.slabStart = this.slabUsed = 0
      }
      const n = bytes.copy(this.slab, this.slabUsed, at)
      this.slabUsed += n
      at += n
    }
  }

  /** Queues what the open slab holds, so that what comes next stays in order behind it. */
  private seal(): void {
    if (this.slab && this.slabUsed > this.slabStart) {
      this.pending.push(this.slab.subarray(this.slabStart, this.slabUsed))
      this.slabStart = this.slabUsed
    }
  }

  /** Bytes queued and not yet handed to a write (in-flight writes excluded). */
  get queuedBytes(): number {
    return this.pendingBytes
  }

  /** A write is under way (or chained). */
  get writing(): boolean {
    return this.writes > 0
  }

  /** Writes out what is queued now. Resolves when it (and anything before it) is on disk. */
  flush(): Promise<void> {
    if (this.pendingBytes === 0) return this.tail
    this.seal()
    const chunks = this.pending
    const at = this.pendingAt
    const bytes = this.pendingBytes
    // The slabs go with this write: the next append starts a fresh one.
    const slabs = this.slabs
    this.slab = undefined
    this.slabs = []
    this.pending = []
    this.pendingBytes = 0
    this.pendingAt = at + bytes
    this.writes++
    this.tail = this.tail.then(() => this.writeOut(chunks, at, bytes, slabs))
    return this.tail
  }

  /** Flushes, then closes the file. Later appends are ignored. */
  async close(): Promise<void> {
    this.closed = true
    await this.flush()
    const file = this.file
    this.file = undefined
    if (file) await file.then((f) => f.close()).catch(() => undefined)
  }

  private async writeOut(chunks: Buffer[], at: number, bytes: number, slabs: Buffer[]): Promise<void> {
    try {
      await this.ready
      this.file ??= this.io.open(this.path, this.mode)
      const file = await this.file
      await file.write(chunks, this.mode === 'positional' ? at : null)
      this.report.written?.(bytes)
    } catch (err) {
      // A file that failed is reopened on the next flush (the disk may have room again).
      if (this.file) {
        const f = this.file
        this.file = undefined
        f.then((x) => x.close()).catch(() => undefined)
      }
      this.report.failed(err as Error, bytes)
    } finally {
      for (const slab of slabs) this.pool!.give(slab)
      this.heldBytes -= bytes
      this.budget.held -= bytes
      if (--this.writes === 0 && !this.closed) this.report.idle?.(this)
    }
  }
}
