// The on-disk layout of a data directory, in one place:
//   index.json                        lowdb: { formatVersion, settings, sessions: IndexEntry[] }
//   sessions/<id>/session.json        the Session as of its open / close (crash recovery)
//   sessions/<id>/events.ndjson       decoded events, one JSON per line, append-only
//   sessions/<id>/client.bin          raw bytes the client sent; offsets = RawRef.offset
//   sessions/<id>/server.bin          raw bytes the server sent
//   sessions/<id>/messages/<n>.json   message n (1-based) as a place in client.bin or server.bin
//                                     (message-map.ts): most messages are never stored twice
//   sessions/<id>/messages/<n>.eml    message n's bytes, when it is not one run of a capture
//                                     (BDAT chunks, IMAP under COMPRESS=DEFLATE)
import { join } from 'node:path'
import type { Session, Side } from '../../shared/schema.ts'

/** One session in index.json. */
export interface IndexEntry {
  session: Session
  /** Bytes this session holds on disk (events + raw + messages), for retention. */
  bytes: number
  /** Highest message number seen (messages/<n>.eml or <n>.json). */
  messages: number
  /** Subjects of parsed messages, for text search. */
  subjects?: string[]
}

export interface IndexData {
  formatVersion: number
  settings: Record<string, unknown>
  sessions: IndexEntry[]
}

export const INDEX_FILE = 'index.json'
export const SESSIONS_DIR = 'sessions'

/** Session ids become directory names: refuse anything that could escape the data dir. */
export function isSafeId(id: string): boolean {
  return /^[A-Za-z0-9._-]{1,128}$/.test(id) && id !== '.' && id !== '..'
}

export function sessionDir(root: string, id: string): string {
  return join(root, SESSIONS_DIR, id)
}
export function eventsPath(root: string, id: string): string {
  return join(sessionDir(root, id), 'events.ndjson')
}
export function rawPath(root: string, id: string, side: Side): string {
  return join(sessionDir(root, id), `${side}.bin`)
}
export function sessionJsonPath(root: string, id: string): string {
  return join(sessionDir(root, id), 'session.json')
}
export function messagesDir(root: string, id: string): string {
  return join(sessionDir(root, id), 'messages')
}
export function messagePath(root: string, id: string, n: number): string {
  return join(messagesDir(root, id), `${n}.eml`)
}
export function messageMapPath(root: string, id: string, n: number): string {
  return join(messagesDir(root, id), `${n}.json`)
}
