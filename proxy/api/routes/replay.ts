// Replay and mock from the dashboard: POST /api/sessions/:id/replay runs a client replay
// (its session streams live over the feed like any other) and answers with the verdict
// and the diff; POST /api/sessions/:id/mock starts a mock server, DELETE /api/mocks/:id
// stops it.
import { randomBytes } from 'node:crypto'
import express, { Router } from 'express'
import { MockError, ReplayError, parseRule, replaySession, startMock, type MockServer } from '../../replay/index.ts'
import type { Ca } from '../../tls/ca.ts'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { sessionOr404 } from './sessions.ts'

/**
 * What replay needs beyond the shared context; main.ts may put these on the context
 * (`ca` for the mock's TLS, `upstreamCa`/`upstreamVerify` for replay's).
 */
export interface ReplayContextExtras {
  ca?: Ca
  upstreamCa?: string[]
  upstreamVerify?: 'strict' | 'warn' | 'off'
}

/** Running mocks are few and short-lived; a bound keeps a buggy client from piling them up. */
const MAX_MOCKS = 16

function optString(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name]
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v !== 'string') throw new HttpError(400, `'${name}' must be a string`)
  return v
}

export function replayRouter(ctx: ApiContext): Router {
  const extra = ctx as ApiContext & ReplayContextExtras
  const r = Router()
  const mocks = new Map<string, MockServer & { sessionId: string }>()
  const json = express.json({ limit: '64kb' })

  r.post('/sessions/:id/replay', json, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object')
    const session = sessionOr404(ctx.store, req.params.id!)
    if (session.status === 'live') throw new HttpError(409, `session '${session.id}' is still live: wait until it ends`)
    const speed = body.speed
    if (speed !== undefined && speed !== null && (typeof speed !== 'number' || !(speed > 0))) throw new HttpError(400, "'speed' must be a number above 0")
    if (body.lockstep !== undefined && typeof body.lockstep !== 'boolean') throw new HttpError(400, "'lockstep' must be true or false")
    const ruleSpecs = body.rules ?? []
    if (!Array.isArray(ruleSpecs) || ruleSpecs.some((r) => typeof r !== 'string')) {
      throw new HttpError(400, "'rules' must be a list of NAME=/REGEX/FLAGS=>REPLACEMENT strings")
    }
    let rules
    try {
      rules = (ruleSpecs as string[]).map(parseRule)
    } catch (err) {
      throw new HttpError(400, (err as Error).message)
    }
    try {
      const result = await replaySession({
        store: ctx.store,
        feed: ctx.feed,
        sessionId: session.id,
        to: optString(body, 'to'),
        user: optString(body, 'user'),
        password: optString(body, 'password'),
        speed: typeof speed === 'number' ? speed : undefined,
        lockstep: body.lockstep === true || speed === undefined || speed === null,
        rules,
        tls: { verify: extra.upstreamVerify ?? 'warn', ca: extra.upstreamCa },
      })
      await ctx.store.flush()
      res.json({
        verdict: result.verdict,
        divergedAt: result.divergedAt,
        replaySessionId: result.replaySessionId,
        diff: result.exchanges,
        notes: result.notes,
      })
    } catch (err) {
      if (err instanceof ReplayError) throw new HttpError(400, err.message)
      throw err
    }
  })

  r.post('/sessions/:id/mock', json, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    const session = sessionOr404(ctx.store, req.params.id!)
    const listen = optString(body, 'listen')
    if (!listen) throw new HttpError(400, "'listen' is required, e.g. smtp://127.0.0.1:2526")
    if (mocks.size >= MAX_MOCKS) throw new HttpError(409, `${MAX_MOCKS} mocks are running: stop one first`)
    let mock: MockServer
    try {
      mock = await startMock({ store: ctx.store, feed: ctx.feed, sessionId: session.id, listen, ca: extra.ca })
    } catch (err) {
      if (err instanceof MockError) throw new HttpError(400, err.message)
      throw err
    }
    const mockId = randomBytes(6).toString('hex')
    mocks.set(mockId, Object.assign(mock, { sessionId: session.id }))
    res.status(201).json({ url: mock.url, mockId })
  })

  r.get('/mocks', (_req, res) => {
    res.json({ mocks: [...mocks].map(([mockId, m]) => ({ mockId, url: m.url, of: m.sessionId, sessions: m.sessions() })) })
  })

  r.delete('/mocks/:mockId', async (req, res) => {
    const mock = mocks.get(req.params.mockId!)
    if (!mock) throw new HttpError(404, `no mock with id '${req.params.mockId}'`)
    mocks.delete(req.params.mockId!)
    await mock.close()
    res.json({ ok: true, sessions: mock.sessions() })
  })
  return r
}
