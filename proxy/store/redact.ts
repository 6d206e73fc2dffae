// Secrets are stored complete on disk and removed on the way out: the hub always, the
// API and exports unless the user explicitly asks to see them.
import type { SessionEvent } from '../../shared/schema.ts'

/** What a secret's value becomes when redacted. Same on the socket and in the API. */
export const SECRET_MASK = '•••'

/** A copy of the event whose secrets keep their kind but not their value. */
export function redactEvent(event: SessionEvent, mask: string = SECRET_MASK): SessionEvent {
  if (!event.secrets?.length) return event
  return { ...event, secrets: event.secrets.map((s) => ({ kind: s.kind, value: mask })) }
}
