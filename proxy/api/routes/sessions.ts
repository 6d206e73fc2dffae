// Sessions: the list, one session with its events, its raw bytes, and deletion.
import { Router } from 'express'
import type { Protocol, SessionEvent, SessionStatus, Side } from '../../../shared/schema.ts'
import { redactEvent } from '../../store/redact.ts'
import { maskBytes, secretRangesOfEvent, type SecretRange } from '../../export/redact.ts'
import type { Store } from '../../store/index.ts'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { boolParam, enumParam, intParam, showSecrets, stringParam, timeParam } from '../params.ts'

const PROTOCOLS: readonly Protocol[] = ['smtp', 'pop3', 'imap']
const STATUSES: readonly SessionStatus[] = ['live', 'closed', 'failed']
const SIDES: readonly Side[] = ['client', 'server']
export const MAX_LIST_LIMIT = 1000
export const MAX_EVENTS_LIMIT = 100_000

export function sessionOr404(store: Store, id: string) {
  const s = store.get(id)
  if (!s) throw new HttpError(404, `no session with id '${id}'`)
  return s
}

/** Where the secrets sit in one side's stream, read from the few events that carry them. */
export async function secretRangesFor(store: Store, id: string, side: Side, events: readonly SessionEvent[]): Promise<SecretRange[]> {
  const out: SecretRange[] = []
  for (const ev of events) {
    if (!ev.secrets?.length || ev.raw?.side !== side) continue
    const slice = await store.raw(id, side, { start: ev.raw.offset, end: ev.raw.offset + ev.raw.length })
    out.push(...secretRangesOfEvent(ev, slice))
  }
  return out
}

export function sessionsRouter(ctx: ApiContext): Router {
  const r = Router()
  const { store } = ctx

  r.get('/sessions', (req, res) => {
    const q = req.query
    const from = timeParam(q, 'from')
    const to = timeParam(q, 'to')
    if (from !== undefined && to !== undefined && from > to) throw new HttpError(400, `'from' (${from}) is after 'to' (${to})`)
    const result = store.list({
      protocol: enumParam(q, 'protocol', PROTOCOLS),
      user: stringParam(q, 'user') || undefined,
      status: enumParam(q, 'status', STATUSES),
      q: stringParam(q, 'q') || undefined,
      from,
      to,
      hasErrors: boolParam(q, 'errors'),
      offset: intParam(q, 'offset', 0),
      limit: intParam(q, 'limit', 1, MAX_LIST_LIMIT),
    })
    res.json(result)
  })

  r.get('/sessions/:id', async (req, res) => {
    const session = sessionOr404(store, req.params.id)
    const after = intParam(req.query, 'after', 0)
    const limit = intParam(req.query, 'limit', 1, MAX_EVENTS_LIMIT)
    const show = showSecrets(req.query)
    const events = await store.events(session.id, { after, limit })
    res.json({ session, events: show ? events : events.map((e) => redactEvent(e)) })
  })

  r.get('/sessions/:id/raw', async (req, res) => {
    const session = sessionOr404(store, req.params.id)
    const side = enumParam(req.query, 'side', SIDES)
    const start = intParam(req.query, 'start', 0)
    const end = intParam(req.query, 'end', 0)
    if (start !== undefined && end !== undefined && end < start) throw new HttpError(400, `'end' (${end}) is before 'start' (${start})`)
    const show = showSecrets(req.query)
    const events = show ? [] : await store.events(session.id)
    const read = async (s: Side) => {
      const bytes = await store.raw(session.id, s, { start, end })
      if (show) return bytes
      return maskBytes(bytes, s, await secretRangesFor(store, session.id, s, events), start ?? 0)
    }
    if (side) {
      res.setHeader('X-Raw-Length', String(store.rawLength(session.id, side)))
      res.type('application/octet-stream').send(await read(side))
      return
    }
    const [client, server] = await Promise.all([read('client'), read('server')])
    res.json({ client: client.toString('base64'), server: server.toString('base64') })
  })

  r.delete('/sessions/:id', async (req, res) => {
    const session = sessionOr404(store, req.params.id)
    if (session.status === 'live') throw new HttpError(409, `session '${session.id}' is live; it can be deleted once it has ended`)
    if (!(await store.delete(session.id))) throw new HttpError(409, `session '${session.id}' could not be deleted`)
    ctx.feed.emit('session-deleted', [session.id])
    res.json({ deleted: session.id })
  })

  r.delete('/sessions', async (_req, res) => {
    const before = store.list({ limit: Number.MAX_SAFE_INTEGER }).sessions.map((s) => s.id)
    await store.deleteAll()
    // Live sessions stay; what is gone is what dashboards must drop.
    const gone = before.filter((id) => !store.get(id))
    if (gone.length) ctx.feed.emit('session-deleted', gone)
    res.json({ deleted: gone.length })
  })

  return r
}
