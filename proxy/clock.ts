// The one clock of the proxy: epoch milliseconds with sub-millisecond precision.
// Decoders never read it; the relay stamps each chunk and passes the time in.
import { performance } from 'node:perf_hooks'

const origin = performance.timeOrigin

export function now(): number {
  return origin + performance.now()
}
