// Errors the API answers with: a 4xx and `{ error }` naming what was wrong. Anything
// else is our bug: logged, answered with a 500, and the server carries on.
import type { ErrorRequestHandler, RequestHandler } from 'express'
import { ExportError } from '../export/index.ts'
import { ImportError } from '../import/index.ts'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: `no such endpoint: ${req.method} ${req.baseUrl}${req.path}` })
}

export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  const e = err as { status?: number; statusCode?: number; type?: string; message?: string; expose?: boolean }
  let status = 500
  let message = 'internal error'
  if (err instanceof HttpError || err instanceof ExportError) {
    status = err.status
    message = err.message
  } else if (err instanceof ImportError) {
    status = 400
    message = `import failed: ${err.message}`
  } else if (e.type === 'entity.too.large') {
    status = 413
    message = 'the request body is too large'
  } else if (typeof (e.status ?? e.statusCode) === 'number' && (e.status ?? e.statusCode)! < 500 && e.expose !== false) {
    // body-parser and friends: their messages are meant for the client.
    status = (e.status ?? e.statusCode)!
    message = e.message ?? 'bad request'
  } else {
    console.error('mailtap api:', err)
  }
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.status(status).json({ error: message })
}
