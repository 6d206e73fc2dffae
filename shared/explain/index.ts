// The explanation tables merged into one lookup: explain('smtp.code.250', 'es').
// Items carry keys in `explain`; notes are looked up as 'note.CODE'. Data only, so the
// dashboard imports it as it is.
import { ESC_EXPLAIN } from './esc.ts'
import { HINTS_EXPLAIN } from './hints.ts'
import { imapExplain } from './imap.ts'
import { NOTES_EXPLAIN } from './notes.ts'
import { POP3_EXPLAIN } from './pop3.ts'
import { PROXY_NOTES_EXPLAIN } from './proxy-notes.ts'
import { SMTP_EXPLAIN } from './smtp.ts'

export type Lang = 'en' | 'es'

export interface ExplainEntry {
  en: string
  es: string
  ref?: string
}

export type ExplainTable = Record<string, ExplainEntry>

/** Every table in one map. Shared note codes defined twice must agree in meaning. */
export const EXPLAIN: ExplainTable = { ...imapExplain, ...SMTP_EXPLAIN, ...POP3_EXPLAIN, ...ESC_EXPLAIN, ...NOTES_EXPLAIN, ...PROXY_NOTES_EXPLAIN, ...HINTS_EXPLAIN }

/** The entry for a key; enhanced status codes ('esc.5.7.8') are composed from class and detail. */
export function explainEntry(key: string): ExplainEntry | undefined {
  const hit = EXPLAIN[key]
  if (hit) return hit
  const esc = /^esc\.([245])\.(\d{1,3})\.(\d{1,3})$/.exec(key)
  if (esc) {
    const cls = EXPLAIN[`esc.class.${esc[1]}`]
    const detail = EXPLAIN[`esc.X.${esc[2]}.${esc[3]}`] ?? EXPLAIN[`esc.X.${esc[2]}.0`]
    if (!cls || !detail) return cls ?? detail
    return { en: `${detail.en} (${cls.en})`, es: `${detail.es} (${cls.es})`, ref: detail.ref ?? cls.ref }
  }
  return undefined
}

/** The explanation text of a key in a language, or undefined when there is none. */
export function explain(key: string, lang: Lang): string | undefined {
  return explainEntry(key)?.[lang]
}

/** The explanation of a note code ('AUTH_CLEARTEXT' → 'note.AUTH_CLEARTEXT'). */
export function explainNote(code: string, lang: Lang): string | undefined {
  return explain(`note.${code}`, lang)
}
