// The summary worker: runs one SummaryParser per message the relay hands it, off the
// relay's thread. Protocol (summary-protocol.ts): 'open', 'data' (a transferred batch),
// 'end' with the bytes never sent; it answers 'body-only' as soon as a message's root
// header shows there is nothing more to parse, and each 'end' with the summary.
import { parentPort, workerData } from 'node:worker_threads'
import { createSummaryParser, type SummaryParser } from './summary-parse.ts'
import { SUMMARY_BATCH_BYTES, type SummaryWorkerReply, type SummaryWorkerRequest } from './summary-protocol.ts'

if (!parentPort) throw new Error('summary-worker.ts runs as a worker thread')
const port = parentPort
// Bytes posted by the relay and not yet taken by a parser, shared with summary.ts.
const inFlight = new Int32Array((workerData as { inFlight: SharedArrayBuffer }).inFlight)
const parsers = new Map<number, SummaryParser>()

port.on('message', (msg: SummaryWorkerRequest) => {
  switch (msg.op) {
    case 'open':
      parsers.set(msg.id, createSummaryParser({ parseBytes: msg.parseBytes, onBodyOnly: () => reply({ op: 'body-only', id: msg.id }) }))
      break
    case 'data': {
      const length = msg.bytes.byteLength
      const release = (kept = false) => {
        Atomics.sub(inFlight, 0, length)
        if (!kept && msg.bytes.buffer.byteLength === SUMMARY_BATCH_BYTES) port.postMessage({ op: 'free', bytes: msg.bytes } satisfies SummaryWorkerReply, [msg.bytes.buffer as ArrayBuffer])
      }
      const parser = parsers.get(msg.id)
      if (parser) parser.write(msg.bytes, release)
      else release()
      break
    }
    case 'end': {
      const parser = parsers.get(msg.id)
      parsers.delete(msg.id)
      if (!parser) {
        reply({ op: 'summary', id: msg.id, summary: { attachments: [], error: 'unknown message' } })
        break
      }
      if (msg.skipped > 0) parser.skip(msg.skipped)
      void parser.end().then((summary) => reply({ op: 'summary', id: msg.id, summary }))
      break
    }
    default:
      msg satisfies never
  }
})

function reply(message: SummaryWorkerReply): void {
  port.postMessage(message)
}
