// The MIME summary of a message that crossed the proxy, computed off the relay's thread.
// The parse (summary-parse.ts, mailsplit) costs 5–10× the protocol decoder, so the relay
// only copies message bytes into a ring shared with one worker thread (summary-ring.ts).
//
// The worker is started lazily, unref'd (it never keeps the process alive, except while
// an end() waits for it) and started again if it dies. What it has not yet taken is
// bounded: when the ring is full, or past MAX_IN_FLIGHT_BYTES in flight, a message is no
// longer fed and its summary says `truncated`; bytes past the parse budget are never
// written at all, only counted.
import { Worker } from 'node:worker_threads'
import type { MessageSummary } from '../../shared/schema.ts'
import { SUMMARY_PARSE_BYTES, type SummaryWorkerReply, type SummaryWorkerRequest } from './summary-protocol.ts'
import { createRingMemory, MAX_RECORD_BYTES, RingWriter } from './summary-ring.ts'

export { SUMMARY_PARSE_BYTES }

/** Written for the worker and not yet parsed, over all messages: the ring and the copies its parser holds. */
export const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024
/** An end() that gets no answer in this time resolves with an error, and the worker restarts. */
export const SUMMARY_END_TIMEOUT_MS = 60_000
/** How far into a message to look for the end of its header block. */
const HEADER_PROBE_BYTES = 64 * 1024

export interface MessageSummarizer {
  write(bytes: Uint8Array): void
  /** Always resolves: a parse error, a dead or stuck worker give a summary with `error`. */
  end(): Promise<MessageSummary>
}

interface Pending {
  resolve(summary: MessageSummary): void
  timer: NodeJS.Timeout
}

/** The shared worker, the ring to it and the end() calls waiting on it. */
interface Lane {
  worker: Worker
  ring: RingWriter
  pending: Map<number, Pending>
  /** Summarizers told that their message is a single part: they stop sending bytes. */
  bodyOnly: Map<number, () => void>
  dead?: string
  /** Fails what is pending and terminates the worker; the next summarizer starts another. */
  stop(why: string): void
}

let lane: Lane | undefined
let nextId = 1

function startLane(): Lane {
  const memory = createRingMemory()
  const worker = new Worker(new URL('./summary-worker.mjs', import.meta.url), {
    workerData: { ring: memory },
    // No node flags: the worker's entry loads tsx itself. Inherited ones break it:
    // `--input-type` (node -e) fails the worker, and process-wide ones (--expose-gc,
    // --max-old-space-size) make an explicit execArgv throw.
    execArgv: [],
  })
  worker.unref()
  const ring = new RingWriter(memory, () => post(l, { op: 'wake' }))
  const l: Lane = { worker, ring, pending: new Map(), bodyOnly: new Map(), stop: (why) => die(why) }
  worker.on('message', (msg: SummaryWorkerReply) => {
    if (msg.op === 'body-only') {
      l.bodyOnly.get(msg.id)?.()
      return
    }
    const p = l.pending.get(msg.id)
    if (!p) return
    l.pending.delete(msg.id)
    clearTimeout(p.timer)
    p.resolve(msg.summary)
    if (l.pending.size === 0) worker.unref()
  })
  const die = (why: string) => {
    if (l.dead) return
    l.dead = why
    if (lane === l) lane = undefined
    for (const [id, p] of l.pending) {
      clearTimeout(p.timer)
      p.resolve({ attachments: [], truncated: true, error: `summary worker stopped: ${why}` })
      l.pending.delete(id)
    }
    void worker.terminate()
  }
  worker.on('error', (err) => die(err.message))
  worker.on('exit', (code) => die(`exit code ${code}`))
  return l
}

function post(l: Lane, msg: SummaryWorkerRequest): void {
  if (!l.dead) l.worker.postMessage(msg)
}

/** Stops the shared worker; summaries it still owed resolve with an error. A next one starts it again. */
export async function stopSummaryWorker(): Promise<void> {
  const l = lane
  if (!l) return
  l.stop('stopped')
  await l.worker.terminate()
}

