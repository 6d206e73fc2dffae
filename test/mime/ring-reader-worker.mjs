// The reading end of summary-ring.test.ts's two-thread test: checks that the bytes run
// 0, 1, 2... (mod 256) and reports how many came and how many were wrong.
import { parentPort, workerData } from 'node:worker_threads'
import { tsImport } from 'tsx/esm/api'

const { RingReader } = await tsImport('../../proxy/mime/summary-ring.ts', import.meta.url)
const ring = new RingReader(workerData.memory)
let n = 0
let bad = 0
const check = (_id, bytes) => {
  for (const b of bytes) {
    if (b !== (n & 0xff)) bad++
    n++
  }
}
const pump = () => {
  do ring.drain(check)
  while (!ring.sleep())
  if (n >= workerData.total) parentPort.postMessage({ n, bad })
}
parentPort.on('message', pump)
pump()
