// The byte path from the relay's thread to the summary worker: one SharedArrayBuffer ring,
// one writer (the relay's thread) and one reader (the worker).
//
// Why not postMessage: a transferred batch per 256 KiB cost the relay's thread an
// allocation, page faults on fresh memory, a message each way and V8's external-memory
// accounting; together about three times the copy itself. Here a message byte costs one
// memcpy into memory that is already mapped, and nothing is allocated.
//
// Layout: records at 8-byte-aligned offsets, each an 8-byte header (message id, length)
// then the bytes. A record never wraps: when the end of the ring is too short, a WRAP
// header sends the reader back to offset 0. WRITE and READ are offsets into the ring;
// WRITE === READ means empty, so the writer never fills it to the last byte.
/** Two messages' parse budgets: one large message never finds the ring full, even if the
 * worker falls behind. Its pages are only touched as far as the writer has gone. */
export const SUMMARY_RING_BYTES = 64 * 1024 * 1024
/**
 * An empty ring whose writer is past this starts again at 0. Until the reader next runs,
 * the room is then this much, not the whole ring: it only happens when the reader has
 * just caught up.
 */
export const REWIND_BYTES = 8 * 1024 * 1024
/** The largest record; bigger writes are cut into several. */
export const MAX_RECORD_BYTES = 1024 * 1024

const HEADER = 8
const WRAP = -1
/** Int32 slots of the control array. */
const WRITE = 0
const READ = 1
/** Bytes the reader took out of the ring and still holds (copies queued in the parser). */
const HELD = 2
/** 1 while the reader sleeps: the next record must wake it (its owner posts a message). */
const WAITING = 3

export interface RingMemory {
  data: SharedArrayBuffer
  ctrl: SharedArrayBuffer
}

export function createRingMemory(bytes = SUMMARY_RING_BYTES): RingMemory {
  if (bytes % 8 !== 0 || bytes < 64) throw new Error('ring size must be a multiple of 8, at least 64')
  return { data: new SharedArrayBuffer(bytes), ctrl: new SharedArrayBuffer(4 * 4) }
}

const padded = (length: number) => HEADER + ((length + 7) & ~7)

class Ring {
  protected readonly u8: Uint8Array
  protected readonly i32: Int32Array
  protected readonly ctrl: Int32Array
  protected readonly size: number

  constructor(memory: RingMemory) {
    this.u8 = new Uint8Array(memory.data)
    this.i32 = new Int32Array(memory.data)
    this.ctrl = new Int32Array(memory.ctrl)
    this.size = memory.data.byteLength
  }

  /** Bytes on their way to the parsers: unread records plus what the reader holds. */
  get inFlight(): number {
    const write = Atomics.load(this.ctrl, WRITE)
    const read = Atomics.load(this.ctrl, READ)
    return (write >= read ? write - read : this.size - read + write) + Atomics.load(this.ctrl, HELD)
  }
}

export class RingWriter extends Ring {
  /** Where an empty ring starts again at 0 (see put). */
  private readonly rewindAt: number

  /** `wake` runs when a record lands while the reader sleeps (RingReader.sleep). */
  constructor(
    memory: RingMemory,
    private readonly wake: () => void = () => {},
    options: { rewindAt?: number } = {},
  ) {
    super(memory)
    this.rewindAt = options.rewindAt ?? Math.min(REWIND_BYTES, this.size / 2)
  }

  /**
   * Appends one record, or returns false when it does not fit, or would take what is in
   * flight past `maxInFlight`. Never waits. At most MAX_RECORD_BYTES.
   */
  put(id: number, bytes: Uint8Array, maxInFlight: number): boolean {
    const need = padded(bytes.length)
    if (bytes.length > MAX_RECORD_BYTES || this.inFlight + need > maxInFlight) return false
    const read = Atomics.load(this.ctrl, READ)
    let at = Atomics.load(this.ctrl, WRITE)
    if (at >= read) {
      // Room at the end, unless ending exactly there would make WRITE === READ (0). An
      // empty ring past REWIND_BYTES starts again at 0: while the worker keeps up, the
      // bytes go through the same cache-warm few MiB instead of all of the ring's memory.
      if (this.size - at < need || (this.size - at === need && read === 0) || (at === read && at >= this.rewindAt && need < at)) {
        if (need >= read) return false
        this.i32[(at >> 2) + 1] = WRAP
        at = 0
      }
    } else if (at + need >= read) {
      return false
    }
    this.i32[at >> 2] = id
    this.i32[(at >> 2) + 1] = bytes.length
    this.u8.set(bytes, at + HEADER)
    const next = at + need
    // The store publishes the record: the reader's Atomics.load of WRITE sees its bytes.
    Atomics.store(this.ctrl, WRITE, next === this.size ? 0 : next)
    if (Atomics.load(this.ctrl, WAITING) === 1 && Atomics.exchange(this.ctrl, WAITING, 0) === 1) this.wake()
    return true
  }
}

export class RingReader extends Ring {
  /**
   * Hands over every record written so far, then runs `settle`. The views into the ring
   * stay valid until `settle` returns (the space is given back only then): a consumer that
   * keeps bytes past that copies them, and counts its copies with hold().
   */
  drain(each: (id: number, bytes: Uint8Array) => void, settle?: () => void): void {
    let read = Atomics.load(this.ctrl, READ)
    const write = Atomics.load(this.ctrl, WRITE)
    while (read !== write) {
      const length = this.i32[(read >> 2) + 1]!
      if (length !== WRAP) {
        each(this.i32[read >> 2]!, this.u8.subarray(read + HEADER, read + HEADER + length))
        read += padded(length)
      }
      if (length === WRAP || read === this.size) read = 0
    }
    settle?.()
    Atomics.store(this.ctrl, READ, read)
  }

  /** Counts bytes copied out of the ring that are still held (negative: released). */
  hold(bytes: number): void {
    Atomics.add(this.ctrl, HELD, bytes)
  }

  /**
   * Called once drained: returns true when the reader may sleep, the writer then calling
   * `wake` with the next record. False: a record came in meanwhile, drain again. (Not
   * Atomics.waitAsync: in a worker thread whose event loop has nothing else to do, Node 20
   * does not always resolve it.) Sequentially consistent atomics on both sides: either
   * this sees the writer's new WRITE, or the writer sees WAITING and wakes the reader.
   */
  sleep(): boolean {
    Atomics.store(this.ctrl, WAITING, 1)
    if (Atomics.load(this.ctrl, WRITE) === Atomics.load(this.ctrl, READ)) return true
    Atomics.store(this.ctrl, WAITING, 0)
    return false
  }
}
