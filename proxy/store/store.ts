// The store's implementation: feed listeners that only queue, buffered per-session
// writers, a debounced lowdb index, crash recovery on open, retention and readers.
import { createReadStream } from 'node:fs'
import { chmod, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Low } from 'lowdb'
import { TextFile } from 'lowdb/node'
import { FORMAT_VERSION, type MessageWire, type Note, type Session, type SessionEvent, type Side } from '../../shared/schema.ts'
import type { Feed, FeedEvents } from '../feed.ts'
import type { Retention, Store, StoreOptions } from './index.ts'
import { AppendWriter, type Budget, SlabPool, type StoreIo, nodeIo } from './log.ts'
import {
  INDEX_FILE,
  type IndexData,
  type IndexEntry,
  SESSIONS_DIR,
  eventsPath,
  isSafeId,
  messageMapPath,
  messagePath,
  messagesDir,
  rawPath,
  sessionDir,
  sessionJsonPath,
} from './layout.ts'
import { isMessageMap, type MessageMap, readMappedMessage, readRange } from './message-map.ts'
import { migrate } from './migrate.ts'
import { type ListQuery, listSessions, searchText } from './query.ts'
import { rebuildEntry, writeJsonAtomic } from './recover.ts'

const DIR_MODE = 0o700
/** Bytes queued for the disk at most, over all sessions; past it, a recording gets a gap. */
const MAX_HELD_BYTES = 256 * 1024 * 1024
/** A writer holding this much is flushed at once rather than on the timer. */
const EAGER_FLUSH_BYTES = 1 << 20
/** Every this many events, remember the byte offset in events.ndjson to seek to on reads. */
const CHECKPOINT_EVERY = 256
/** Queued events are serialized at the latest when this many wait (or on the flush timer). */
const EVENTS_BATCH = 512

/** Files of a session that is being recorded. */
interface Recording {
  ready: Promise<unknown>
  /** The session.json written at open; the one written at close must come after it. */
  described: Promise<unknown>
  messagesReady?: Promise<unknown>
  events: AppendWriter
  raw: Record<Side, AppendWriter>
  messages: Map<number, AppendWriter>
  /** Messages kept as places in the capture (message-map.ts), with their file's last write. */
  maps: Map<number, { map: MessageMap; written: Promise<void> }>
  /** A gap note went out and no write has succeeded since. */
  gapOpen: boolean
  /** Bytes appended to events.ndjson so far (valid while no events write failed). */
  eventsOffset: number
  /**
   * Events received but not yet serialized. JSON.stringify is most of the store's cost
   * per event; doing it with the flush, not inside the feed emit, keeps it off the relay's
   * path between a command and its reply. Events are never mutated after they are emitted.
   */
  queued: SessionEvent[]
  checkpoints: [seq: number, offset: number][] | undefined
}

interface Entry {
  rec: IndexEntry
  recording?: Recording
  /** Set between 'session-closed' and the end of the final flush. */
  finalizing?: Promise<void>
  text?: string
  /** This entry as it goes into index.json, while it does not change. */
  json?: string
  rawLength: Record<Side, number>
}

export class FileStore implements Store {
  private readonly entries = new Map<string, Entry>()
  /** Oldest first by startedAt. */
  private readonly order: Entry[] = []
  private totalBytes = 0
  private readonly dirty = new Set<AppendWriter>()
  /** Entries with events waiting to be serialized. */
  private readonly queuedEvents = new Set<Entry>()
  private readonly budget: Budget = { held: 0 }
  private readonly slabs: SlabPool
  private flushTimer: NodeJS.Timeout | undefined
  private pruneTimer: NodeJS.Timeout | undefined
  private saveTimer: NodeJS.Timeout | undefined
  private saving: Promise<void> | undefined
  private saveAgain = false
  private lastSaveMs = 0
  private closed = false
  private readonly listeners: { [K in keyof FeedEvents]?: (...args: FeedEvents[K]) => void } = {}
  private readonly io: StoreIo
  private readonly root: string
  private readonly feed: Feed
  private readonly retention: Retention

