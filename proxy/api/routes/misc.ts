// Health, the configured routes, and the local CA certificate for clients to trust.
import { Router } from 'express'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'

export function miscRouter(ctx: ApiContext): Router {
  const r = Router()
  r.get('/health', (_req, res) => {
    res.json({ ok: true, version: ctx.version, uptimeMs: Math.round(Date.now() - ctx.startedAt), sessions: ctx.store.size().sessions })
  })
  r.get('/routes', (_req, res) => {
    res.json(ctx.lab ? { routes: ctx.routes, lab: ctx.lab } : { routes: ctx.routes })
  })
  r.get('/ca.pem', (_req, res) => {
    const pem = ctx.caPem?.()
    if (!pem) throw new HttpError(404, 'no local CA: TLS interception is not set up')
    res.attachment('mailtap-ca.pem')
    res.type('application/x-pem-file').send(pem)
  })
  return r
}
