// The messages between summary.ts (the relay's side) and summary-worker.ts.
import type { MessageSummary } from '../../shared/schema.ts'

export type SummaryWorkerRequest =
  | { op: 'open'; id: number; parseBytes: number }
  | { op: 'data'; id: number; bytes: Uint8Array }
  /** `skipped`: bytes the relay never sent (past the parse budget or the in-flight cap). */
  | { op: 'end'; id: number; skipped: number }

export type SummaryWorkerReply = { id: number; summary: MessageSummary }
