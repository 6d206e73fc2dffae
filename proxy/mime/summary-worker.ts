// The summary worker: runs one SummaryParser per message the relay writes into the shared
// ring (summary-ring.ts). A message's parser starts with its first bytes; 'end' carries the
// bytes never written. The worker answers 'body-only' as soon as a message's root header
// shows there is nothing more to parse, and each 'end' with the summary.
import { parentPort, workerData } from 'node:worker_threads'
import { createSummaryParser, type SummaryParser } from './summary-parse.ts'
import type { SummaryWorkerReply, SummaryWorkerRequest } from './summary-protocol.ts'
import { RingReader, type RingMemory } from './summary-ring.ts'

if (!parentPort) throw new Error('summary-worker.ts runs as a worker thread')
const port = parentPort
const ring = new RingReader((workerData as { ring: RingMemory }).ring)
const parsers = new Map<number, SummaryParser>()

function parserOf(id: number): SummaryParser {
  let parser = parsers.get(id)
  if (!parser) {
    // No budget here: the relay writes at most its message's budget and counts the rest.
    parser = createSummaryParser({ parseBytes: Number.POSITIVE_INFINITY, onBodyOnly: () => reply({ op: 'body-only', id }) })
    parsers.set(id, parser)
  }
  return parser
}

/**
 * Takes what the ring holds. A message's consecutive records go to its parser as one write
 * (a client typing a message line by line makes many small ones).
 */
function drain(): void {
  let id = 0
  let run: Uint8Array[] = []
  const flush = () => {
    if (run.length === 0) return
    const bytes = run.length === 1 ? run[0]! : Buffer.concat(run)
    run = []
    // What the parser copies and keeps counts as in flight until it lets go of it.
    const length = bytes.length
    ring.hold(length)
    parserOf(id).write(bytes, () => ring.hold(-length))
  }
  ring.drain((recordId, bytes) => {
    if (recordId !== id) flush()
    id = recordId
    run.push(bytes)
  }, flush)
}

/** Drains until the ring stays empty; the relay's next record then posts 'wake'. */
function pump(): void {
  do drain()
  while (!ring.sleep())
}
pump()

port.on('message', (msg: SummaryWorkerRequest) => {
  switch (msg.op) {
    case 'wake':
      pump()
      break
    case 'end': {
      drain()
      const parser = parserOf(msg.id)
      parsers.delete(msg.id)
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
