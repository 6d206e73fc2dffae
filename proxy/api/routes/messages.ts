// Messages that crossed the proxy: the raw .eml, a parsed view (mailparser), attachments
// as downloads, and the HTML body for the dashboard's sandboxed iframe.
import { Router, type Response } from 'express'
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser'
import type { MessageSummary } from '../../../shared/schema.ts'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { MESSAGE_HTML_CSP } from '../security.ts'
import { sessionOr404 } from './sessions.ts'

function addresses(a: AddressObject | AddressObject[] | undefined): string | undefined {
  if (!a) return undefined
  return (Array.isArray(a) ? a : [a]).map((x) => x.text).join(', ')
}

function summaryOf(mail: ParsedMail): MessageSummary {
  const s: MessageSummary = {
    attachments: mail.attachments.map((a) => ({ filename: a.filename ?? '', contentType: a.contentType, size: a.size })),
  }
  const from = addresses(mail.from)
  if (from) s.from = from
  const to = addresses(mail.to)
  if (to) s.to = to
  const cc = addresses(mail.cc)
  if (cc) s.cc = cc
  if (mail.subject !== undefined) s.subject = mail.subject
  if (mail.date) s.date = mail.date.toISOString()
  if (mail.messageId) s.messageId = mail.messageId
  return s
}

/** A file name safe for Content-Disposition and any file system. */
function safeFileName(name: string | undefined, fallback: string): string {
  const clean = (name ?? '').replace(/[\\/\u0000-\u001f\u007f"]/g, '_').replace(/^\.+/, '').trim()
  return clean.slice(0, 200) || fallback
}

export function messagesRouter(ctx: ApiContext): Router {
  const r = Router()
  const { store } = ctx

  const load = async (id: string, nText: string) => {
    const session = sessionOr404(store, id)
    if (!/^\d+$/.test(nText)) throw new HttpError(400, `message number must be a positive integer, got '${nText}'`)
    const n = Number(nText)
    const count = store.messageCount(session.id)
    if (n < 1 || n > count) {
      throw new HttpError(404, count === 0 ? `session '${session.id}' has no messages` : `no message ${n} in session '${session.id}' (it has ${count})`)
    }
    const bytes = await store.message(session.id, n)
    if (!bytes) throw new HttpError(404, `message ${n} of session '${session.id}' is not in the store`)
    return { session, n, bytes }
  }
  const parse = async (bytes: Buffer) => {
    try {
      return await simpleParser(bytes)
    } catch (err) {
      throw new HttpError(422, `message could not be parsed as MIME: ${(err as Error).message}`)
    }
  }
  const download = (res: Response, filename: string, type: string, body: Buffer) => {
    res.attachment(filename)
    res.type(type).send(body)
  }

  r.get('/sessions/:id/messages/:n.eml', async (req, res) => {
    const { session, n, bytes } = await load(req.params.id, req.params.n)
    download(res, `${session.id}-message-${n}.eml`, 'message/rfc822', bytes)
  })

  r.get('/sessions/:id/messages/:n', async (req, res) => {
    const { session, n, bytes } = await load(req.params.id, req.params.n)
    const mail = await parse(bytes)
    // The recorder's summary has the MIME tree; mailparser's fills in when it is missing.
    const events = await store.events(session.id)
    let summary: MessageSummary | undefined
    for (const e of events) {
      if (e.item?.kind === 'message' && e.item.phase === 'parsed' && e.item.index === n && e.item.summary) summary = e.item.summary
    }
    res.json({
      summary: summary ?? summaryOf(mail),
      headers: mail.headerLines.map((h) => {
        const colon = h.line.indexOf(':')
        const name = colon >= 0 ? h.line.slice(0, colon) : h.key
        return [name, colon >= 0 ? h.line.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim() : '']
      }),
      text: mail.text,
      html: mail.html === false ? undefined : mail.html,
      size: bytes.length,
      attachments: mail.attachments.map((a, i) => ({
        index: i + 1,
        filename: safeFileName(a.filename, `attachment-${i + 1}`),
        contentType: a.contentType,
        size: a.size,
      })),
    })
  })

  r.get('/sessions/:id/messages/:n/attachments/:i', async (req, res) => {
    const { session, n, bytes } = await load(req.params.id, req.params.n)
    if (!/^\d+$/.test(req.params.i)) throw new HttpError(400, `attachment number must be a positive integer, got '${req.params.i}'`)
    const i = Number(req.params.i)
    const mail = await parse(bytes)
    const a = mail.attachments[i - 1]
    if (!a) throw new HttpError(404, `no attachment ${i} in message ${n} of session '${session.id}' (it has ${mail.attachments.length})`)
    // Always a download, never rendered: an attachment is as hostile as the mail.
    download(res, safeFileName(a.filename, `attachment-${i}`), 'application/octet-stream', a.content)
  })

  r.get('/sessions/:id/messages/:n/html', async (req, res) => {
    const { session, n, bytes } = await load(req.params.id, req.params.n)
    const mail = await parse(bytes)
    if (mail.html === false) throw new HttpError(404, `message ${n} of session '${session.id}' has no HTML part`)
    res.setHeader('Content-Security-Policy', MESSAGE_HTML_CSP)
    res.setHeader('X-Frame-Options', 'SAMEORIGIN')
    res.type('text/html; charset=utf-8').send(mail.html)
  })

  return r
}
