// The dashboard's location lives in the URL hash: #/s/<id>/<tab>, #/routes.
import { useSyncExternalStore } from 'react'

export type Tab = 'transcript' | 'diagram' | 'playback' | 'raw' | 'messages'
export const TABS: Tab[] = ['transcript', 'diagram', 'playback', 'raw', 'messages']

export interface Location {
  view: 'home' | 'session' | 'routes'
  sessionId?: string
  tab: Tab
  /** Message viewer open on this message number. */
  message?: number
}

export function parseHash(hash: string): Location {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  if (parts[0] === 's' && parts[1]) {
    const tab = (TABS as string[]).includes(parts[2] ?? '') ? (parts[2] as Tab) : 'transcript'
    const message = parts[3] === 'm' && /^\d+$/.test(parts[4] ?? '') ? Number(parts[4]) : undefined
    return { view: 'session', sessionId: parts[1], tab, message }
  }
  if (parts[0] === 'routes') return { view: 'routes', tab: 'transcript' }
  return { view: 'home', tab: 'transcript' }
}

export function hrefFor(loc: Partial<Location>): string {
  if (loc.view === 'routes') return '#/routes'
  if (loc.sessionId) {
    let h = `#/s/${encodeURIComponent(loc.sessionId)}/${loc.tab ?? 'transcript'}`
    if (loc.message) h += `/m/${loc.message}`
    return h
  }
  return '#/'
}

export function navigate(loc: Partial<Location>): void {
  const h = hrefFor(loc)
  if (location.hash !== h) location.hash = h
}

export function useLocation(): Location {
  const hash = useSyncExternalStore(
    (fn) => {
      addEventListener('hashchange', fn)
      return () => removeEventListener('hashchange', fn)
    },
    () => location.hash,
  )
  return parseHash(hash)
}
