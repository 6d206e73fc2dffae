// The dashboard shell: top bar, connection banner, session list and the detail pane.
import { useEffect, useState } from 'react'
import { useT } from '../i18n/index.ts'
import { listSync, useConnState, useObservable } from '../live/sync.ts'
import { setPrefs, usePrefs } from '../state/prefs.ts'
import { navigate, useLocation } from '../state/route.ts'
import { ConnectionBanner } from './connection-banner.tsx'
import { ImportDialog } from './import-dialog.tsx'
import { MocksBar } from './mock-panel.tsx'
import { RoutesPanel } from './routes-panel.tsx'
import { SessionList } from './session-list.tsx'
import { SessionView } from './session-view.tsx'

export function App() {
  const prefs = usePrefs()
  const t = useT()
  const loc = useLocation()
  const conn = useConnState()
  const [importing, setImporting] = useState(false)
  useObservable(listSync)

  useEffect(() => {
    document.documentElement.dataset.theme = prefs.theme
    document.documentElement.dataset.presentation = prefs.presentation ? 'on' : 'off'
    document.documentElement.lang = prefs.lang
  }, [prefs.theme, prefs.presentation, prefs.lang])

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/" aria-label="mailtap">
          <svg viewBox="0 0 20 20" width="22" height="22" aria-hidden="true">
            <rect width="20" height="20" rx="5" fill="var(--accent)" />
            <path d="M4 6.5l6 4.5 6-4.5" stroke="#fff" strokeWidth="1.8" fill="none" strokeLinecap="round" />
            <path d="M4 6.5v7h12v-7" stroke="#fff" strokeWidth="1.4" fill="none" opacity=".7" />
          </svg>
          <span className="brand-name">mailtap</span>
          <span className="brand-tag">{t('appTagline')}</span>
        </a>
        <span className={`conn conn-${conn}`} data-testid="conn-state" title={conn}>
          <span className="dot" />
          {conn === 'open' ? t('connected') : conn === 'lost' ? t('connectionLost') : t('loading')}
        </span>
        <div className="topbar-actions">
          <button type="button" className={`btn ghost${loc.view === 'routes' ? ' active' : ''}`} onClick={() => navigate({ view: 'routes' })}>
            {t('routes')}
          </button>
          <button type="button" className="btn ghost" onClick={() => setImporting(true)} data-testid="open-import">
            {t('import')}
          </button>
          <div className="seg" role="group" aria-label={t('language')}>
            <button type="button" aria-pressed={prefs.lang === 'en'} onClick={() => setPrefs({ lang: 'en' })} data-testid="lang-en">
              EN
            </button>
            <button type="button" aria-pressed={prefs.lang === 'es'} onClick={() => setPrefs({ lang: 'es' })} data-testid="lang-es">
              ES
            </button>
          </div>
          <button
            type="button"
            className={`btn ghost icon${prefs.presentation ? ' active' : ''}`}
            title={t('presentation')}
            aria-pressed={prefs.presentation}
            data-testid="presentation"
            onClick={() => setPrefs({ presentation: !prefs.presentation })}
          >
            <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
              <rect x="2.5" y="3.5" width="15" height="10" rx="1.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
              <path d="M10 13.5v3M6.5 16.5h7" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
            </svg>
          </button>
          <button
            type="button"
            className="btn ghost icon"
            title={`${t('theme')}: ${prefs.theme === 'dark' ? t('themeDark') : t('themeLight')}`}
            data-testid="theme"
            onClick={() => setPrefs({ theme: prefs.theme === 'dark' ? 'light' : 'dark' })}
          >
            {prefs.theme === 'dark' ? (
              <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
                <circle cx="10" cy="10" r="3.5" fill="currentColor" />
                <path
                  d="M10 2v2M10 16v2M2 10h2M16 10h2M4.3 4.3l1.4 1.4M14.3 14.3l1.4 1.4M4.3 15.7l1.4-1.4M14.3 5.7l1.4-1.4"
                  stroke="currentColor"
                  strokeWidth="1.5"
                  strokeLinecap="round"
                />
              </svg>
            ) : (
              <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
                <path d="M15.5 12.5A6.5 6.5 0 0 1 7.5 4.5a6.5 6.5 0 1 0 8 8z" fill="currentColor" />
              </svg>
            )}
          </button>
        </div>
      </header>
      <ConnectionBanner />
      <MocksBar />
      <main className={`split${loc.view === 'session' ? ' has-session' : ''}`}>
        <SessionList selectedId={loc.sessionId} />
        <section className="detail">
          {loc.view === 'session' && loc.sessionId ? (
            <SessionView key={loc.sessionId} id={loc.sessionId} tab={loc.tab} message={loc.message} />
          ) : loc.view === 'routes' ? (
            <RoutesPanel />
          ) : (
            <div className="empty-detail">
              <p>{t('selectSession')}</p>
              <RoutesPanel compact />
            </div>
          )}
        </section>
      </main>
      {importing && <ImportDialog onClose={() => setImporting(false)} />}
    </div>
  )
}
