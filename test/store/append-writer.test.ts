// AppendWriter with a slab pool: large appends are copied into reused slabs, small ones
// queued as they are, and whatever the mix, the file gets the bytes in order at their
// offsets, across flushes made while earlier writes are still under way.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { AppendWriter, SlabPool, type StoreFile, type StoreIo } from '../../proxy/store/log.ts'

/** A file in memory whose writes finish a little later, in order, as a disk's would. */
function slowMemoryIo(): { io: StoreIo; bytes: () => Buffer; writes: number } {
  const file = Buffer.alloc(8 * 1024 * 1024)
  let end = 0
  const state = {
    writes: 0,
    bytes: () => file.subarray(0, end),
    io: {
      async open(): Promise<StoreFile> {
        return {
          async write(chunks, position) {
            await new Promise((r) => setTimeout(r, 2))
            let at = position ?? end
            for (const c of chunks) {
              c.copy(file, at)
              at += c.length
            }
            end = Math.max(end, at)
            state.writes++
          },
          async close() {},
        }
      },
    } as StoreIo,
  }
  return state
}

test('large and small appends land in order at their offsets, and slabs are reused rather than allocated anew', async () => {
  const disk = slowMemoryIo()
  const pool = new SlabPool(64, 16 * 1024)
  let taken = 0
  const take = pool.take.bind(pool)
  pool.take = () => (taken++, take())
  let allocated = 0
  const alloc = Buffer.allocUnsafeSlow
  Buffer.allocUnsafeSlow = (n: number) => (allocated++, alloc(n))
  const w = new AppendWriter(disk.io, 'client.bin', 'positional', Promise.resolve(), { failed: (err) => assert.fail(err) }, { held: 0 }, pool)
  const expected: Buffer[] = []
  let offset = 0
  const flushes: Promise<void>[] = []
  for (let i = 0; i < 300; i++) {
    // Sizes around the copy threshold and the slab size, and tiny ones.
    const size = [5, 4095, 4096, 9000, 16 * 1024, 40_000, 1][i % 7]!
    const chunk = randomBytes(size)
    w.append(chunk, offset)
    // The caller's buffer may be reused once append returns (a socket's would not, but a
    // copied chunk must not depend on it either way): scribble on the large ones.
    expected.push(Buffer.from(chunk))
    if (size >= 4096) chunk.fill(0xee)
    offset += size
    if (i % 13 === 0) flushes.push(w.flush())
    // Now and then the disk catches up, and its slabs come back to the pool.
    if (i % 39 === 0) await new Promise((r) => setTimeout(r, 10))
  }
  await Promise.all(flushes)
  await w.close()
  Buffer.allocUnsafeSlow = alloc
  const all = Buffer.concat(expected)
  assert.equal(disk.bytes().length, all.length)
  assert.ok(disk.bytes().equals(all), 'the file holds every byte in order')
  assert.ok(disk.writes > 10)
  // About 3.3 MB went through 16 KiB slabs: most came back from earlier writes.
  const copied = expected.filter((b) => b.length >= 4096).reduce((n, b) => n + b.length, 0)
  assert.ok(taken >= Math.ceil(copied / (16 * 1024)), `${taken} slabs taken`)
  assert.ok(allocated < taken / 2, `${allocated} slabs allocated for ${taken} taken`)
})

test('a slab pool keeps at most its limit, and lets go of slabs unused for a while', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] })
  const pool = new SlabPool(4, 1024)
  const slabs = Array.from({ length: 6 }, () => pool.take())
  for (const s of slabs) pool.give(s)
  assert.equal((pool as unknown as { free: Buffer[] }).free.length, 4)
  const again = pool.take()
  assert.ok(slabs.includes(again), 'a free slab is reused')
  pool.give(again)
  const free = () => (pool as unknown as { free: Buffer[] }).free.length
  // The first period only measures. In the next, one slab is taken and kept: the three
  // left in the pool all that time were not needed, and go.
  t.mock.timers.tick(5000)
  assert.equal(free(), 4)
  const kept = pool.take()
  t.mock.timers.tick(5000)
  assert.equal(free(), 0)
  // Given back, it is kept for reuse again.
  pool.give(kept)
  assert.equal(free(), 1)
})
