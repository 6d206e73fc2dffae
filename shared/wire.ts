// Messages on the dashboard's WebSocket (/ws). One union each way, switched on
// exhaustively on both ends (assertNever). The socket carries summaries and decoded
// events; message bodies and raw bytes come from the HTTP API.
import type { Session, SessionEvent } from './schema.ts'

export const WIRE_VERSION = 1

export type ClientMessage =
  /** Receive session-opened/updated/closed for every session. */
  | { type: 'subscribe-list' }
  /** Receive the events of one session, resuming after `afterSeq` when given. */
  | { type: 'subscribe'; sessionId: string; afterSeq?: number }
  | { type: 'unsubscribe'; sessionId: string }
  | { type: 'ping'; id?: number }

export type ServerMessage =
  | { type: 'hello'; wireVersion: number; version: string }
  | { type: 'session-opened'; session: Session }
  | { type: 'session-updated'; session: Session }
  | { type: 'session-closed'; session: Session }
  /** A decoded event. Secret values are never sent here: `secrets` carry kinds only. */
  | { type: 'event'; sessionId: string; event: SessionEvent }
  /** The client fell behind (its queue overflowed): reload the REST snapshot. */
  | { type: 'reset'; reason: string }
  | { type: 'error'; message: string }
  | { type: 'pong'; id?: number }
  /**
   * Sessions removed from the store (DELETE /api/sessions/:id, DELETE /api/sessions).
   * Sent to list subscribers and to subscribers of those sessions, whose subscriptions end.
   */
  | { type: 'session-deleted'; sessionIds: string[] }
