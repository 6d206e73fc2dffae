// The complete, re-importable export: summary, every event, both raw streams and every
// message. Redacted unless asked: secret values become '•••' and the raw bytes that
// carried them are masked with '*' (same length), so a redacted export still imports and
// decodes, only without the secrets (an AUTH answer then decodes as invalid base64).
import type { Session, SessionEvent, Side } from '../../shared/schema.ts'
import { maskBytes, redactEvents, secretRanges } from './redact.ts'

export const JSON_FORMAT = 'mailtap'
export const JSON_FORMAT_VERSION = 1

export interface JsonExport {
  format: typeof JSON_FORMAT
  formatVersion: number
  exportedAt: string
  /** False when secrets were masked. */
  secrets: boolean
  session: Session
  events: SessionEvent[]
  raw: { client: string; server: string }
  /** Message n is messages[n - 1], base64. */
  messages: string[]
}

export function buildJsonExport(
  session: Session,
  events: readonly SessionEvent[],
  raw: Record<Side, Buffer>,
  messages: readonly Buffer[],
  opts: { secrets?: boolean } = {},
): JsonExport {
  const ranges = opts.secrets ? [] : secretRanges(events, raw)
  return {
    format: JSON_FORMAT,
    formatVersion: JSON_FORMAT_VERSION,
    exportedAt: new Date().toISOString(),
    secrets: !!opts.secrets,
    session,
    events: opts.secrets ? [...events] : redactEvents(events),
    raw: {
      client: maskBytes(raw.client, 'client', ranges).toString('base64'),
      server: maskBytes(raw.server, 'server', ranges).toString('base64'),
    },
    messages: messages.map((m) => m.toString('base64')),
  }
}