export function createMessageSummarizer(options: { parseBytes?: number; maxInFlightBytes?: number } = {}): MessageSummarizer {
  const budget = options.parseBytes ?? SUMMARY_PARSE_BYTES
  const maxInFlight = options.maxInFlightBytes ?? MAX_IN_FLIGHT_BYTES
  let l: Lane
  try {
    l = lane ??= startLane()
  } catch (err) {
    // Never the relay's problem: this message goes without a summary; the next one retries.
    const summary: MessageSummary = { attachments: [], truncated: true, error: `summary worker failed to start: ${(err as Error).message}` }
    return { write() {}, end: () => Promise.resolve(summary) }
  }
  const id = nextId++
  let accepted = 0 // bytes written to the ring or refused, at most `budget`
  let skipped = 0
  let starved = false // the ring was full: nothing more is written for this message
  // The worker said the root is a single part: from now on bytes are only counted. The
  // summary is the same whenever this arrives: the worker counts unsent bytes exactly once
  // it knows (summary-parse.ts, skip()).
  let bodyOnly = false
  l.bodyOnly.set(id, () => (bodyOnly = true))
  let ended: Promise<MessageSummary> | undefined

  // Most mail is one text part. Deciding that here, from the header block, saves copying
  // its body only for the worker to count it. The rule is deliberately narrower than the
  // worker's (summary-parse.ts): no 'multipart/' and no 'base64' anywhere in the header
  // block means the worker would say body-only too, so the summary is the same.
  let probe: string | undefined = ''
  const decide = (bytes: Uint8Array): number => {
    const before = probe!.length
    probe += Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
    const m = /\r?\n\r?\n/.exec(probe!)
    if (!m) {
      if (probe!.length > HEADER_PROBE_BYTES) probe = undefined
      return -1
    }
    const head = probe!.slice(0, m.index).toLowerCase()
    probe = undefined
    if (head.includes('multipart/') || head.includes('base64')) return -1
    return m.index + m[0].length - before
  }

  const accept = (bytes: Uint8Array) => {
    let chunk = bytes
    const room = budget - accepted
    if (chunk.length > room) {
      skipped += chunk.length - Math.max(0, room)
      chunk = chunk.subarray(0, Math.max(0, room))
    }
    accepted += chunk.length
    while (chunk.length > 0) {
      // Stop for good once a write is refused: a parse resumed after a hole would read the
      // rest as garbage. The caller's bytes are copied: they may be a view the decoder reuses.
      const n = Math.min(chunk.length, MAX_RECORD_BYTES)
      if (starved || l.dead || !l.ring.put(id, chunk.subarray(0, n), maxInFlight)) {
        starved = true
        skipped += chunk.length
        return
      }
      chunk = chunk.subarray(n)
    }
  }

  return {
    write(bytes) {
      if (ended) return
      if (bodyOnly) {
        skipped += bytes.length
        return
      }
      if (probe !== undefined) {
        const headerEnd = decide(bytes)
        if (headerEnd >= 0) {
          accept(bytes.subarray(0, headerEnd))
          bodyOnly = true
          skipped += bytes.length - headerEnd
          return
        }
      }
      accept(bytes)
    },
    end() {
      if (ended) return ended
      l.bodyOnly.delete(id)
      ended = new Promise<MessageSummary>((resolve) => {
        if (l.dead) {
          resolve({ attachments: [], truncated: true, error: `summary worker stopped: ${l.dead}` })
          return
        }
        const timer = setTimeout(() => {
          l.pending.delete(id)
          resolve({ attachments: [], truncated: true, error: `no summary after ${SUMMARY_END_TIMEOUT_MS} ms` })
          // A worker this far behind is stuck: start a fresh one for the next messages.
          l.stop('stuck')
        }, SUMMARY_END_TIMEOUT_MS)
        timer.unref()
        l.pending.set(id, {
          resolve: (summary) => {
            if (starved && !summary.truncated) summary.truncated = true
            resolve(summary)
          },
          timer,
        })
        // Only a waiting end() keeps the process alive (the runner awaits a summary).
        l.worker.ref()
        post(l, { op: 'end', id, skipped })
      })
      return ended
    },
  }
}
