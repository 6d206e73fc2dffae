// The message viewer's parse: one stored message (already a Buffer from the store) into
// headers, text, sanitisable HTML and an attachment list, with mailparser's simpleParser.
// Streaming summaries of live traffic are summary.ts's job; this runs on demand only.
import { simpleParser } from 'mailparser'
import type { MessageSummary } from '../../shared/schema.ts'
import { createMessageSummarizer } from './summary.ts'

export interface MessageView {
  summary: MessageSummary
  /** Every header line in order, [name, value] with encoded words decoded. */
  headers: [string, string][]
  text?: string
  /** Raw HTML from the message: hostile, render only in a sandboxed iframe. */
  html?: string
  attachments: { index: number; filename: string; contentType: string; size: number }[]
}

/** Parses a whole message for display. Never throws on bad MIME: `summary.error` says. */
export async function parseMessageForView(buf: Buffer): Promise<MessageView> {
  const summarizer = createMessageSummarizer()
  summarizer.write(buf)
  const summary = await summarizer.end()
  try {
    const mail = await simpleParser(buf, { skipImageLinks: true, skipTextToHtml: true, keepCidLinks: true })
    const headers: [string, string][] = mail.headerLines.map((h) => {
      const colon = h.line.indexOf(':')
      const name = colon > 0 ? h.line.slice(0, colon) : h.key
      const value = colon > 0 ? h.line.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim() : ''
      return [name, decodeHeader(mail.headers.get(h.key), value)]
    })
    const view: MessageView = {
      summary,
      headers,
      attachments: mail.attachments.map((a, index) => ({
        index,
        filename: a.filename ?? `attachment-${index + 1}`,
        contentType: a.contentType,
        size: a.size,
      })),
    }
    if (mail.text !== undefined) view.text = mail.text
    if (typeof mail.html === 'string') view.html = mail.html
    return view
  } catch (err) {
    return { summary: { ...summary, error: summary.error ?? (err as Error).message }, headers: [], text: buf.toString('utf8'), attachments: [] }
  }
}

/** One attachment's bytes and type, by its index in MessageView.attachments. */
export async function extractAttachment(buf: Buffer, index: number): Promise<{ filename: string; contentType: string; content: Buffer } | undefined> {
  const mail = await simpleParser(buf, { skipImageLinks: true, skipTextToHtml: true, skipHtmlToText: true })
  const a = mail.attachments[index]
  if (!a) return undefined
  return { filename: a.filename ?? `attachment-${index + 1}`, contentType: a.contentType, content: a.content }
}

/** mailparser's parsed header value when it is a plain string, else the raw text. */
function decodeHeader(parsed: unknown, raw: string): string {
  if (typeof parsed === 'string') return parsed
  if (parsed && typeof parsed === 'object' && 'text' in parsed && typeof (parsed as { text: unknown }).text === 'string') {
    return (parsed as { text: string }).text
  }
  if (parsed instanceof Date) return raw
  return raw
}
