// Timing helpers shared by the benchmarks that time many small async calls (certs, tls).

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
export const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!

/** Milliseconds of each of `n` calls, after up to 10 unrecorded ones (JIT, lazy module state: the first calls of a path cost several times more). */
export async function timeN(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(n, 10); i++) await fn(-1 - i)
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn(i)
    out.push(performance.now() - t0)
  }
  return out
}
