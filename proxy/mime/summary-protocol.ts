// The messages between summary.ts (the relay's side) and summary-worker.ts.
import type { MessageSummary } from '../../shared/schema.ts'

/** Bytes of a message parsed at most (summary-parse.ts says why). Here, not there: the
 * relay's side must not load mailsplit just for a constant. */
export const SUMMARY_PARSE_BYTES = 32 * 1024 * 1024
/** One postMessage per this many bytes: per-message overhead is a few µs. */
export const SUMMARY_BATCH_BYTES = 256 * 1024

export type SummaryWorkerRequest =
  | { op: 'open'; id: number; parseBytes: number }
  | { op: 'data'; id: number; bytes: Uint8Array }
  /** `skipped`: bytes the relay never sent (past the parse budget, the in-flight cap, or after 'body-only'). */
  | { op: 'end'; id: number; skipped: number }

export type SummaryWorkerReply =
  | { op: 'summary'; id: number; summary: MessageSummary }
  /** The root is a single part: the relay may stop sending and only count (see onBodyOnly). */
  | { op: 'body-only'; id: number }
  /** A full-sized batch the parser kept no view of, sent back for reuse (no new pages to fault in). */
  | { op: 'free'; bytes: Uint8Array }
