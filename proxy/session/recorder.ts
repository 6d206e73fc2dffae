// One session's recorder: numbers events, runs the protocol decoder as a tap, keeps the
// Session summary current and publishes everything on the feed. The live relay,
// imports, replays and the mock server all record through this one class.
import type {
  CloseReason,
  Decoded,
  Decoder,
  Item,
  LifecycleItem,
  MessageItem,
  MessageSink,
  Note,
  Peer,
  Protocol,
  Session,
  SessionEvent,
  Side,
  TlsLeg,
} from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import { now } from '../clock.ts'
import { createDecoder } from '../protocols/index.ts'
import { createMessageSummarizer } from '../mime/summary.ts'
import { newSessionId } from './ids.ts'

export interface RecorderInit {
  protocol: Protocol
  route: Session['route']
  client: Peer
  server: Session['server']
  origin?: Session['origin']
  /** Start time; defaults to now. Imports pass the transcript's own times. */
  at?: number
  /** Turn decoding off (the raw capture still happens). */
  decode?: boolean
  /** The client leg is TLS from the first byte (smtps...): credentials are not in the clear. */
  implicitTls?: boolean
}

/** How many command refs we remember for pairing; older ones can no longer be paired. */
const MAX_PENDING_REFS = 8192
/** Refs past the limit are forgotten this many at a time (amortised O(1) per event). */
const REF_EVICT_BATCH = 1024
/** A parse of a stored message that takes longer than this is abandoned at close. */
const SUMMARY_WAIT_MS = 2000

/** Recorders of sessions still open, by id: for notes that arrive from elsewhere (store gaps). */
const open = new Map<string, SessionRecorder>()

export function findRecorder(id: string): SessionRecorder | undefined {
  return open.get(id)
}

export class SessionRecorder {
  readonly session: Session
  private seq = 0
  private readonly offsets = { client: 0, server: 0 }
  private readonly refToSeq = new Map<number, number>()
  private decoder: Decoder | undefined
  private readonly pendingSummaries = new Set<Promise<void>>()
  private closing = false
  /** 'session-closed' went out: the session is final, later events (a summary that came
   *  after SUMMARY_WAIT_MS) are dropped, or the store and the counts would disagree. */
  private ended = false
  /** Set once the session is encrypted end to end and we only count bytes. */
  private opaque = false

  constructor(
    private readonly feed: Feed,
    init: RecorderInit,
  ) {
    const at = init.at ?? now()
    this.session = {
      id: newSessionId(at),
      protocol: init.protocol,
      route: init.route,
      client: init.client,
      server: init.server,
      tls: [],
      startedAt: at,
      status: 'live',
      totals: { events: 0, bytesFromClient: 0, bytesFromServer: 0, commands: 0, messages: 0, errors: 0 },
      origin: init.origin ?? { kind: 'live' },
    }
    if (init.decode !== false) {
      this.decoder = createDecoder(init.protocol, { messages: this.messageSink(), implicitTls: init.implicitTls })
    }
    open.set(this.session.id, this)
    feed.emit('session-opened', this.session)
    this.push({ from: 'proxy', at, item: { kind: 'lifecycle', phase: 'open' } })
  }

  get id(): string {
    return this.session.id
  }

  get closed(): boolean {
    return this.closing
  }

  /**
   * Bytes one side sent, exactly as they were forwarded. Returns true when the decoder
   * saw the server accept STARTTLS/STLS: the relay must switch both legs to TLS now.
   */
  chunk(side: Side, bytes: Buffer, at: number = now()): boolean {
    if (bytes.length === 0) return false
    const offset = this.offsets[side]
    this.offsets[side] += bytes.length
    if (side === 'client') this.session.totals.bytesFromClient += bytes.length
    else this.session.totals.bytesFromServer += bytes.length
    this.feed.emit('chunk', this.session.id, side, bytes, offset, at)
    let goAhead = false
    if (this.decoder && !this.opaque && !this.closing) {
      goAhead = this.pushDecoded(this.safely(() => this.decoder!.feed(side, bytes, at), at))
    }
    this.feed.emit('session-updated', this.session)
    return goAhead
  }

