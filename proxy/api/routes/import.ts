// POST /api/import: a json export or a text transcript as the request body. The import
// is recorded like a live session and lands in the store through the feed.
import express, { Router } from 'express'
import type { Protocol } from '../../../shared/schema.ts'
import { MAX_IMPORT_BYTES, parseImport, recordImport } from '../../import/index.ts'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { enumParam, stringParam } from '../params.ts'

const PROTOCOLS: readonly Protocol[] = ['smtp', 'pop3', 'imap']

export function importRouter(ctx: ApiContext): Router {
  const r = Router()
  r.post('/import', express.raw({ type: () => true, limit: MAX_IMPORT_BYTES }), async (req, res) => {
    if (/^multipart\//i.test(req.headers['content-type'] ?? '')) {
      throw new HttpError(415, 'send the file itself as the request body, not multipart/form-data')
    }
    const protocol = enumParam(req.query, 'protocol', PROTOCOLS)
    const name = stringParam(req.query, 'name')
    const body = req.body
    if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, 'the request body is empty: send a json export or a transcript')
    const parsed = parseImport(body, { protocol })
    const session = await recordImport(ctx.feed, parsed, { file: name ? name.slice(0, 200) : undefined })
    // The store persists through the feed; flushing makes the answer's id readable at once.
    await ctx.store.flush()
    res.status(201).json({ session: ctx.store.get(session.id) ?? session })
  })
  return r
}
