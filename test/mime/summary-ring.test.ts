// The shared ring between the relay's thread and the summary worker: every byte written
// comes out once, in order, per message, across wrap-arounds; a full ring or the in-flight
// cap refuses a record instead of overwriting unread ones. Writer and reader share one
// thread here: the memory model is the same SharedArrayBuffer either way.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'
import fc from 'fast-check'
import { createRingMemory, MAX_RECORD_BYTES, RingReader, RingWriter } from '../../proxy/mime/summary-ring.ts'

const NO_CAP = Number.MAX_SAFE_INTEGER

/** A writer and a reader; `rewindAt` defaults to never, so that layouts are as written. */
function pair(bytes: number, rewindAt = Number.POSITIVE_INFINITY) {
  const memory = createRingMemory(bytes)
  return { w: new RingWriter(memory, undefined, { rewindAt }), r: new RingReader(memory) }
}

function drainAll(r: RingReader): [number, Buffer][] {
  const out: [number, Buffer][] = []
  // Copies: the views are only good until drain() gives the space back.
  r.drain((id, bytes) => out.push([id, Buffer.from(bytes)]))
  return out
}

test('records come out in order, with their ids, across many wrap-arounds', () => {
  const { w, r } = pair(256)
  let n = 0
  for (let round = 0; round < 500; round++) {
    const len = round % 53
    const bytes = Buffer.alloc(len, round & 0xff)
    assert.equal(w.put(round, bytes, NO_CAP), true, `round ${round}`)
    const out = drainAll(r)
    assert.deepEqual(out, [[round, bytes]])
    n += len
  }
  assert.ok(n > 256 * 10, 'the ring went round many times')
  assert.equal(r.inFlight, 0)
})

test('a full ring refuses a record and keeps what is unread intact', () => {
  const { w, r } = pair(128)
  // 8-byte header + 24 bytes: four records would be the whole ring, which must never be
  // full to the last byte (WRITE === READ means empty).
  const recs = [1, 2, 3].map((i) => Buffer.alloc(24, i))
  for (const [i, b] of recs.entries()) assert.equal(w.put(i, b, NO_CAP), true)
  assert.equal(w.put(9, Buffer.alloc(24, 9), NO_CAP), false)
  assert.deepEqual(drainAll(r), recs.map((b, i) => [i, b]))
  // Now the space is back, and the next record wraps to the start.
  assert.equal(w.put(4, Buffer.alloc(40, 4), NO_CAP), true)
  assert.deepEqual(drainAll(r), [[4, Buffer.alloc(40, 4)]])
})

test('after a wrap, a record that would end exactly at the reader is refused', () => {
  const { w, r } = pair(128)
  for (let i = 0; i < 3; i++) w.put(i, Buffer.alloc(24, i), NO_CAP) // 0..96
  drainAll(r) // the reader is at 96
  assert.equal(w.put(3, Buffer.alloc(24, 3), NO_CAP), true) // 96..128: the writer is back at 0
  assert.equal(w.put(4, Buffer.alloc(56, 4), NO_CAP), true) // 0..64
  // 64..96 would bring the writer onto the reader, and the ring would look empty.
  assert.equal(w.put(5, Buffer.alloc(24, 5), NO_CAP), false)
  assert.equal(w.put(6, Buffer.alloc(16, 6), NO_CAP), true) // 64..88 still fits
  assert.deepEqual(drainAll(r), [
    [3, Buffer.alloc(24, 3)],
    [4, Buffer.alloc(56, 4)],
    [6, Buffer.alloc(16, 6)],
  ])
})

test('an empty ring past the rewind point starts again at 0, leaving room up to the reader until it catches up', () => {
  const { w, r } = pair(256, 64)
  for (let i = 0; i < 3; i++) w.put(i, Buffer.alloc(24, i), NO_CAP) // 0..96
  drainAll(r) // empty, the reader at 96: past 64
  assert.equal(w.put(3, Buffer.alloc(24, 3), NO_CAP), true) // rewound: 0..32
  assert.equal(w.put(4, Buffer.alloc(56, 4), NO_CAP), false, 'room only up to the reader (96) until it has read')
  assert.equal(w.put(5, Buffer.alloc(48, 5), NO_CAP), true) // 32..88
  assert.deepEqual(drainAll(r), [
    [3, Buffer.alloc(24, 3)],
    [5, Buffer.alloc(48, 5)],
  ])
  // The reader caught up at 88, past the rewind point: the next record starts at 0 again.
  assert.equal(w.put(6, Buffer.alloc(40, 6), NO_CAP), true) // rewound again: 0..48
  drainAll(r)
  assert.equal(w.put(7, Buffer.alloc(8, 7), NO_CAP), true) // at 48, under 64: no rewind, 48..64
  assert.deepEqual(drainAll(r), [[7, Buffer.alloc(8, 7)]])
})

