// The recording store: persists every session published on the feed (index in lowdb,
// events and raw bytes in append-only files per session) and reads them back for the
// API, exports and the hub. Interface below; the implementation is in store.ts.
//
// Beyond the shared contract this module offers:
//   - StoreOptions.onGap(sessionId, note): called (once per failure episode) when a write
//     failed or the disk fell too far behind; wire it to SessionRecorder.gap(note) so the
//     RECORDING_GAP note gets a seq in the session. The store sets session.gaps itself.
//   - StoreOptions.io: the file-writing primitive, replaceable to inject write failures.
//   - Store.settings() / Store.updateSettings(patch): the settings kept in index.json.
//   - Store.size(): { sessions, bytes } for health and benchmarks.
//   - delete(id) refuses a live session (returns false; check get(id)?.status to tell
//     "live" from "unknown"). deleteAll() deletes every session that is not live.
//   - list(): limit defaults to 100 (DEFAULT_LIST_LIMIT).
//   - events(): secrets included; redact on the way out (see redact.ts).
import type { Note, Session, SessionEvent, Side } from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import type { StoreIo } from './log.ts'
import type { ListQuery } from './query.ts'
import { FileStore } from './store.ts'

export type { ListQuery } from './query.ts'
export type { StoreIo, StoreFile } from './log.ts'
export { DEFAULT_LIST_LIMIT } from './query.ts'
export { NewerFormatError } from './migrate.ts'
export { CRASH_DETAIL } from './recover.ts'

export interface Retention {
  maxSessions?: number
  maxBytes?: number
  maxAgeMs?: number
}

export interface StoreOptions {
  /** The --data directory. Created (mode 0700) if missing. */
  dir: string
  feed: Feed
  retention?: Retention
  /** A recording gap in a session (write failed, disk too slow). See the top of this file. */
  onGap?: (sessionId: string, note: Note) => void
  /** Replaces node:fs for appends (tests inject failures). */
  io?: StoreIo
  /** How often queued appends are written. Default 150 ms. */
  flushIntervalMs?: number
  /** Debounce of index.json saves. Default 1000 ms; grows when saves get slow. */
  indexSaveMs?: number
  /** Bytes queued for the disk, all sessions together, before new data is dropped as a gap. Default 256 MiB:
   *  about half a second of this machine's disk under load, so a crash still loses under a second. */
  maxHeldBytes?: number
  /** How often retention runs besides session close. Default 60 s. */
  pruneIntervalMs?: number
}

export interface Store {
  /** Sessions newest first (by startedAt), filtered and paginated. */
  list(q: ListQuery): { sessions: Session[]; total: number }
  /** The live summary (do not mutate). */
  get(id: string): Session | undefined
  /** Events with seq > after, in order, secrets included. */
  events(id: string, opts?: { after?: number; limit?: number }): Promise<SessionEvent[]>
  /** Raw bytes one side sent, [start, end) of its stream. */
  raw(id: string, side: Side, range?: { start?: number; end?: number }): Promise<Buffer>
  rawLength(id: string, side: Side): number
  messageCount(id: string): number
  /** Message n (1-based) as captured, or undefined. */
  message(id: string, n: number): Promise<Buffer | undefined>
  delete(id: string): Promise<boolean>
  deleteAll(): Promise<void>
  /** Everything queued is on disk and index.json is saved. */
  flush(): Promise<void>
  close(): Promise<void>
  settings(): Record<string, unknown>
  updateSettings(patch: Record<string, unknown>): void
  size(): { sessions: number; bytes: number }
}

export async function openStore(options: StoreOptions): Promise<Store> {
  return FileStore.open(options)
}
