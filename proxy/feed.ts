// The process-level live feed: every session's lifecycle, raw chunks, decoded events and
// extracted message bytes are published here. The store and the WebSocket hub subscribe;
// the relay never waits for them (EventEmitter listeners run synchronously, so
// subscribers must only enqueue work, never block).
import { EventEmitter } from 'node:events'
import type { MessageItem, MessageWire, Session, SessionEvent, Side } from '../shared/schema.ts'

export interface FeedEvents {
  'session-opened': [session: Session]
  'session-updated': [session: Session]
  'session-closed': [session: Session]
  /** Sessions removed from the store (DELETE in the API, retention). */
  'session-deleted': [sessionIds: string[]]
  /** Raw bytes exactly as forwarded; `offset` is their position in that side's stream. */
  chunk: [sessionId: string, side: Side, bytes: Buffer, offset: number, at: number]
  event: [sessionId: string, event: SessionEvent]
  /** `wire`: the message is a run of the capture (see MessageWire); no 'message-data' follows. */
  'message-open': [sessionId: string, index: number, source: MessageItem['source'], wire?: MessageWire]
  'message-data': [sessionId: string, index: number, bytes: Uint8Array]
  /** `size`: the message's bytes as the decoder extracted them. */
  'message-close': [sessionId: string, index: number, complete: boolean, size: number]
}

export class Feed extends EventEmitter<FeedEvents> {
  constructor() {
    super()
    // Many subscribers (store, hub, tests) are normal.
    this.setMaxListeners(0)
  }
}
