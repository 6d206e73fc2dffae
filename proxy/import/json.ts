// Reads a mailtap json export back into chunks: the events' raw references give the
// order in which the two streams interleaved, and their times; TLS switches are put back
// where they happened so decoding continues in the clear as it did live.
import type { Protocol, Session, SessionEvent, Side } from '../../shared/schema.ts'
import { JSON_FORMAT, JSON_FORMAT_VERSION } from '../export/json.ts'
import { segmentsFromEvents } from '../export/segments.ts'
import { ImportError, type ImportChunk, type ParsedImport } from './types.ts'

const PROTOCOLS: readonly Protocol[] = ['smtp', 'pop3', 'imap']

export function isJsonExport(obj: unknown): boolean {
  return typeof obj === 'object' && obj !== null && (obj as { format?: unknown }).format === JSON_FORMAT
}

function base64(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new ImportError(`${what} must be a base64 string`)
  return Buffer.from(value, 'base64')
}

export function importJson(obj: unknown, opts: { protocol?: Protocol } = {}): ParsedImport {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ImportError('the json import must be an object (a mailtap json export)')
  const doc = obj as Record<string, unknown>
  if (doc.format !== JSON_FORMAT) throw new ImportError(`not a mailtap export: "format" is ${JSON.stringify(doc.format)}, expected "${JSON_FORMAT}"`)
  if (typeof doc.formatVersion !== 'number' || doc.formatVersion > JSON_FORMAT_VERSION) {
    throw new ImportError(`"formatVersion" ${JSON.stringify(doc.formatVersion)} is not one this mailtap reads (up to ${JSON_FORMAT_VERSION})`)
  }
  const session = doc.session as Partial<Session> | undefined
  if (typeof session !== 'object' || session === null) throw new ImportError('"session" is missing')
  const protocol = opts.protocol ?? session.protocol
  if (!protocol || !PROTOCOLS.includes(protocol)) throw new ImportError(`"session.protocol" must be one of ${PROTOCOLS.join(', ')}`)
  if (!Array.isArray(doc.events)) throw new ImportError('"events" must be an array')
  const raw = doc.raw as Record<string, unknown> | undefined
  if (typeof raw !== 'object' || raw === null) throw new ImportError('"raw" is missing')
  const bytes: Record<Side, Buffer> = { client: base64(raw.client, '"raw.client"'), server: base64(raw.server, '"raw.server"') }

  const events: SessionEvent[] = []
  for (const [i, e] of (doc.events as unknown[]).entries()) {
    const ev = e as SessionEvent
    if (typeof ev !== 'object' || ev === null || typeof ev.seq !== 'number' || typeof ev.at !== 'number') {
      throw new ImportError(`"events[${i}]" needs a numeric seq and at`)
    }
    if (ev.raw && (!['client', 'server'].includes(ev.raw.side) || !(ev.raw.offset >= 0) || !(ev.raw.length >= 0))) {
      throw new ImportError(`"events[${i}].raw" must have side, offset and length`)
    }
    events.push(ev)
  }
  events.sort((a, b) => a.seq - b.seq)

  const startedAt = typeof session.startedAt === 'number' ? session.startedAt : (events[0]?.at ?? Date.now())
  const endAt = typeof session.endedAt === 'number' ? session.endedAt : (events[events.length - 1]?.at ?? startedAt)
  const segments = segmentsFromEvents(events, { client: bytes.client.length, server: bytes.server.length }, endAt)
  const chunks: ImportChunk[] = segments.map((s) => ({ side: s.side, bytes: bytes[s.side].subarray(s.start, s.end), at: s.at }))

  // TLS handshakes and the passthrough switch go before the first bytes that followed them.
  const firstAfter = (seq: number) => segments.findIndex((s) => s.seq > seq)
  for (const leg of Array.isArray(session.tls) ? session.tls : []) {
    const i = firstAfter(leg.atSeq ?? 0)
    if (i < 0) continue
    const c = chunks[i]!
    ;(c.tlsBefore ??= []).push({ ...leg, atSeq: undefined })
  }
  const pass = events.find((e) => e.item?.kind === 'tls' && e.item.phase === 'passthrough')
  if (pass) {
    const i = firstAfter(pass.seq)
    if (i >= 0) chunks[i]!.passthroughBefore = true
  }

  const redacted = doc.secrets === false
  const notes = [
    {
      level: 'info' as const,
      code: 'IMPORT_FROM_EXPORT',
      text: `Imported from the mailtap export of session ${session.id ?? '?'}${session.closeReason ? ` (it ended: ${session.closeReason}${session.closeDetail ? `, ${session.closeDetail}` : ''})` : ''}.`,
    },
  ]
  if (redacted) {
    notes.push({
      level: 'info',
      code: 'IMPORT_REDACTED',
      text: 'The export was redacted: secrets were masked with "*", so AUTH answers that carried them decode as invalid.',
    })
  }
  return {
    protocol,
    chunks,
    notes,
    session: {
      id: session.id,
      route: session.route,
      client: session.client,
      server: session.server,
      startedAt,
      endedAt: endAt,
      closeReason: session.closeReason,
    },
  }
}
