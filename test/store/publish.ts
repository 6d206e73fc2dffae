// Test helper: publishes a session on a Feed the way SessionRecorder does (opened,
// chunks with stream offsets, numbered events, messages, closed), without decoding,
// so store and hub tests depend on the feed contract only.
import type { CloseReason, Item, Note, Protocol, Secret, Session, SessionEvent, Side } from '../../shared/schema.ts'
import type { Feed } from '../../proxy/feed.ts'

let counter = 0

export class FeedSession {
  readonly session: Session
  private seq = 0
  private readonly offsets = { client: 0, server: 0 }
  private messages = 0

  constructor(
    private readonly feed: Feed,
    init: { protocol?: Protocol; startedAt?: number; user?: string; id?: string } = {},
  ) {
    const at = init.startedAt ?? Date.now()
    this.session = {
      id: init.id ?? `t${(counter++).toString(36).padStart(6, '0')}-${process.pid}-${Math.floor(at)}`,
      protocol: init.protocol ?? 'smtp',
      route: { id: 'smtp-2525', listenUrl: 'smtp://127.0.0.1:2525', upstreamUrl: 'smtp://127.0.0.1:25' },
      client: { address: '127.0.0.1', port: 40000 + (counter % 20000) },
      server: { address: '127.0.0.1', port: 25, host: 'localhost' },
      tls: [],
      startedAt: at,
      status: 'live',
      totals: { events: 0, bytesFromClient: 0, bytesFromServer: 0, commands: 0, messages: 0, errors: 0 },
      origin: { kind: 'live' },
    }
    if (init.user) this.session.user = init.user
    feed.emit('session-opened', this.session)
  }

  get id(): string {
    return this.session.id
  }

  /** Raw bytes plus one event per line, as a decoder would report them. */
  chunk(side: Side, text: string | Buffer, item?: Item, extra: { notes?: Note[]; secrets?: Secret[] } = {}): SessionEvent {
    const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text)
    const offset = this.offsets[side]
    this.offsets[side] += bytes.length
    if (side === 'client') this.session.totals.bytesFromClient += bytes.length
    else this.session.totals.bytesFromServer += bytes.length
    this.feed.emit('chunk', this.session.id, side, bytes, offset, Date.now())
    const ev = this.event({ from: side, raw: { side, offset, length: bytes.length }, item, ...extra })
    this.feed.emit('session-updated', this.session)
    return ev
  }

  event(ev: Omit<SessionEvent, 'seq' | 'at'>): SessionEvent {
    const event: SessionEvent = { seq: ++this.seq, at: Date.now(), ...ev }
    this.session.totals.events = event.seq
    if (event.item?.kind === 'command') this.session.totals.commands++
    for (const n of event.notes ?? []) if (n.level === 'error') this.session.totals.errors++
    this.feed.emit('event', this.session.id, event)
    return event
  }

  message(body: Buffer | string, pieces = 1): number {
    const n = ++this.messages
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body)
    this.feed.emit('message-open', this.session.id, n, 'smtp-data')
    const step = Math.ceil(bytes.length / pieces)
    for (let i = 0; i < bytes.length; i += step) this.feed.emit('message-data', this.session.id, n, bytes.subarray(i, i + step))
    this.feed.emit('message-close', this.session.id, n, true, bytes.length)
    this.session.totals.messages++
    this.event({ from: 'client', item: { kind: 'message', protocol: this.session.protocol, phase: 'received', index: n, source: 'smtp-data', size: bytes.length } })
    return n
  }

  close(reason: CloseReason = 'client-closed', endedAt = Date.now()): void {
    this.event({ from: 'proxy', item: { kind: 'lifecycle', phase: 'close', reason } })
    this.session.status = reason === 'error' ? 'failed' : 'closed'
    this.session.closeReason = reason
    this.session.endedAt = endedAt
    this.feed.emit('session-closed', this.session)
  }
}

export function command(verb: string, args = ''): Item {
  return { kind: 'command', protocol: 'smtp', verb, args, line: `${verb}${args ? ' ' + args : ''}` }
}

export function reply(code: string, text: string): Item {
  const status = code.startsWith('2') || code.startsWith('3') ? 'ok' : code.startsWith('4') ? 'temp-error' : 'error'
  return { kind: 'reply', protocol: 'smtp', code, status, lines: [text] }
}

type TestContextLike = { after(fn: () => unknown): void }
const deferred = new WeakMap<TestContextLike, (() => unknown)[]>()

/** Like t.after, but cleanups run last-registered first (close the store, then rm its dir). */
export function defer(t: TestContextLike, fn: () => unknown): void {
  let fns = deferred.get(t)
  if (!fns) {
    const list: (() => unknown)[] = (fns = [])
    deferred.set(t, list)
    t.after(async () => {
      for (const f of list.reverse()) await f()
    })
  }
  fns.push(fn)
}
