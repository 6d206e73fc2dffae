// The streaming MIME parse behind a message summary: the root headers, the tree of parts
// and the attachments with their sizes. It runs in the summary worker (summary-worker.ts);
// summary.ts is the relay-side client.
//
// Why mailsplit and not MailParser or postal-mime: postal-mime takes the whole message as
// one buffer; MailParser streams attachments but collects every inline text part whole in
// memory (a 200 MB text/plain body would sit in RAM). mailsplit is the splitter under
// MailParser (same maintainers): it yields part headers and raw body chunks as a stream,
// so we count sizes without keeping any body. The viewer (view.ts) uses MailParser's
// simpleParser on one stored message on demand, where having the text is the point.
//
// mailsplit walks bodies line by line (~70 MB/s), so only the first SUMMARY_PARSE_BYTES
// of a message are parsed; past that, bytes are counted on the last open part and the
// summary says `truncated`. This bounds both the CPU spent and what can queue up.
import { Splitter } from '@zone-eu/mailsplit'
import libmime from 'libmime'
import type { MessageSummary, MimePartSummary } from '../../shared/schema.ts'
import { SUMMARY_PARSE_BYTES } from './summary-protocol.ts'

export { SUMMARY_PARSE_BYTES }

export interface SummaryParser {
  /**
   * `bytes` need only be valid during the call (the worker hands over views into its ring):
   * what the parser keeps, it copies. `done` runs once it holds no copy of them any more.
   */
  write(bytes: Uint8Array, done?: () => void): void
  /**
   * Bytes that were never parsed (past a budget, or not sent). Once the root header showed
   * a single part (onBodyOnly), they are body bytes and count exactly; before that they
   * count on the last open part and the summary says `truncated`.
   */
  skip(bytes: number): void
  /** Always resolves, also after a parse error. */
  end(): Promise<MessageSummary>
}

interface SplitNode {
  type: 'node'
  root: boolean
  parentNode: SplitNode | false
  partNr: (number | string)[]
  contentType: string | false
  charset: string | false
  disposition: string | false
  filename: string | false
  encoding: string | false
  multipart: string | false
  headers: { getFirst(key: string): string }
}

/** Base64 parts count their base64 characters (`b64`) and final padding (`pad`). */
type Part = MimePartSummary & { encoding: string; multipart: boolean; b64?: number; pad?: number }

/** Root header fields shown in summaries, decoded from RFC 2047 encoded words. */
const FIELDS = [
  ['from', 'From'],
  ['to', 'To'],
  ['cc', 'Cc'],
  ['subject', 'Subject'],
  ['date', 'Date'],
  ['messageId', 'Message-ID'],
] as const

export interface SummaryParserOptions {
  parseBytes?: number
  /**
   * Called once the root header is parsed and the message is a single part not in base64:
   * nothing more can be learnt but the size, which is the raw byte count (mailsplit counts
   * the same bytes). From then on the parser only counts, and the caller may stop sending
   * bytes and pass their number to skip().
   */
  onBodyOnly?: () => void
}

