// Translation hooks: `useT()` for the UI strings, and annotation lookups (what a command,
// reply code or finding means) in the chosen language via shared/explain.
import { useCallback } from 'react'
import { usePrefs } from '../state/prefs.ts'
import { translate, type Lang, type StringKey } from './strings.ts'

export type { Lang, StringKey }
export type T = (key: StringKey, vars?: Record<string, string | number>) => string

export function useT(): T {
  const { lang } = usePrefs()
  return useCallback((key: StringKey, vars?: Record<string, string | number>) => translate(lang, key, vars), [lang])
}

export function useLang(): Lang {
  return usePrefs().lang
}
