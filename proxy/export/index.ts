// Exports one stored session as txt, json, pcapng or a zip of its messages. The HTTP
// route and the CLI (`mailtap export ID --format F`) both call exportSession.
import type { Readable } from 'node:stream'
import type { Session, SessionEvent, Side } from '../../shared/schema.ts'
import type { Store } from '../store/index.ts'
import { zipMessages } from './eml.ts'
import { buildJsonExport } from './json.ts'
import { IMPLICIT_TLS_PORTS, writePcapng, type PcapConnection } from './pcapng.ts'
import { maskBytes, secretRanges } from './redact.ts'
import { segmentsFromEvents } from './segments.ts'
import { formatTxt } from './txt.ts'

export const EXPORT_FORMATS = ['txt', 'json', 'pcapng', 'eml'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export interface ExportOptions {
  /** Include passwords and tokens. Off by default. */
  secrets?: boolean
  /** txt only: the longest run of one side's lines before it is elided. */
  maxBlockBytes?: number
}

export interface ExportResult {
  filename: string
  contentType: string
  body: Buffer | Readable
}

/** A request the caller got wrong (unknown session, no messages); `status` is the HTTP one. */
export class ExportError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message)
    this.name = 'ExportError'
  }
}

export function isExportFormat(s: unknown): s is ExportFormat {
  return typeof s === 'string' && (EXPORT_FORMATS as readonly string[]).includes(s)
}

export interface Capture {
  session: Session
  events: SessionEvent[]
  raw: Record<Side, Buffer>
}

export async function loadCapture(store: Store, id: string): Promise<Capture> {
  const session = store.get(id)
  if (!session) throw new ExportError(`no session with id '${id}'`, 404)
  const [events, client, server] = await Promise.all([store.events(id), store.raw(id, 'client'), store.raw(id, 'server')])
  return { session, events, raw: { client, server } }
}

export async function exportSession(store: Store, id: string, format: string, opts: ExportOptions = {}): Promise<ExportResult> {
  if (!isExportFormat(format)) throw new ExportError(`unknown export format '${format}'; use one of ${EXPORT_FORMATS.join(', ')}`)
  const base = `mailtap-${id}`
  switch (format) {
    case 'txt': {
      const c = await loadCapture(store, id)
      const text = formatTxt(c.session, c.events, c.raw, opts)
      return { filename: `${base}.txt`, contentType: 'text/plain; charset=utf-8', body: Buffer.from(text, 'utf8') }
    }
    case 'json': {
      const c = await loadCapture(store, id)
      const messages: Buffer[] = []
      for (let n = 1; n <= store.messageCount(id); n++) {
        const m = await store.message(id, n)
        messages.push(m ?? Buffer.alloc(0))
      }
      const doc = buildJsonExport(c.session, c.events, c.raw, messages, opts)
      return { filename: `${base}.json`, contentType: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify(doc)) }
    }
    case 'pcapng': {
      const c = await loadCapture(store, id)
      return { filename: `${base}.pcapng`, contentType: 'application/x-pcapng', body: buildPcapng(c, opts) }
    }
    case 'eml': {
      const session = store.get(id)
      if (!session) throw new ExportError(`no session with id '${id}'`, 404)
      const count = store.messageCount(id)
      if (count === 0) throw new ExportError(`session '${id}' has no messages`, 404)
      const body = await zipMessages(count, (n) => store.message(id, n), session.totals.bytesFromClient + session.totals.bytesFromServer)
      return { filename: `${base}-messages.zip`, contentType: 'application/zip', body }
    }
  }
}

/**
 * One TCP connection, or two when STARTTLS was intercepted: Wireshark switches a
 * conversation to its TLS dissector after the go-ahead, so the cleartext that followed
 * goes on a second connection where it is dissected as the protocol again.
 */
export function buildPcapng(c: Capture, opts: { secrets?: boolean } = {}): Buffer {
  const { session, events } = c
  const ranges = opts.secrets ? [] : secretRanges(events, c.raw)
  const raw = { client: maskBytes(c.raw.client, 'client', ranges), server: maskBytes(c.raw.server, 'server', ranges) }
  const endAt = session.endedAt ?? events[events.length - 1]?.at ?? session.startedAt
  const segments = segmentsFromEvents(events, { client: raw.client.length, server: raw.server.length }, endAt)
  const split = events.find(
    (e) => e.item?.kind === 'tls' && e.item.phase === 'handshake' && e.item.info?.how === 'starttls' && e.item.info.mode === 'intercept',
  )
  const closedBy: Side = session.closeReason === 'server-closed' || session.closeReason === 'server-reset' ? 'server' : 'client'
  const toPcap = (s: (typeof segments)[number]) => ({ side: s.side, bytes: raw[s.side].subarray(s.start, s.end), at: s.at })
  const connections: PcapConnection[] = []
  if (split) {
    const before = segments.filter((s) => s.seq < split.seq)
    const after = segments.filter((s) => s.seq > split.seq)
    connections.push({ segments: before.map(toPcap), startedAt: session.startedAt, endedAt: split.at, closedBy: 'client' })
    connections.push({
      segments: after.map(toPcap),
      startedAt: split.at,
      endedAt: endAt,
      closedBy,
      comment: 'mailtap: the cleartext of the same session after STARTTLS (TLS was intercepted); it is shown as a second connection so that it is dissected',
    })
  } else {
    connections.push({ segments: segments.map(toPcap), startedAt: session.startedAt, endedAt: endAt, closedBy })
  }
  // Passthrough from the first byte (implicit TLS): the packets are TLS records, so they
  // go on the protocol's TLS port where Wireshark reads them as TLS.
  const pass = events.findIndex((e) => e.item?.kind === 'tls' && e.item.phase === 'passthrough')
  const tlsFromStart = pass >= 0 && !events.slice(0, pass).some((e) => e.raw && e.raw.length > 0)
  return writePcapng(connections, {
    protocol: session.protocol,
    client: session.client,
    server: session.server,
    serverPort: tlsFromStart ? IMPLICIT_TLS_PORTS[session.protocol] : undefined,
    comment: `session ${session.id}, route ${session.route.id} (${session.route.listenUrl} -> ${session.route.upstreamUrl})`,
  })
}