  /** A note from mailtap itself (upstream unreachable, TLS failure, recording gap...). */
  note(note: Note, at: number = now(), item?: Item): void {
    this.push({ from: 'proxy', at, notes: [note], item })
    this.feed.emit('session-updated', this.session)
  }

  lifecycle(item: Omit<LifecycleItem, 'kind'>, at: number = now(), notes?: Note[]): void {
    this.push({ from: 'proxy', at, item: { kind: 'lifecycle', ...item }, notes })
  }

  /** A finished TLS handshake on one leg. */
  tls(leg: TlsLeg, at: number = now(), notes?: Note[]): void {
    leg.atSeq = this.seq + 1
    this.session.tls.push(leg)
    this.push({ from: 'proxy', at, item: { kind: 'tls', phase: 'handshake', leg: leg.leg, info: leg }, notes })
    this.feed.emit('session-updated', this.session)
  }

  /** Both legs are TLS now: the decoder carries on in the clear. */
  upgraded(at: number = now()): void {
    if (this.decoder?.upgraded) this.pushDecoded(this.safely(() => this.decoder!.upgraded!(at), at))
  }

  /** From here on the bytes are encrypted end to end (passthrough): count, don't decode. */
  passthrough(at: number = now()): void {
    this.opaque = true
    this.push({
      from: 'proxy',
      at,
      item: { kind: 'tls', phase: 'passthrough' },
      notes: [
        {
          level: 'info',
          code: 'TLS_PASSTHROUGH',
          text: 'TLS passthrough: the rest of the session is encrypted end to end and only counted',
        },
      ],
    })
  }

  /** Marks the recording as incomplete, with a note saying why. */
  gap(note: Note, at: number = now()): void {
    this.session.gaps = true
    this.note(note, at)
  }

  /**
   * Ends the session: flushes the decoder, waits briefly for message summaries, then
   * publishes 'session-closed'. Safe to call more than once; the first reason wins.
   */
  async close(reason: CloseReason, detail?: string, at: number = now()): Promise<void> {
    if (this.closing) return
    this.closing = true
    if (this.decoder && !this.opaque) {
      for (const side of ['client', 'server'] as const) {
        this.pushDecoded(this.safely(() => this.decoder!.end(side, at), at))
      }
    }
    // Message summaries are parsed off the forwarding path; give them a moment so the
    // 'parsed' events land before the close.
    if (this.pendingSummaries.size > 0) {
      await Promise.race([
        Promise.allSettled([...this.pendingSummaries]),
        new Promise((resolve) => setTimeout(resolve, SUMMARY_WAIT_MS).unref()),
      ])
    }
    const failed = reason === 'upstream-unreachable' || reason === 'tls-failed' || reason === 'error'
    this.session.status = failed ? 'failed' : 'closed'
    this.session.closeReason = reason
    if (detail) this.session.closeDetail = detail
    this.push({ from: 'proxy', at, item: { kind: 'lifecycle', phase: 'close', reason, detail } })
    this.session.endedAt = at
    open.delete(this.session.id)
    this.ended = true
    this.feed.emit('session-closed', this.session)
  }

  // -------------------------------------------------------------------------

  /** A decoder bug must never take the session down: note it and stop decoding. */
  private safely(run: () => Decoded[], at: number): Decoded[] {
    try {
      return run()
    } catch (err) {
      this.decoder = undefined
      return [
        {
          from: 'proxy',
          at,
          notes: [
            {
              level: 'error',
              code: 'DECODER_ERROR',
              text: `decoder failed, the rest of the session is recorded raw: ${(err as Error).message}`,
            },
          ],
        },
      ]
    }
  }

