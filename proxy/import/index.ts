// Imports: a mailtap json export, a seed-style transcript ('>' marks the server) or a
// C:/S: transcript, recorded as a new session. The HTTP route and `mailtap import FILE`
// both come through here.
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import type { Protocol, Session } from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import { importJson, isJsonExport } from './json.ts'
import { recordImport } from './record.ts'
import { importText } from './text.ts'
import { ImportError, type ParsedImport } from './types.ts'

export { importText } from './text.ts'
export { importJson } from './json.ts'
export { recordImport } from './record.ts'
export { ImportError } from './types.ts'
export type { ParsedImport, ImportChunk } from './types.ts'

/** Bigger imports are refused (the API's body limit is the same). */
export const MAX_IMPORT_BYTES = 200 * 1024 * 1024

/** Parses an upload: json when it looks like json, else a text transcript. */
export function parseImport(body: Buffer | string, opts: { protocol?: Protocol } = {}): ParsedImport {
  const { text, latin1 } = typeof body === 'string' ? { text: body, latin1: false } : decodeText(body)
  const trimmed = text.trimStart()
  if (trimmed.startsWith('{')) {
    let obj: unknown
    try {
      obj = JSON.parse(trimmed)
    } catch (err) {
      throw new ImportError(`the body starts with '{' but is not valid json: ${(err as Error).message}`)
    }
    if (!isJsonExport(obj)) throw new ImportError('the json is not a mailtap export (no "format": "mailtap")')
    return importJson(obj, opts)
  }
  const parsed = importText(text, { ...opts, encoding: latin1 ? 'latin1' : 'utf8' })
  if (latin1) {
    parsed.notes.push({
      level: 'warn',
      code: 'IMPORT_NOT_UTF8',
      text: 'The transcript is not UTF-8: it was read as Latin-1, and its bytes were kept as they are.',
    })
  }
  return parsed
}

/** UTF-8 when it is valid UTF-8; else Latin-1, which maps every byte to one character. */
function decodeText(body: Buffer): { text: string; latin1: boolean } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(body), latin1: false }
  } catch {
    return { text: body.toString('latin1'), latin1: true }
  }
}

export async function importFile(path: string, opts: { feed: Feed; protocol?: Protocol }): Promise<Session> {
  const body = await readFile(path)
  if (body.length > MAX_IMPORT_BYTES) throw new ImportError(`${path} is larger than ${MAX_IMPORT_BYTES} bytes`)
  const parsed = parseImport(body, { protocol: opts.protocol })
  return recordImport(opts.feed, parsed, { file: basename(path) })
}
