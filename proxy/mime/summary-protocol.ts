// The messages between summary.ts (the relay's side) and summary-worker.ts. Message bytes
// do not travel as messages: they go through the shared ring (summary-ring.ts).
import type { MessageSummary } from '../../shared/schema.ts'

/** Bytes of a message parsed at most (summary-parse.ts says why). Here, not there: the
 * relay's side must not load mailsplit just for a constant. */
export const SUMMARY_PARSE_BYTES = 32 * 1024 * 1024

export type SummaryWorkerRequest =
  /** A record landed in the ring while the worker slept. */
  | { op: 'wake' }
  /**
   * The message is complete: the worker first takes what the ring holds (the message's last
   * bytes were written before this was posted). `skipped`: bytes the relay never wrote
   * (past the parse budget, when the ring was full, or after 'body-only').
   */
  | { op: 'end'; id: number; skipped: number }

export type SummaryWorkerReply =
  | { op: 'summary'; id: number; summary: MessageSummary }
  /** The root is a single part: the relay may stop sending and only count (see onBodyOnly). */
  | { op: 'body-only'; id: number }
