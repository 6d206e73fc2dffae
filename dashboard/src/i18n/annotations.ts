// Annotation texts in the user's language, from the shared explain tables
// (shared/explain: keys like 'smtp.cmd.EHLO', 'smtp.code.250', 'note.AUTH_CLEARTEXT').
import type { Note } from '../../../shared/schema.ts'
import { explainEntry } from '../../../shared/explain/index.ts'
import { explainHint } from '../../../shared/explain/hints.ts'
import type { Lang } from './strings.ts'

export interface Annotation {
  text: string
  ref?: string
  hint?: string
}

export function annotate(key: string, lang: Lang): Annotation | undefined {
  const e = explainEntry(key)
  if (!e) return undefined
  return { text: e[lang] || e.en, ref: e.ref }
}

/** Every key that has an explanation (the command or code, then enhanced codes...). */
export function annotateKeys(keys: readonly string[] | undefined, lang: Lang): Annotation[] {
  const out: Annotation[] = []
  for (const k of keys ?? []) {
    const a = annotate(k, lang)
    if (a) out.push(a)
  }
  return out
}

/** A finding in the user's language, falling back to the text the decoder wrote. */
export function annotateNote(note: Note, lang: Lang): Annotation {
  const a = annotate(`note.${note.code}`, lang)
  return {
    // Only the English text is the decoder's own words (it may carry specifics); Spanish comes from the table.
    text: lang === 'en' ? note.text : (a?.text ?? note.text),
    // The hint likewise: the table's Spanish for this hint text, else the decoder's English.
    hint: explainHint(note, lang),
    ref: note.ref ?? a?.ref,
  }
}
