// A streaming MIME summary of a message that crossed the proxy: the root headers, the tree
// of parts and the attachments with their sizes. Built on mailsplit (the splitter under
// mailparser): it walks the message as a stream of nodes and body chunks, so a message
// of any size is summarized without holding its body — only part headers are kept.
import { Splitter } from '@zone-eu/mailsplit'
import libmime from 'libmime'
import type { MessageSummary, MimePartSummary } from '../../shared/schema.ts'

export interface MessageSummarizer {
  write(bytes: Uint8Array): void
  end(): Promise<MessageSummary>
}

interface SplitNode {
  type: 'node'
  root: boolean
  parentNode: SplitNode | false
  partNr: string[]
  contentType: string | false
  charset: string | false
  disposition: string | false
  filename: string | false
  encoding: string
  multipart: string | false
  headers: { getFirst(key: string): string }
}

/** Root header fields shown in summaries, decoded from RFC 2047 encoded words. */
const FIELDS = [
  ['from', 'From'],
  ['to', 'To'],
  ['cc', 'Cc'],
  ['subject', 'Subject'],
  ['date', 'Date'],
  ['messageId', 'Message-ID'],
] as const

export function createMessageSummarizer(): MessageSummarizer {
  // mailsplit's typings only declare 'data'; the stream events are the usual ones.
  const splitter = new Splitter({ ignoreEmbedded: true }) as unknown as NodeJS.ReadWriteStream
  const parts = new Map<SplitNode, MimePartSummary & { encoding: string }>()
  let root: MimePartSummary | undefined
  let current: (MimePartSummary & { encoding: string }) | undefined
  const summary: MessageSummary = { attachments: [] }
  let failed: string | undefined

  splitter.on('data', (data: SplitNode | { type: 'body' | 'data'; value: Buffer }) => {
    if (data.type === 'node') {
      const node = data as SplitNode
      const part: MimePartSummary & { encoding: string } = {
        path: node.partNr.length ? node.partNr.join('.') : '1',
        contentType: node.contentType || 'text/plain',
        size: 0,
        encoding: node.encoding,
      }
      if (node.filename) part.filename = node.filename
      if (node.disposition) part.disposition = node.disposition
      if (node.charset) part.charset = node.charset
      parts.set(node, part)
      if (node.root || !node.parentNode) {
        root = part
        part.path = ''
        for (const [key, header] of FIELDS) {
          const value = node.headers.getFirst(header)
          if (value) summary[key] = decodeWords(value)
        }
      } else {
        const parent = parts.get(node.parentNode)
        if (parent) (parent.children ??= []).push(part)
      }
      current = part
    } else if (data.type === 'body' && current) {
      current.size += bodySize(data.value, current.encoding)
    }
  })
  splitter.on('error', (err: Error) => (failed = err.message))

  return {
    write(bytes) {
      if (!failed) splitter.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as Uint8Array)
    },
    end() {
      return new Promise((resolve) => {
        const finish = () => {
          for (const part of parts.values()) {
            delete (part as { encoding?: string }).encoding
            const isAttachment = part.disposition === 'attachment' || (!!part.filename && !part.contentType.startsWith('multipart/'))
            if (isAttachment) {
              summary.attachments.push({ filename: part.filename ?? 'unnamed', contentType: part.contentType, size: part.size })
            }
          }
          if (root) summary.parts = root
          if (failed) summary.error = failed
          resolve(summary)
        }
        splitter.once('end', finish)
        splitter.once('error', finish)
        splitter.resume()
        splitter.end()
      })
    },
  }
}

/** Decoded size of a body chunk: base64 shrinks to 3/4 once line breaks are left out. */
function bodySize(chunk: Buffer, encoding: string): number {
  if (encoding !== 'base64') return chunk.length
  let breaks = 0
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) breaks++
  for (let i = chunk.indexOf(13); i !== -1; i = chunk.indexOf(13, i + 1)) breaks++
  return Math.floor(((chunk.length - breaks) * 3) / 4)
}

function decodeWords(value: string): string {
  try {
    return (libmime.decodeWords(value) as string).replace(/\s+/g, ' ').trim()
  } catch {
    return value
  }
}
