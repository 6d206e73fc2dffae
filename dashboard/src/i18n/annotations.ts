// Annotation texts in the user's language, from the shared explain tables
// (shared/explain: keys like 'smtp.cmd.EHLO', 'smtp.code.250', 'note.AUTH_CLEARTEXT').
// The table's result is normalized here so the views see one shape.
import type { Note } from '../../../shared/schema.ts'
import type { Lang } from './strings.ts'

export interface Annotation {
  text: string
  ref?: string
  hint?: string
  title?: string
}

type ExplainFn = (key: string, lang: Lang) => unknown

// Resolved at build time; an empty glob (tables not there) leaves annotations blank.
const modules = import.meta.glob<{ explain?: ExplainFn }>('../../../shared/explain/index.ts', { eager: true })
const explainFn: ExplainFn | undefined = Object.values(modules)[0]?.explain

const cache = new Map<string, Annotation | null>()

function normalize(r: unknown): Annotation | undefined {
  if (!r) return undefined
  if (typeof r === 'string') return { text: r }
  if (typeof r === 'object') {
    const o = r as Record<string, unknown>
    const text = [o.text, o.summary, o.meaning, o.description, o.title].find((v) => typeof v === 'string') as string | undefined
    if (!text) return undefined
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined)
    return { text, ref: str(o.ref) ?? str(o.rfc), hint: str(o.hint), title: o.text !== o.title ? str(o.title) : undefined }
  }
  return undefined
}

export function annotate(key: string, lang: Lang): Annotation | undefined {
  const ck = `${lang}\u0000${key}`
  const hit = cache.get(ck)
  if (hit !== undefined) return hit ?? undefined
  let a: Annotation | undefined
  try {
    a = normalize(explainFn?.(key, lang))
  } catch {
    a = undefined
  }
  cache.set(ck, a ?? null)
  return a
}

/** The first key that has an explanation, plus any further ones (enhanced codes...). */
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
    text: a?.text ?? note.text,
    hint: a?.hint ?? note.hint,
    ref: a?.ref ?? note.ref,
  }
}
