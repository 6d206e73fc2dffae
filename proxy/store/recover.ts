// Crash recovery: after a kill -9 the index may lag the session directories by up to a
// save interval, and the last line of an events log may be torn. These functions repair
// one session's files and rebuild its index entry from what is on disk.
import { readFile, readdir, rename, stat, truncate, writeFile } from 'node:fs/promises'
import type { Protocol, Session, SessionEvent } from '../../shared/schema.ts'
import {
  type IndexEntry,
  eventsPath,
  messagePath,
  messagesDir,
  rawPath,
  sessionJsonPath,
} from './layout.ts'

export const CRASH_DETAIL = 'mailtap stopped unexpectedly'

/** Writes JSON through a temporary file and a rename, so a crash leaves old or new. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`
  await writeFile(tmp, JSON.stringify(value), { mode: 0o600 })
  await rename(tmp, path)
}

export interface EventsScan {
  events: SessionEvent[]
  /** Bytes of the file after repair. */
  size: number
  /** Bytes cut off the end (a torn or unreadable last line). */
  truncated: number
}

/**
 * Reads an events log and cuts off a torn tail: a last line without its newline, or a
 * last line that does not parse. Lines in the middle that do not parse are skipped by
 * readers; they cannot come from our own appends, which write whole lines.
 */
export async function repairEvents(path: string): Promise<EventsScan> {
  let buf: Buffer
  try {
    buf = await readFile(path)
  } catch {
    return { events: [], size: 0, truncated: 0 }
  }
  let good = buf.lastIndexOf(0x0a) + 1 // end of the last complete line
  const events: SessionEvent[] = []
  let start = 0
  while (start < good) {
    const nl = buf.indexOf(0x0a, start)
    const line = buf.subarray(start, nl)
    try {
      events.push(JSON.parse(line.toString('utf8')) as SessionEvent)
    } catch {
      if (nl + 1 === good) {
        good = start // an unreadable last line is torn too
        break
      }
    }
    start = nl + 1
  }
  if (good < buf.length) await truncate(path, good)
  return { events, size: good, truncated: buf.length - good }
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0
}

async function readSessionJson(root: string, id: string): Promise<Session | undefined> {
  try {
    const s = JSON.parse(await readFile(sessionJsonPath(root, id), 'utf8')) as Session
    return s && s.id === id ? s : undefined
  } catch {
    return undefined
  }
}

function guessProtocol(events: SessionEvent[]): Protocol {
  for (const e of events) {
    const item = e.item as { protocol?: Protocol } | undefined
    if (item?.protocol) return item.protocol
  }
  return 'smtp'
}

/**
 * Rebuilds a session's index entry from its directory. `known` is what index.json had
 * (possibly behind). A session that was live when mailtap died is closed here, with
 * totals recounted from its events and capture files.
 */
export async function rebuildEntry(root: string, id: string, known?: IndexEntry): Promise<IndexEntry | undefined> {
  const onDisk = await readSessionJson(root, id)
  const scan = await repairEvents(eventsPath(root, id))
  let base = onDisk && (onDisk.status !== 'live' || !known) ? onDisk : (known?.session ?? onDisk)
  if (!base) {
    if (scan.events.length === 0 && (await sizeOf(rawPath(root, id, 'client'))) + (await sizeOf(rawPath(root, id, 'server'))) === 0) {
      return undefined
    }
    const first = scan.events[0]
    base = {
      id,
      protocol: guessProtocol(scan.events),
      route: { id: 'unknown', listenUrl: '', upstreamUrl: '' },
      client: { address: '', port: 0 },
      server: { address: '', port: 0 },
      tls: [],
      startedAt: first?.at ?? 0,
      status: 'live',
      totals: { events: 0, bytesFromClient: 0, bytesFromServer: 0, commands: 0, messages: 0, errors: 0 },
    }
  }
  const session: Session = { ...base, totals: { ...base.totals } }
  const clientBytes = await sizeOf(rawPath(root, id, 'client'))
  const serverBytes = await sizeOf(rawPath(root, id, 'server'))
  let messages = 0
  let messageBytes = 0
  for (const name of await readdir(messagesDir(root, id)).catch(() => [] as string[])) {
    // <n>.eml holds the bytes; <n>.json only says where they lie in a capture.
    const m = /^(\d+)\.(eml|json)$/.exec(name)
    if (!m) continue
    messages = Math.max(messages, Number(m[1]))
    if (m[2] === 'eml') messageBytes += await sizeOf(messagePath(root, id, Number(m[1])))
  }
  if (session.status === 'live') {
    // Recount what the recorder counted (see SessionRecorder.account); keep the larger
    // of that and what the index last saved, since a gap may have lost events.
    const t = { events: 0, commands: 0, messages: 0, errors: 0 }
    let lastAt = session.startedAt
    const subjects: string[] = []
    for (const ev of scan.events) {
      t.events = Math.max(t.events, ev.seq)
      lastAt = Math.max(lastAt, ev.at)
      const item = ev.item
      if (item?.kind === 'command') t.commands++
      else if (item?.kind === 'message' && item.phase === 'received') t.messages++
      else if (item?.kind === 'auth' && item.user) session.user = item.user
      else if (item?.kind === 'reply') {
        const text = `${item.tag ? item.tag + ' ' : ''}${item.code} ${item.lines[0] ?? ''}`.trim()
        session.lastReply = text.length > 160 ? text.slice(0, 157) + '...' : text
      }
      if (item?.kind === 'message' && item.phase === 'parsed' && item.summary?.subject) subjects.push(item.summary.subject)
      for (const n of ev.notes ?? []) if (n.level === 'error') t.errors++
    }
    session.totals.events = Math.max(session.totals.events, t.events)
    session.totals.commands = Math.max(session.totals.commands, t.commands)
    session.totals.messages = Math.max(session.totals.messages, t.messages)
    session.totals.errors = Math.max(session.totals.errors, t.errors)
    session.status = 'closed'
    session.closeReason = 'error'
    session.closeDetail = CRASH_DETAIL
    session.endedAt = lastAt
    if (subjects.length) known = { ...(known ?? { session, bytes: 0, messages: 0 }), subjects }
    // Cut short by the crash: the capture files hold what was recorded. The index may have
    // counted bytes that never reached the disk, and the raw API must not promise them.
    session.totals.bytesFromClient = clientBytes
    session.totals.bytesFromServer = serverBytes
  } else {
    session.totals.bytesFromClient = Math.max(session.totals.bytesFromClient, clientBytes)
    session.totals.bytesFromServer = Math.max(session.totals.bytesFromServer, serverBytes)
  }
  await writeJsonAtomic(sessionJsonPath(root, id), session).catch(() => undefined)
  const entry: IndexEntry = {
    session,
    bytes: scan.size + clientBytes + serverBytes + messageBytes,
    messages: Math.max(messages, known?.messages ?? 0),
  }
  if (known?.subjects?.length) entry.subjects = known.subjects
  return entry
}