export function createSummaryParser(options: SummaryParserOptions = {}): SummaryParser {
  const budget = options.parseBytes ?? SUMMARY_PARSE_BYTES
  // mailsplit's typings only declare 'data'; the stream events are the usual ones.
  const splitter = new Splitter({ ignoreEmbedded: true }) as unknown as NodeJS.ReadWriteStream
  const parts = new Map<SplitNode, Part>()
  const order: Part[] = []
  let root: Part | undefined
  let current: Part | undefined
  const summary: MessageSummary = { attachments: [] }
  let failed: string | undefined
  let parsed = 0
  let skipped = 0
  let bodyOnly = false
  // Whether the root header's blank line was among the parsed bytes, seen here rather than
  // from mailsplit's events so that the answer does not depend on when they fire. `tail`
  // holds the last two bytes before the chunk (a virtual '\n' first: no header at all).
  let headerEnded = false
  // A single base64 part's characters counted past mailsplit. Kept apart and added at the
  // end: mailsplit may still flush a held partial line, whose padding must not win.
  const direct: { b64: number; pad?: number } = { b64: 0 }
  let tail = '\n'

  splitter.on('data', (data: SplitNode | { type: 'body' | 'data'; value: Buffer }) => {
    if (data.type === 'node') {
      const node = data as SplitNode
      const part: Part = {
        // IMAP-style numbering: a multipart root is '' (its children 1, 2, 1.1...); a
        // single-part message's body is part '1'.
        path: node.partNr.filter((n) => typeof n === 'number').join('.'),
        contentType: node.contentType || 'text/plain',
        size: 0,
        encoding: (node.encoding || '7bit').toLowerCase(),
        multipart: !!node.multipart,
      }
      if (part.encoding === 'base64') part.b64 = 0
      if (node.filename) part.filename = decodeWords(node.filename)
      if (node.disposition) part.disposition = node.disposition
      if (node.charset) part.charset = node.charset
      parts.set(node, part)
      order.push(part)
      if (node.root || !node.parentNode) {
        root = part
        if (!part.multipart) part.path = '1'
        for (const [key, header] of FIELDS) {
          const value = node.headers.getFirst(header)
          if (value) summary[key] = decodeWords(value)
        }
      } else {
        const parent = parts.get(node.parentNode)
        if (parent) (parent.children ??= []).push(part)
      }
      current = part
      if (part === root && !part.multipart && !bodyOnly) {
        // A single part: nothing more to parse, only its size to count. A base64 body is
        // counted here (its decoded size needs its characters); any other body is its
        // raw byte count, which the caller may count without sending.
        bodyOnly = true
        if (part.b64 === undefined) options.onBodyOnly?.()
      }
    } else if (data.type === 'body' && current) {
      if (current.b64 !== undefined) countBase64(current, data.value)
      else current.size += data.value.length
    }
  })
  let settled = false
  const onSettled: (() => void)[] = []
  const settle = () => {
    if (settled) return
    settled = true
    for (const run of onSettled.splice(0)) run()
  }
  // After an error mailsplit emits neither 'end' nor another 'error': remember that the
  // stream is over, or an end() called later would wait for ever (a 20 MB message with no
  // header block fails with "Max header size" long before its end).
  splitter.on('error', (err: Error) => {
    failed = err.message
    settle()
  })
  splitter.on('end', settle)

  // Until the root part is known, one write at a time goes to mailsplit: it splits on a
  // later turn of the event loop, so without this every batch that arrived meanwhile went
  // into its slow line walk (and stayed held there) before we learnt that a single part
  // only needs counting.
  let gated = false
  const held: { buf: Buffer; done?: () => void }[] = []
  const onIdle: (() => void)[] = []
  const release = () => {
    gated = false
    while (!gated && held.length > 0) {
      const next = held.shift()!
      take(next.buf, next.done)
    }
    if (!gated) for (const run of onIdle.splice(0)) run()
  }

  const take = (buf: Buffer, done?: () => void) => {
    if (bodyOnly && root && !failed && root.b64 === undefined) {
      // Not through mailsplit: what it still holds from earlier writes it counts itself.
      root.size += buf.length
      done?.()
      return
    }
    if (failed || parsed >= budget) {
      if (!failed) skipped += buf.length
      done?.()
      return
    }
    const room = budget - parsed
    const head = buf.length > room ? buf.subarray(0, room) : buf
    parsed += head.length
    skipped += buf.length - head.length
    if (!headerEnded) {
      const text = tail + head.toString('latin1')
      headerEnded = text.includes('\n\n') || text.includes('\n\r\n')
      tail = text.slice(-2)
    }
    if (bodyOnly && root) {
      // A single base64 part: count its characters directly, ~20× faster than
      // mailsplit's line walk (what mailsplit still holds it counts itself).
      countBase64(direct, head)
      done?.()
      return
    }
    // mailsplit keeps views of what it is given (a pending partial line) past its callback.
    const copy = Buffer.from(head)
    if (root) {
      splitter.write(copy, () => done?.())
      return
    }
    gated = true
    splitter.write(copy, () => {
      done?.()
      release()
    })
  }

  return {
    write(bytes, done) {
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      if (gated) held.push({ buf: Buffer.from(buf), done })
      else take(buf, done)
    },
    skip(bytes) {
      skipped += bytes
    },
    end() {
      return new Promise((resolve) => {
        let done = false
        const finish = () => {
          if (done) return
          done = true
          if (skipped > 0 && bodyOnly && headerEnded && root && !failed && root.b64 === undefined) {
            // A single part whose header was read whole: unparsed bytes are its body.
            root.size += skipped
          } else if (skipped > 0) {
            summary.truncated = true
            const last = current ?? root
            // Unparsed bytes count on the last open part (base64: 76 characters per 78 bytes).
            if (last?.b64 !== undefined) last.b64 += Math.floor((skipped * 76) / 78)
            else if (last) last.size += skipped
          }
          if (root?.b64 !== undefined && (direct.b64 > 0 || direct.pad !== undefined)) {
            root.b64 += direct.b64
            if (direct.pad !== undefined) root.pad = direct.pad
          }
          for (const part of order) {
            const p = part as Partial<Part>
            const isLeaf = !part.multipart
            if (part.b64 !== undefined) part.size = Math.max(0, Math.floor((part.b64 * 3) / 4) - (part.pad ?? 0))
            delete p.encoding
            delete p.multipart
            delete p.b64
            delete p.pad
            if (isLeaf && isAttachment(part)) {
              summary.attachments.push({ filename: part.filename ?? 'unnamed', contentType: part.contentType, size: part.size })
            }
          }
          if (root) summary.parts = root
          if (failed) summary.error = failed
          resolve(summary)
        }
        const close = () => {
          if (settled) return finish()
          onSettled.push(finish)
          splitter.resume()
          splitter.end()
        }
        if (gated) onIdle.push(close)
        else close()
      })
    },
  }
}

/** Like mailparser: a disposition of attachment, a file name, or a non-text leaf. */
function isAttachment(part: MimePartSummary): boolean {
  if (part.disposition === 'attachment' || part.filename) return true
  const type = part.contentType.toLowerCase()
  return !type.startsWith('text/') && !type.startsWith('multipart/') && type !== 'message/delivery-status'
}

/**
 * Counts base64 characters (everything but line breaks and spaces) and the trailing '='
 * padding, so the decoded size is exact however the body was chunked: a chunk of nothing
 * but padding and line breaks carries on the padding the one before ended with.
 */
function countBase64(part: { b64?: number; pad?: number }, chunk: Buffer): void {
  let ws = 0
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) ws++
  for (let i = chunk.indexOf(13); i !== -1; i = chunk.indexOf(13, i + 1)) ws++
  for (let i = chunk.indexOf(32); i !== -1; i = chunk.indexOf(32, i + 1)) ws++
  part.b64! += chunk.length - ws
  let end = chunk.length - 1
  let pad = 0
  for (; end >= 0; end--) {
    const c = chunk[end]
    if (c === 0x3d) pad++
    else if (c !== 10 && c !== 13 && c !== 32) break
  }
  if (end < 0) {
    if (pad > 0) part.pad = Math.min(2, (part.pad ?? 0) + pad)
    return
  }
  part.pad = Math.min(2, pad)
}

function decodeWords(value: string): string {
  try {
    return libmime.decodeWords(value).replace(/\s+/g, ' ').trim()
  } catch {
    return value
  }
}
