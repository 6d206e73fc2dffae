// POST /api/import: a json export or a text transcript, sent as the request body itself
// (the dashboard, curl --data-binary) or as a multipart/form-data upload (a browser form,
// curl -F file=@x.txt). The import is recorded like a live session and lands in the store
// through the feed.
import express, { Router, type Request as ExpressRequest } from 'express'
import type { Protocol } from '../../../shared/schema.ts'
import { MAX_IMPORT_BYTES, parseImport, recordImport } from '../../import/index.ts'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { enumParam, stringParam } from '../params.ts'

const PROTOCOLS: readonly Protocol[] = ['smtp', 'pop3', 'imap']

interface Upload {
  body: Buffer
  /** The uploaded file's name, when the form gave one. */
  filename?: string
  /** Form fields standing in for the query parameters. */
  fields: Record<string, string>
}

/**
 * Reads a multipart/form-data body with the platform's own parser (fetch's
 * Request.formData(), undici). The file is the field named 'file', else the only file
 * field, else a text field named 'file' or 'transcript' (a pasted transcript).
 */
async function readMultipart(req: ExpressRequest, raw: Buffer): Promise<Upload> {
  let form: FormData
  try {
    form = await new Request('http://mailtap.invalid/api/import', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type']! },
      // A Buffer is a Uint8Array over a plain ArrayBuffer; the cast only narrows the type.
      body: raw as Uint8Array<ArrayBuffer>,
    }).formData()
  } catch (err) {
    throw new HttpError(400, `the multipart/form-data body could not be read: ${(err as Error).message}`)
  }
  const fields: Record<string, string> = {}
  const files: [string, File][] = []
  for (const [name, value] of form) {
    if (typeof value === 'string') fields[name] ??= value
    else files.push([name, value])
  }
  const named = files.find(([name]) => name === 'file')
  if (!named && files.length > 1) {
    throw new HttpError(400, `the form has ${files.length} files (${files.map(([n]) => n).join(', ')}): send one, named 'file'`)
  }
  const file = (named ?? files[0])?.[1]
  if (file) return { body: Buffer.from(await file.arrayBuffer()), filename: file.name || undefined, fields }
  const text = fields.file ?? fields.transcript
  if (text !== undefined) return { body: Buffer.from(text, 'utf8'), fields }
  throw new HttpError(400, "the form has no file: send it as a field named 'file' (curl -F file=@transcript.txt)")
}

export function importRouter(ctx: ApiContext): Router {
  const r = Router()
  r.post('/import', express.raw({ type: () => true, limit: MAX_IMPORT_BYTES }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    const upload: Upload = /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '')
      ? await readMultipart(req, raw)
      : { body: raw, fields: {} }
    // The query wins over form fields; a form may carry them for a plain HTML <form>.
    const params = { ...upload.fields, ...(req.query as Record<string, unknown>) } as ExpressRequest['query']
    const protocol = enumParam(params, 'protocol', PROTOCOLS)
    const name = stringParam(params, 'name') || upload.filename
    if (upload.body.length === 0) throw new HttpError(400, 'the request body is empty: send a json export or a transcript')
    const parsed = parseImport(upload.body, { protocol })
    const session = await recordImport(ctx.feed, parsed, { file: name ? name.slice(0, 200) : undefined })
    // The store persists through the feed; flushing makes the answer's id readable at once.
    await ctx.store.flush()
    res.status(201).json({ session: ctx.store.get(session.id) ?? session })
  })
  return r
}
