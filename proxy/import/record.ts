// Replays a parsed import through a SessionRecorder, so an imported transcript is decoded,
// annotated and stored exactly like a live session (the store listens on the feed).
import type { Session, TlsLeg } from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import { SessionRecorder } from '../session/recorder.ts'
import type { ParsedImport } from './types.ts'

export interface ImportMeta {
  /** The file the import came from, for display. */
  file?: string
}

export async function recordImport(feed: Feed, parsed: ParsedImport, meta: ImportMeta = {}): Promise<Session> {
  const s = parsed.session
  const startAt = s?.startedAt ?? parsed.chunks[0]?.at ?? Date.now()
  const rec = new SessionRecorder(feed, {
    protocol: parsed.protocol,
    route: s?.route ?? { id: 'import', listenUrl: 'import', upstreamUrl: meta.file ?? 'pasted transcript' },
    client: s?.client ?? { address: 'client', port: 0 },
    server: s?.server ?? { address: 'server', port: 0 },
    origin: { kind: 'import', ...(s?.id ? { of: s.id } : {}), ...(meta.file ? { file: meta.file } : {}) },
    at: startAt,
  })
  for (const n of parsed.notes) rec.note(n, startAt)
  let lastAt = startAt
  // The decoder reports an accepted STARTTLS; unless the source says what followed (a
  // json export's TLS legs, a txt export's '# TLS' lines), the cleartext goes on as if
  // mailtap had intercepted it.
  let goAhead = false
  for (const c of parsed.chunks) {
    const at = Math.max(c.at, lastAt)
    lastAt = at
    for (const n of c.notesBefore ?? []) rec.note(n, at)
    if (c.passthroughBefore) {
      rec.passthrough(at)
    } else if (c.tlsBefore?.length) {
      switchTls(rec, c.tlsBefore, at)
    } else if (goAhead) {
      switchTls(rec, [{ leg: 'client', mode: 'intercept', how: 'starttls' }, { leg: 'server', mode: 'intercept', how: 'starttls' }], at)
    }
    goAhead = rec.chunk(c.side, c.bytes, at)
    for (const n of c.notesAfter ?? []) rec.note(n, at)
  }
  for (const n of parsed.trailingNotes ?? []) rec.note(n, lastAt)
  const endAt = Math.max(s?.endedAt ?? lastAt, lastAt)
  await rec.close('imported', s?.closeReason ? `originally ${s.closeReason}` : undefined, endAt)
  return rec.session
}

function switchTls(rec: SessionRecorder, legs: TlsLeg[], at: number): void {
  for (const leg of legs) rec.tls({ ...leg }, at)
  if (legs.some((l) => l.how === 'starttls')) rec.upgraded(at)
}