test('the in-flight cap counts unread records and what the reader holds', () => {
  const { w, r } = pair(1024)
  assert.equal(w.put(1, Buffer.alloc(100), 200), true)
  assert.equal(r.inFlight, 8 + 104)
  assert.equal(w.put(2, Buffer.alloc(100), 200), false, 'past the cap')
  drainAll(r)
  r.hold(150)
  assert.equal(w.put(2, Buffer.alloc(100), 200), false, 'the reader still holds 150')
  r.hold(-150)
  assert.equal(w.put(2, Buffer.alloc(100), 200), true)
})

test('a record larger than MAX_RECORD_BYTES is refused (the writer cuts its writes)', () => {
  const { w } = pair(4 * MAX_RECORD_BYTES)
  assert.equal(w.put(1, Buffer.alloc(MAX_RECORD_BYTES + 1), NO_CAP), false)
  assert.equal(w.put(1, Buffer.alloc(MAX_RECORD_BYTES), NO_CAP), true)
})

test('any interleaving of writes and drains delivers exactly the accepted bytes, in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.record({ id: fc.integer({ min: 1, max: 3 }), len: fc.integer({ min: 0, max: 90 }) }), fc.constant('drain' as const)), { maxLength: 200 }),
      fc.constantFrom(Number.POSITIVE_INFINITY, 64, 128),
      (ops, rewindAt) => {
        const { w, r } = pair(256, rewindAt)
        const sent = new Map<number, number[]>()
        const got = new Map<number, number[]>()
        let seq = 0
        const take = () => {
          for (const [id, b] of drainAll(r)) got.set(id, [...(got.get(id) ?? []), ...b])
        }
        for (const op of ops) {
          if (op === 'drain') {
            take()
            continue
          }
          const bytes = Buffer.from(Array.from({ length: op.len }, () => seq++ & 0xff))
          if (w.put(op.id, bytes, NO_CAP)) sent.set(op.id, [...(sent.get(op.id) ?? []), ...bytes])
        }
        take()
        for (const id of got.keys()) assert.ok(sent.has(id), `message ${id} came out but was refused`)
        for (const [id, bytes] of sent) assert.deepEqual(got.get(id) ?? [], bytes, `message ${id}`)
        assert.equal(r.inFlight, 0)
      },
    ),
    { seed: 20261126, numRuns: 300 },
  )
})

test('a sleeping reader is woken by the next record, and only then; a reader with records waiting does not sleep', () => {
  const memory = createRingMemory(256)
  let wakes = 0
  const w = new RingWriter(memory, () => wakes++)
  const r = new RingReader(memory)
  w.put(1, Buffer.from('a'), NO_CAP)
  assert.equal(wakes, 0, 'the reader was not asleep')
  assert.equal(r.sleep(), false, 'a record is waiting')
  drainAll(r)
  assert.equal(r.sleep(), true)
  w.put(1, Buffer.from('b'), NO_CAP)
  w.put(1, Buffer.from('c'), NO_CAP)
  assert.equal(wakes, 1, 'one wake for the first record after sleeping')
  assert.deepEqual(drainAll(r), [
    [1, Buffer.from('b')],
    [1, Buffer.from('c')],
  ])
})

test('a writer and a reader on two threads: every byte arrives once, in order, through many wrap-arounds', { timeout: 60_000 }, async () => {
  const memory = createRingMemory(4096)
  const total = 1_000_000
  const worker = new Worker(new URL('./ring-reader-worker.mjs', import.meta.url), { workerData: { memory, total } })
  const w = new RingWriter(memory, () => worker.postMessage('wake'), { rewindAt: 1024 })
  const done = new Promise<{ n: number; bad: number }>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  let sent = 0
  let refused = 0
  // Random record sizes; a refused record (ring full) is offered again after a turn of the loop.
  while (sent < total) {
    const len = Math.min(total - sent, 1 + Math.floor(Math.random() * 300))
    const bytes = Buffer.alloc(len)
    for (let j = 0; j < len; j++) bytes[j] = (sent + j) & 0xff
    if (w.put(1, bytes, NO_CAP)) sent += len
    else {
      refused++
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  const result = await done
  await worker.terminate()
  assert.deepEqual(result, { n: total, bad: 0 })
  assert.ok(refused > 0, 'the ring was full at times, so the reader was caught up with from behind')
})
