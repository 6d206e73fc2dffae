// A message kept as a place in the capture rather than as a second copy of its bytes.
// SMTP DATA, POP3 RETR/TOP and IMAP literals are runs of one side's stream, so
// messages/<n>.json says where (MessageWire) and, once the message ended, how many bytes
// the decoder took from there. Reading cuts the message back out: a literal as it is, a
// dot-terminated body through the same LineFramer the decoder used, so the bytes are the
// decoder's own. Written at the message's start, so a crash keeps it too (its size then
// comes from the terminator, or the end of the capture).
import { createReadStream } from 'node:fs'
import type { MessageWire } from '../../shared/schema.ts'
import { LineFramer } from '../protocols/lines.ts'

export type MessageMap = MessageWire & {
  /** Bytes of the message as the decoder wrote them; absent until the message ended. */
  size?: number
}

export function isMessageMap(v: unknown): v is MessageMap {
  const m = v as MessageMap
  return (
    typeof m === 'object' &&
    m !== null &&
    (m.side === 'client' || m.side === 'server') &&
    Number.isSafeInteger(m.offset) &&
    m.offset >= 0 &&
    (m.framing === 'dot' || (m.framing === 'raw' && Number.isSafeInteger(m.length) && m.length >= 0)) &&
    (m.size === undefined || (Number.isSafeInteger(m.size) && m.size >= 0))
  )
}

/** The message's bytes, read from `capture` (the side's .bin file). */
export async function readMappedMessage(capture: string, map: MessageMap): Promise<Buffer> {
  if (map.framing === 'raw') {
    const length = Math.min(map.length, map.size ?? map.length)
    if (length === 0) return Buffer.alloc(0)
    return readRange(capture, map.offset, map.offset + length)
  }
  const framer = new LineFramer()
  framer.startDotBody()
  const out: Buffer[] = []
  let left = map.size ?? Number.POSITIVE_INFINITY
  const take = (): boolean => {
    for (let piece = framer.readDotBody(); piece; piece = framer.readDotBody()) {
      for (const p of piece.parts) {
        if (left <= 0) return true
        // Views into the read chunks, which are never reused: concat copies them once.
        const part = p.length > left ? p.subarray(0, left) : p
        out.push(part)
        left -= part.length
      }
      if (piece.done) return true
    }
    return left <= 0
  }
  const stream = createReadStream(capture, { start: map.offset, highWaterMark: 1 << 20 })
  try {
    for await (const chunk of stream) {
      framer.push(chunk as Buffer)
      if (take()) break
    }
  } finally {
    stream.destroy()
  }
  return Buffer.concat(out)
}

/** Bytes [start, end) of a file (the caller keeps them within its size). */
export async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 })) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}