  private pushDecoded(items: Decoded[]): boolean {
    let goAhead = false
    for (const d of items) {
      const ev: SessionEvent = { seq: 0, at: d.at, from: d.from }
      if (d.raw) ev.raw = d.raw
      if (d.item) ev.item = d.item
      if (d.notes?.length) ev.notes = d.notes
      if (d.secrets?.length) ev.secrets = d.secrets
      if (d.replyToRef !== undefined && (ev.item?.kind === 'reply' || ev.item?.kind === 'continuation')) {
        const seq = this.refToSeq.get(d.replyToRef)
        if (seq !== undefined) ev.item.replyTo = seq
      }
      if (d.attemptRef !== undefined && ev.item?.kind === 'auth') {
        const seq = this.refToSeq.get(d.attemptRef)
        if (seq !== undefined) ev.item.attempt = seq
      }
      if (ev.item?.kind === 'tls' && ev.item.phase === 'go-ahead') goAhead = true
      const seq = this.push(ev)
      if (d.ref !== undefined) {
        this.refToSeq.set(d.ref, seq)
        if (this.refToSeq.size > MAX_PENDING_REFS + REF_EVICT_BATCH) this.evictOldRefs()
      }
    }
    return goAhead
  }

  /**
   * Forgets the oldest refs in one pass. Deleting the first key one at a time is slow in
   * V8: deleted slots stay at the front of the Map until it rehashes, and each
   * `keys().next()` skips all of them again (this was most of the recorder's per-event
   * cost on long sessions).
   */
  private evictOldRefs(): void {
    let drop = this.refToSeq.size - MAX_PENDING_REFS
    for (const key of this.refToSeq.keys()) {
      if (drop-- <= 0) break
      this.refToSeq.delete(key)
    }
  }

  private push(ev: Omit<SessionEvent, 'seq'> & { seq?: number }): number {
    if (this.ended) return this.seq
    const event = ev as SessionEvent
    event.seq = ++this.seq
    this.account(event)
    this.feed.emit('event', this.session.id, event)
    return event.seq
  }

  /** Keeps the summary's counters, user and last reply in step with the events. */
  private account(ev: SessionEvent): void {
    const s = this.session
    s.totals.events = ev.seq
    const item = ev.item
    if (item?.kind === 'command') s.totals.commands++
    else if (item?.kind === 'message' && item.phase === 'received') s.totals.messages++
    else if (item?.kind === 'auth' && item.user) s.user = item.user
    else if (item?.kind === 'reply') {
      const text = `${item.tag ? item.tag + ' ' : ''}${item.code} ${item.lines[0] ?? ''}`.trim()
      s.lastReply = text.length > 160 ? text.slice(0, 157) + '...' : text
    }
    if (ev.notes) for (const n of ev.notes) if (n.level === 'error') s.totals.errors++
  }

  private messageSink(): MessageSink {
    return {
      open: (index, source, wire) => {
        this.feed.emit('message-open', this.session.id, index, source, wire)
        const summarizer = createMessageSummarizer()
        let size = 0
        return {
          write: (bytes) => {
            size += bytes.length
            // A message that is a run of the capture is stored as its place, not copied.
            if (!wire) this.feed.emit('message-data', this.session.id, index, bytes)
            summarizer.write(bytes)
          },
          close: (complete) => {
            this.feed.emit('message-close', this.session.id, index, complete, size)
            const done = summarizer
              .end()
              .then((summary) => {
                if (this.ended) return
                const item: MessageItem = {
                  kind: 'message',
                  protocol: this.session.protocol,
                  phase: 'parsed',
                  index,
                  source,
                  size,
                  summary,
                  complete,
                }
                this.push({ from: 'proxy', at: now(), item })
                this.feed.emit('session-updated', this.session)
              })
              .catch(() => undefined)
              .finally(() => this.pendingSummaries.delete(done))
            this.pendingSummaries.add(done)
          },
        }
      },
    }
  }
}
