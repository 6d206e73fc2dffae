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
  const text = typeof body === 'string' ? body : body.toString('utf8')
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
  return importText(text, opts)
}

export async function importFile(path: string, opts: { feed: Feed; protocol?: Protocol }): Promise<Session> {
  const body = await readFile(path)
  if (body.length > MAX_IMPORT_BYTES) throw new ImportError(`${path} is larger than ${MAX_IMPORT_BYTES} bytes`)
  const parsed = parseImport(body, { protocol: opts.protocol })
  return recordImport(opts.feed, parsed, { file: basename(path) })
}
