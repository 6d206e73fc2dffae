// GET /api/sessions/:id/export?format=txt|json|pcapng|eml[&secrets=show][&full=1]: a download.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Router } from 'express'
import { EXPORT_FORMATS, exportSession } from '../../export/index.ts'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { boolParam, showSecrets, stringParam } from '../params.ts'
import { sessionOr404 } from './sessions.ts'

export function exportRouter(ctx: ApiContext): Router {
  const r = Router()
  r.get('/sessions/:id/export', async (req, res) => {
    const session = sessionOr404(ctx.store, req.params.id)
    const format = stringParam(req.query, 'format')
    if (!format) throw new HttpError(400, `'format' is required: one of ${EXPORT_FORMATS.join(', ')}`)
    // txt elides runs of one side longer than 64 KiB unless full=1.
    const full = boolParam(req.query, 'full')
    const out = await exportSession(ctx.store, session.id, format, { secrets: showSecrets(req.query), maxBlockBytes: full ? Infinity : undefined })
    res.attachment(out.filename)
    res.type(out.contentType)
    if (out.body instanceof Readable) {
      await pipeline(out.body, res)
      return
    }
    res.send(out.body)
  })
  return r
}
