// User preferences kept in localStorage: theme, language, presentation mode.
import { useSyncExternalStore } from 'react'
import type { Lang } from '../i18n/strings.ts'

export interface Prefs {
  theme: 'light' | 'dark'
  lang: Lang
  presentation: boolean
}

const KEY = 'mailtap.prefs'

function initial(): Prefs {
  const dark = typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches
  const lang: Lang = navigator.language?.toLowerCase().startsWith('es') ? 'es' : 'en'
  const base: Prefs = { theme: dark ? 'dark' : 'light', lang, presentation: false }
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Prefs>
    if (saved.theme === 'light' || saved.theme === 'dark') base.theme = saved.theme
    if (saved.lang === 'en' || saved.lang === 'es') base.lang = saved.lang
    if (typeof saved.presentation === 'boolean') base.presentation = saved.presentation
  } catch {
    // unreadable: keep the defaults
  }
  return base
}

let prefs = initial()
const listeners = new Set<() => void>()

export function setPrefs(patch: Partial<Prefs>): void {
  prefs = { ...prefs, ...patch }
  try {
    localStorage.setItem(KEY, JSON.stringify(prefs))
  } catch {
    // storage full or disabled: preferences last for this page only
  }
  for (const fn of listeners) fn()
}

export function usePrefs(): Prefs {
  return useSyncExternalStore(
    (fn) => {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    () => prefs,
  )
}