  private constructor(
    private readonly options: StoreOptions,
    private readonly db: Low<string>,
    private settingsData: Record<string, unknown>,
  ) {
    this.root = options.dir
    this.feed = options.feed
    this.io = options.io ?? nodeIo
    this.retention = options.retention ?? {}
    this.slabs = new SlabPool(Math.ceil((options.maxHeldBytes ?? MAX_HELD_BYTES) / (256 * 1024)))
  }

  static async open(options: StoreOptions): Promise<FileStore> {
    const root = options.dir
    await mkdir(join(root, SESSIONS_DIR), { recursive: true, mode: DIR_MODE })
    // Captures hold passwords: whatever the umask or an older mailtap did, only the user
    // may enter the sessions directory. (The --data directory itself is the user's choice.)
    await chmod(join(root, SESSIONS_DIR), DIR_MODE)
    const indexFile = join(root, INDEX_FILE)
    // lowdb's TextFile writes through steno (temp file + rename): index.json is always
    // the old or the new version, never half of one. We build the JSON text ourselves.
    const db = new Low<string>(new TextFile(indexFile), '')
    let raw: Record<string, unknown> | undefined
    try {
      const text = await readFile(indexFile, 'utf8')
      raw = JSON.parse(text) as Record<string, unknown>
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // index.json is written by rename, so this is someone else's damage: keep the
        // file aside and rebuild the index from the session directories.
        await rename(indexFile, `${indexFile}.unreadable-${Date.now()}`).catch(() => undefined)
      }
    }
    const { data, from } = raw
      ? await migrate(root, raw)
      : { data: { formatVersion: FORMAT_VERSION, settings: {}, sessions: [] } as IndexData, from: FORMAT_VERSION }
    const store = new FileStore(options, db, data.settings ?? {})
    const changed = await store.load(data.sessions)
    if (changed || from !== FORMAT_VERSION || !raw) await store.save()
    store.subscribe()
    await store.prune()
    if (store.retention.maxAgeMs !== undefined || store.retention.maxBytes !== undefined || store.retention.maxSessions !== undefined) {
      store.pruneTimer = setInterval(() => void store.prune(), options.pruneIntervalMs ?? 60_000)
      store.pruneTimer.unref()
    }
    return store
  }

  // ---------------------------------------------------------------------------
  // Opening: index + directories, with crash repair.

  /** Returns true when the index had to be repaired. */
  private async load(known: IndexEntry[]): Promise<boolean> {
    let changed = false
    const byId = new Map<string, IndexEntry>()
    for (const e of known) if (e?.session?.id && isSafeId(e.session.id)) byId.set(e.session.id, e)
    const dirs = new Set((await readdir(join(this.root, SESSIONS_DIR)).catch(() => [] as string[])).filter(isSafeId))
    const rebuild: string[] = []
    for (const id of dirs) if (!byId.has(id)) rebuild.push(id)
    for (const [id, e] of byId) if (e.session.status === 'live') rebuild.push(id)
    for (const id of rebuild) {
      changed = true
      const rebuilt = await rebuildEntry(this.root, id, byId.get(id))
      if (rebuilt) byId.set(id, rebuilt)
      else if (!byId.has(id)) {
        // Killed between mkdir and the first write: a directory with nothing to show.
        await rm(sessionDir(this.root, id), { recursive: true, force: true }).catch(() => undefined)
      }
    }
    const all = [...byId.values()].sort((a, b) => a.session.startedAt - b.session.startedAt)
    for (const rec of all) this.addEntry(rec)
    return changed
  }

  private addEntry(rec: IndexEntry): Entry {
    const entry: Entry = {
      rec,
      rawLength: { client: rec.session.totals.bytesFromClient, server: rec.session.totals.bytesFromServer },
    }
    this.entries.set(rec.session.id, entry)
    // Sessions almost always arrive newest; imports may carry older start times.
    let i = this.order.length
    while (i > 0 && this.order[i - 1]!.rec.session.startedAt > rec.session.startedAt) i--
    this.order.splice(i, 0, entry)
    this.totalBytes += rec.bytes
    return entry
  }

  // ---------------------------------------------------------------------------
  // Feed listeners: queue and return.

  private subscribe(): void {
    const l = this.listeners
    l['session-opened'] = (s) => this.onOpened(s)
    l['session-updated'] = (s) => this.onUpdated(s)
    l['session-closed'] = (s) => this.onClosed(s)
    l.chunk = (id, side, bytes, offset) => this.onChunk(id, side, bytes, offset)
    l.event = (id, ev) => this.onEvent(id, ev)
    l['message-open'] = (id, n, _source, wire) => this.onMessageOpen(id, n, wire)
    l['message-data'] = (id, n, bytes) => this.onMessageData(id, n, bytes)
    l['message-close'] = (id, n, _complete, size) => this.onMessageClose(id, n, size)
    for (const [name, fn] of Object.entries(l)) this.feed.on(name as keyof FeedEvents, fn as never)
  }

  private onOpened(session: Session): void {
    if (this.closed || this.entries.has(session.id) || !isSafeId(session.id)) return
    const entry = this.addEntry({ session, bytes: 0, messages: 0 })
    const id = session.id
    const ready = mkdir(sessionDir(this.root, id), { recursive: true, mode: DIR_MODE })
    // A failed mkdir shows up as failed writes (gaps); keep the rejection handled.
    // session.json only helps crash recovery, so its failure must not stop the logs.
    const described = ready.then(() => writeJsonAtomic(sessionJsonPath(this.root, id), session)).catch(() => undefined)
    const report = (what: string) => ({
      failed: (err: Error, lost: number) => this.onWriteFailed(id, what, err, lost),
      written: () => {
        if (entry.recording) entry.recording.gapOpen = false
      },
      idle: this.onWriterIdle,
    })
    entry.recording = {
      ready,
      described,
      events: new AppendWriter(this.io, eventsPath(this.root, id), 'append', ready, report('events'), this.budget),
      raw: {
        client: new AppendWriter(this.io, rawPath(this.root, id, 'client'), 'positional', ready, report('client bytes'), this.budget, this.slabs),
        server: new AppendWriter(this.io, rawPath(this.root, id, 'server'), 'positional', ready, report('server bytes'), this.budget, this.slabs),
      },
      messages: new Map(),
      maps: new Map(),
      gapOpen: false,
      eventsOffset: 0,
      queued: [],
      checkpoints: [],
    }
    this.markIndexDirty()
  }

  private onUpdated(session: Session): void {
    const entry = this.entries.get(session.id)
    if (!entry) return
    if (entry.rec.session !== session) {
      if (entry.rec.session.gaps) session.gaps = true
      entry.rec.session = session
    }
    entry.text = undefined
    entry.json = undefined
  }

  private onClosed(session: Session): void {
    const entry = this.entries.get(session.id)
    if (!entry) return
    this.onUpdated(session)
    const recording = entry.recording
    if (!recording || entry.finalizing) return
    this.serializeEvents(entry)
    entry.finalizing = (async () => {
      const writers = [recording.events, recording.raw.client, recording.raw.server, ...recording.messages.values()]
      await Promise.all(writers.map((w) => w.close()))
      await Promise.all([...recording.maps.values()].map((m) => m.written))
      for (const w of writers) this.dirty.delete(w)
      await recording.described
      await writeJsonAtomic(sessionJsonPath(this.root, session.id), entry.rec.session).catch(() => undefined)
      entry.recording = undefined
      entry.finalizing = undefined
      entry.json = undefined
      this.markIndexDirty()
      void this.prune()
    })()
  }

  private onChunk(id: string, side: Side, bytes: Buffer, offset: number): void {
    const entry = this.entries.get(id)
    const r = entry?.recording
    if (!entry || !r) return
    entry.rawLength[side] = Math.max(entry.rawLength[side], offset + bytes.length)
    if (this.overBudget(id, `${side} bytes`, bytes.length)) return
    r.raw[side].append(bytes, offset)
    this.account(entry, r.raw[side], bytes.length)
  }

  private onEvent(id: string, event: SessionEvent): void {
    const entry = this.entries.get(id)
    const r = entry?.recording
    if (!entry || !r) return
    const item = event.item
    if (item?.kind === 'message' && item.phase === 'parsed' && item.summary?.subject) {
      ;(entry.rec.subjects ??= []).push(item.summary.subject)
      entry.text = undefined
    }
    r.queued.push(event)
    this.queuedEvents.add(entry)
    this.flushTimer ??= setTimeout(() => this.flushDirty(), this.options.flushIntervalMs ?? 150)
    if (r.queued.length >= EVENTS_BATCH) this.serializeEvents(entry)
  }

  /** Turns an entry's queued events into events.ndjson lines, in order. */
  private serializeEvents(entry: Entry): void {
    this.queuedEvents.delete(entry)
    const r = entry.recording
    if (!r || r.queued.length === 0) return
    const events = r.queued
    r.queued = []
    const id = entry.rec.session.id
    for (const event of events) {
      const line = Buffer.from(JSON.stringify(event) + '\n', 'utf8')
      if (this.overBudget(id, 'events', line.length)) {
        r.checkpoints = undefined
        continue
      }
      if (r.checkpoints && event.seq % CHECKPOINT_EVERY === 0) r.checkpoints.push([event.seq, r.eventsOffset])
      r.eventsOffset += line.length
      r.events.append(line)
      this.account(entry, r.events, line.length)
    }
  }

  private onMessageOpen(id: string, n: number, wire?: MessageWire): void {
    const entry = this.entries.get(id)
    const r = entry?.recording
    if (!entry || !r || !Number.isInteger(n) || n < 1) return
    r.messagesReady ??= r.ready.then(() => mkdir(messagesDir(this.root, id), { recursive: true, mode: DIR_MODE }))
    r.messagesReady.catch(() => undefined)
    if (wire) {
      // The bytes are in the capture already: keep where, not a second copy.
      const m = { map: { ...wire } as MessageMap, written: Promise.resolve() }
      r.maps.set(n, m)
      this.writeMap(id, n, m, r)
      entry.rec.messages = Math.max(entry.rec.messages, n)
      return
    }
    const w = new AppendWriter(
      this.io,
      messagePath(this.root, id, n),
      'append',
      r.messagesReady,
      { failed: (err, lost) => this.onWriteFailed(id, `message ${n}`, err, lost), idle: this.onWriterIdle },
      this.budget,
    )
    r.messages.get(n)?.close()
    r.messages.set(n, w)
    entry.rec.messages = Math.max(entry.rec.messages, n)
  }

  private onMessageData(id: string, n: number, bytes: Uint8Array): void {
    const entry = this.entries.get(id)
    const w = entry?.recording?.messages.get(n)
    if (!entry || !w) return
    if (this.overBudget(id, `message ${n}`, bytes.length)) return
    w.append(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    this.account(entry, w, bytes.length)
  }

  private onMessageClose(id: string, n: number, size: number): void {
    const r = this.entries.get(id)?.recording
    const m = r?.maps.get(n)
    if (r && m && m.map.size === undefined) {
      m.map.size = size
      this.writeMap(id, n, m, r)
      return
    }
    const w = r?.messages.get(n)
    if (!r || !w) return
    r.messages.delete(n)
    this.dirty.delete(w)
    void w.close()
  }

  /** (Re)writes messages/<n>.json, after its previous write: the file is the old or the new map. */
  private writeMap(id: string, n: number, m: { map: MessageMap; written: Promise<void> }, r: Recording): void {
    const map = { ...m.map }
    m.written = m.written
      .then(() => r.messagesReady)
      .then(() => writeJsonAtomic(messageMapPath(this.root, id, n), map))
      .catch((err: Error) => this.onWriteFailed(id, `message ${n}`, err, 0))
  }

  private account(entry: Entry, w: AppendWriter, bytes: number): void {
    entry.rec.bytes += bytes
    this.totalBytes += bytes
    this.dirty.add(w)
    // One timer while anything is queued (and none when idle). It keeps the process
    // alive until queued bytes are written.
    this.flushTimer ??= setTimeout(() => this.flushDirty(), this.options.flushIntervalMs ?? 150)
    // One write at a time per file: while one is under way, chunks pile up and go out
    // as one writev when it ends (onWriterIdle). A busy disk or a starved I/O thread thus
    // gets fewer, larger writes instead of a chain of small ones it can never catch up on.
    if (w.queuedBytes >= EAGER_FLUSH_BYTES && !w.writing) void w.flush()
  }

  private readonly onWriterIdle = (w: AppendWriter): void => {
    if (w.queuedBytes >= EAGER_FLUSH_BYTES) {
      this.dirty.delete(w)
      void w.flush()
    }
  }

  /** The disk is too far behind: drop this data and note the gap instead of growing. */
  private overBudget(id: string, what: string, bytes: number): boolean {
    const max = this.options.maxHeldBytes ?? MAX_HELD_BYTES
    if (this.budget.held + bytes <= max) return false
    // Already noted and marked: dropping more of the same gap costs nothing (no Error per chunk).
    const entry = this.entries.get(id)
    if (entry?.recording?.gapOpen && entry.rec.session.gaps) return true
    this.onWriteFailed(id, what, Object.assign(new Error('the disk is not keeping up'), { code: 'STORE_BEHIND' }), bytes)
    return true
  }

  private onWriteFailed(id: string, what: string, err: Error, lost: number): void {
    const entry = this.entries.get(id)
    if (!entry) return
    if (what === 'events' && entry.recording) entry.recording.checkpoints = undefined
    if (!entry.rec.session.gaps) {
      entry.rec.session.gaps = true
      entry.json = undefined
      this.markIndexDirty()
    }
    if (!entry.recording || entry.recording.gapOpen) return
    entry.recording.gapOpen = true
    const code = (err as NodeJS.ErrnoException).code
    const note: Note = {
      level: 'warn',
      code: 'RECORDING_GAP',
      text: `the recording has a gap: ${lost} bytes of ${what} could not be saved (${code ?? err.message})`,
      hint:
        code === 'ENOSPC'
          ? 'The disk holding the data directory is full. Forwarding goes on; free some space.'
          : 'Forwarding goes on; what crossed the proxy meanwhile is missing from the recording.',
    }
    // Never call back into the recorder from inside a feed emit.
    const onGap = this.options.onGap
    if (onGap) setImmediate(() => onGap(id, note))
  }

  private flushDirty(): void {
    this.flushTimer = undefined
    for (const entry of this.queuedEvents) this.serializeEvents(entry)
    if (this.dirty.size === 0) return
    for (const w of this.dirty) void w.flush()
    this.dirty.clear()
  }

  // ---------------------------------------------------------------------------
  // index.json: saved debounced; a slow save (huge index) stretches the debounce so
  // saving never takes more than about a fifth of the time.

  private markIndexDirty(): void {
    if (this.closed || this.saveTimer) return
    const delay = Math.min(10_000, Math.max(this.options.indexSaveMs ?? 1000, this.lastSaveMs * 5))
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined
      void this.save()
    }, delay)
    this.saveTimer.unref()
  }

  private save(): Promise<void> {
    if (this.saving) {
      this.saveAgain = true
      return this.saving
    }
    this.saving = (async () => {
      do {
        this.saveAgain = false
        const started = performance.now()
        // A session whose final flush is still running is saved as live: if we die now,
        // recovery recounts it from its files instead of trusting half-written totals.
        this.db.data = this.serializeIndex()
        try {
          await this.db.write()
        } catch {
          // The next mark retries; sessions stay recoverable from their directories.
        }
        this.lastSaveMs = performance.now() - started
      } while (this.saveAgain)
    })().finally(() => {
      this.saving = undefined
    })
    return this.saving
  }

  /**
   * index.json as text. Closed sessions no longer change, so each one's JSON is made
   * once and reused: a save costs the live sessions plus a join, not a full stringify.
   */
  private serializeIndex(): string {
    const parts = this.order.map((e) => {
      if (e.finalizing && e.rec.session.status !== 'live') {
        // A session whose final flush is still running is saved as live: if we die now,
        // recovery recounts it from its files instead of trusting half-written totals.
        return JSON.stringify({ ...e.rec, session: { ...e.rec.session, status: 'live' } })
      }
      if (e.recording || e.finalizing) return JSON.stringify(e.rec)
      return (e.json ??= JSON.stringify(e.rec))
    })
    const head = JSON.stringify({ formatVersion: FORMAT_VERSION, settings: this.settingsData })
    return `${head.slice(0, -1)},"sessions":[${parts.join(',')}]}`
  }

  // ---------------------------------------------------------------------------
  // Retention: oldest first, never a live session.

  private async prune(): Promise<void> {
    const { maxSessions, maxBytes, maxAgeMs } = this.retention
    if (maxSessions === undefined && maxBytes === undefined && maxAgeMs === undefined) return
    const victims: Entry[] = []
    let count = this.order.length
    let bytes = this.totalBytes
    const cutoff = maxAgeMs !== undefined ? Date.now() - maxAgeMs : -Infinity
    for (const entry of this.order) {
      const rec = entry.rec
      const s = rec.session
      // A session that closed but is still writing its last bytes counts as closed: it
      // goes once the writes end, so the oldest are pruned first whatever the timing.
      const tooMany = maxSessions !== undefined && count > maxSessions
      const tooBig = maxBytes !== undefined && bytes > maxBytes
      // Sorted by start: once within every limit and past the cutoff, the rest are too.
      if (!tooMany && !tooBig && s.startedAt >= cutoff) break
      if (s.status === 'live') continue
      const old = (s.endedAt ?? s.startedAt) < cutoff
      if (!old && !tooMany && !tooBig) continue
      victims.push(entry)
      count--
      bytes -= rec.bytes
    }
    // Forget them all at once, so a prune running concurrently sees the new totals.
    const mine = victims.filter((e) => this.forget(e))
    // Dashboards drop them from their lists, as after a DELETE in the API.
    if (mine.length) this.feed.emit('session-deleted', mine.map((e) => e.rec.session.id))
    await Promise.all(
      mine.map(async (e) => {
        if (e.finalizing) await e.finalizing
        await this.removeFiles(e.rec.session.id)
      }),
    )
  }

  private deletable(entry: Entry): boolean {
    return entry.rec.session.status !== 'live' && !entry.recording && !entry.finalizing
  }

  /** Removes a session from the index; false when it was already gone. */
  private forget(entry: Entry): boolean {
    const id = entry.rec.session.id
    if (this.entries.get(id) !== entry) return false
    this.entries.delete(id)
    const i = this.order.lastIndexOf(entry)
    if (i >= 0) this.order.splice(i, 1)
    this.totalBytes -= entry.rec.bytes
    this.markIndexDirty()
    return true
  }

  private removeFiles(id: string): Promise<void> {
    return rm(sessionDir(this.root, id), { recursive: true, force: true }).catch(() => undefined)
  }

  // ---------------------------------------------------------------------------
  // Reading

  list(q: ListQuery): { sessions: Session[]; total: number } {
    return listSessions(this.order, q)
  }

  get(id: string): Session | undefined {
    return this.entries.get(id)?.rec.session
  }

  async events(id: string, opts: { after?: number; limit?: number } = {}): Promise<SessionEvent[]> {
    const entry = this.entries.get(id)
    if (!entry) return []
    const after = opts.after ?? 0
    const limit = opts.limit ?? Infinity
    if (limit <= 0) return []
    const r = entry.recording
    if (r) {
      this.serializeEvents(entry)
      this.dirty.delete(r.events)
      await r.events.flush()
    } else if (entry.finalizing) await entry.finalizing
    let start = 0
    for (const [seq, offset] of r?.checkpoints ?? []) {
      if (seq > after) break
      start = offset
    }
    const out: SessionEvent[] = []
    const stream = createReadStream(eventsPath(this.root, id), { start })
    const lines = createInterface({ input: stream, crlfDelay: Infinity })
    try {
      for await (const line of lines) {
        if (!line) continue
        let ev: SessionEvent
        try {
          ev = JSON.parse(line) as SessionEvent
        } catch {
          continue // a line still being written, or damage: never a reason to fail a read
        }
        if (ev.seq <= after) continue
        out.push(ev)
        if (out.length >= limit) break
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    } finally {
      lines.close()
      stream.destroy()
    }
    return out
  }

  async raw(id: string, side: Side, range: { start?: number; end?: number } = {}): Promise<Buffer> {
    const entry = this.entries.get(id)
    if (!entry) return Buffer.alloc(0)
    await this.captureWritten(entry, side)
    const path = rawPath(this.root, id, side)
    const size = (await stat(path).catch(() => undefined))?.size ?? 0
    const start = Math.max(0, Math.min(size, Math.floor(range.start ?? 0)))
    const end = Math.max(start, Math.min(size, Math.floor(range.end ?? size)))
    if (end === start) return Buffer.alloc(0)
    return readRange(path, start, end)
  }

  /** Until what the store holds of one side's capture is on disk (a live session's too). */
  private async captureWritten(entry: Entry, side: Side): Promise<void> {
    const w = entry.recording?.raw[side]
    if (w) {
      this.dirty.delete(w)
      await w.flush()
    } else if (entry.finalizing) await entry.finalizing
  }

  rawLength(id: string, side: Side): number {
    return this.entries.get(id)?.rawLength[side] ?? 0
  }

  messageCount(id: string): number {
    return this.entries.get(id)?.rec.messages ?? 0
  }

  async message(id: string, n: number): Promise<Buffer | undefined> {
    const entry = this.entries.get(id)
    if (!entry || !Number.isInteger(n) || n < 1 || n > entry.rec.messages) return undefined
    const w = entry.recording?.messages.get(n)
    if (w) {
      this.dirty.delete(w)
      await w.flush()
    } else if (entry.finalizing) await entry.finalizing
    try {
      const map = entry.recording?.maps.get(n)?.map ?? (await this.readMap(id, n))
      if (map) {
        await this.captureWritten(entry, map.side)
        return await readMappedMessage(rawPath(this.root, id, map.side), map)
      }
      return await readFile(messagePath(this.root, id, n))
    } catch {
      return undefined
    }
  }

  private async readMap(id: string, n: number): Promise<MessageMap | undefined> {
    let text: string
    try {
      text = await readFile(messageMapPath(this.root, id, n), 'utf8')
    } catch {
      return undefined
    }
    const map: unknown = JSON.parse(text)
    if (!isMessageMap(map)) throw new Error(`messages/${n}.json is not a message map`)
    return map
  }

  // ---------------------------------------------------------------------------
  // Deleting

  async delete(id: string): Promise<boolean> {
    let entry = this.entries.get(id)
    // A session that just closed is deletable once its last bytes are written.
    if (entry?.finalizing) await entry.finalizing
    entry = this.entries.get(id)
    if (!entry || !this.deletable(entry)) return false
    this.forget(entry)
    await this.removeFiles(id)
    return true
  }

  async deleteAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.finalizing))
    const victims = [...this.entries.values()].filter((e) => this.deletable(e))
    for (const e of victims) this.forget(e)
    await Promise.all(victims.map((e) => this.removeFiles(e.rec.session.id)))
  }

  // ---------------------------------------------------------------------------

  async flush(): Promise<void> {
    for (const entry of this.queuedEvents) this.serializeEvents(entry)
    const writers: AppendWriter[] = []
    for (const e of this.entries.values()) {
      const r = e.recording
      if (r) writers.push(r.events, r.raw.client, r.raw.server, ...r.messages.values())
    }
    this.dirty.clear()
    await Promise.all(writers.map((w) => w.flush()))
    await Promise.all([...this.entries.values()].map((e) => e.finalizing))
    if (this.saveTimer) {
      clearTimeout(this.saveTimer)
      this.saveTimer = undefined
    }
    await this.save()
  }

  async close(): Promise<void> {
    if (this.closed) return
    for (const [name, fn] of Object.entries(this.listeners)) this.feed.off(name as keyof FeedEvents, fn as never)
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    clearInterval(this.pruneTimer)
    for (const entry of this.queuedEvents) this.serializeEvents(entry)
    await Promise.all([...this.entries.values()].map((e) => e.finalizing))
    // Sessions still open when the store closes end here, as a proxy shutdown.
    const at = Date.now()
    const open = [...this.entries.values()].filter((e) => e.recording)
    for (const e of open) {
      const r = e.recording!
      await Promise.all([r.events, r.raw.client, r.raw.server, ...r.messages.values()].map((w) => w.close()))
      await r.described
      e.recording = undefined
      if (e.rec.session.status === 'live') {
        e.rec.session = { ...e.rec.session, status: 'closed', closeReason: 'proxy-shutdown', endedAt: at }
      }
      e.json = undefined
      await writeJsonAtomic(sessionJsonPath(this.root, e.rec.session.id), e.rec.session).catch(() => undefined)
    }
    if (this.saveTimer) clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    await this.save()
    this.closed = true
  }

  settings(): Record<string, unknown> {
    return this.settingsData
  }

  updateSettings(patch: Record<string, unknown>): void {
    this.settingsData = { ...this.settingsData, ...patch }
    this.markIndexDirty()
  }

  size(): { sessions: number; bytes: number } {
    return { sessions: this.order.length, bytes: this.totalBytes }
  }
}

