// Upgrades a data directory written by an older mailtap, one format version at a time.
// Each step takes the parsed index.json and may move files; steps are idempotent so a
// migration interrupted by a crash simply runs again on the next open.
import { mkdir, readdir, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { FORMAT_VERSION, type Session } from '../../shared/schema.ts'
import { type IndexData, type IndexEntry, messagesDir, sessionDir } from './layout.ts'

export type Migration = (root: string, data: Record<string, unknown>) => Promise<Record<string, unknown>>

export class NewerFormatError extends Error {
  readonly code = 'STORE_FORMAT_TOO_NEW'
}

/**
 * Format 0 is the prototype layout: index.json was `{ sessions: Session[] }` (no
 * formatVersion, no per-entry byte counts) and messages sat beside the events as
 * `sessions/<id>/message-<n>.eml`. Format 1 wraps each session in an IndexEntry and
 * moves messages under `messages/<n>.eml`.
 */
async function v0ToV1(root: string, data: Record<string, unknown>): Promise<Record<string, unknown>> {
  const sessions = Array.isArray(data.sessions) ? (data.sessions as Session[]) : []
  const entries: IndexEntry[] = []
  for (const session of sessions) {
    if (!session || typeof session.id !== 'string') continue
    const dir = sessionDir(root, session.id)
    let bytes = 0
    let messages = 0
    const names = await readdir(dir).catch(() => [] as string[])
    for (const name of names) {
      const m = /^message-(\d+)\.eml$/.exec(name)
      if (m) {
        await mkdir(messagesDir(root, session.id), { recursive: true, mode: 0o700 })
        await rename(join(dir, name), join(messagesDir(root, session.id), `${m[1]}.eml`))
        messages = Math.max(messages, Number(m[1]))
      }
    }
    for (const name of ['events.ndjson', 'client.bin', 'server.bin']) {
      bytes += (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0
    }
    const moved = await readdir(messagesDir(root, session.id)).catch(() => [] as string[])
    for (const name of moved) {
      const m = /^(\d+)\.eml$/.exec(name)
      if (!m) continue
      messages = Math.max(messages, Number(m[1]))
      bytes += (await stat(join(messagesDir(root, session.id), name)).catch(() => undefined))?.size ?? 0
    }
    // Format 0 counted only events and bytes.
    const old: Partial<Session['totals']> = session.totals ?? {}
    session.totals = {
      events: old.events ?? 0,
      bytesFromClient: old.bytesFromClient ?? 0,
      bytesFromServer: old.bytesFromServer ?? 0,
      commands: old.commands ?? 0,
      messages: old.messages ?? messages,
      errors: old.errors ?? 0,
    }
    entries.push({ session, bytes, messages })
  }
  return { formatVersion: 1, settings: (data.settings as Record<string, unknown>) ?? {}, sessions: entries }
}

/** migrations[n] upgrades format n to n + 1. */
export const migrations: Record<number, Migration> = {
  0: v0ToV1,
}

export function versionOf(data: Record<string, unknown>): number {
  return typeof data.formatVersion === 'number' ? data.formatVersion : 0
}

/**
 * Brings a parsed index.json up to FORMAT_VERSION. Returns the data and the version it
 * started from. Refuses data written by a newer mailtap rather than guessing.
 */
export async function migrate(
  root: string,
  raw: Record<string, unknown>,
  table: Record<number, Migration> = migrations,
  target: number = FORMAT_VERSION,
): Promise<{ data: IndexData; from: number }> {
  const from = versionOf(raw)
  if (from > target) {
    throw new NewerFormatError(
      `the data directory ${root} uses store format ${from}, written by a newer mailtap; ` +
        `this mailtap reads formats up to ${target}. Upgrade mailtap or point --data elsewhere.`,
    )
  }
  let data = raw
  for (let v = from; v < target; v++) {
    const step = table[v]
    if (!step) throw new Error(`no migration from store format ${v} to ${v + 1}`)
    data = await step(root, data)
    data.formatVersion = v + 1
  }
  const out = data as unknown as IndexData
  out.settings ??= {}
  out.sessions ??= []
  return { data: out, from }
}
