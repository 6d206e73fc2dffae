// All messages of a session in one zip, `message-<n>.eml` each. Small sets are zipped in
// memory; past ZIP_STREAM_BYTES the zip is streamed so a big mailbox sync never sits in
// memory twice.
import { Readable } from 'node:stream'
import { Zip, ZipDeflate, zipSync } from 'fflate'

const ZIP_STREAM_BYTES = 32 * 1024 * 1024

export function messageFileName(n: number): string {
  return `message-${n}.eml`
}

/** `load(n)` returns message n (1-based). */
export async function zipMessages(count: number, load: (n: number) => Promise<Buffer | undefined>, sizeHint = 0): Promise<Buffer | Readable> {
  if (sizeHint > ZIP_STREAM_BYTES) return streamZip(count, load)
  const files: Record<string, Uint8Array> = {}
  for (let n = 1; n <= count; n++) {
    const m = await load(n)
    if (m) files[messageFileName(n)] = m
  }
  return Buffer.from(zipSync(files, { level: 6 }))
}

function streamZip(count: number, load: (n: number) => Promise<Buffer | undefined>): Readable {
  const out = new Readable({ read() {} })
  const zip = new Zip((err, chunk, final) => {
    if (err) return out.destroy(err)
    out.push(Buffer.from(chunk))
    if (final) out.push(null)
  })
  void (async () => {
    try {
      for (let n = 1; n <= count; n++) {
        const m = await load(n)
        if (!m) continue
        const entry = new ZipDeflate(messageFileName(n), { level: 6 })
        zip.add(entry)
        entry.push(m, true)
      }
      zip.end()
    } catch (err) {
      out.destroy(err as Error)
    }
  })()
  return out
}
