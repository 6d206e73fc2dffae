// Small shared pieces: the TLS lock, the C/S gutter, downloads of generated files, the
// modal dialog and its busy/error state.
import { useState, type ReactNode } from 'react'
import { useT } from '../i18n/index.ts'
import type { TlsState } from '../state/format.ts'

export function TlsLock({ state }: { state: TlsState }) {
  const t = useT()
  const label = state === 'intercept' ? t('tlsIntercept') : state === 'passthrough' ? t('tlsPassthrough') : t('tlsNone')
  return (
    <span className={`lock lock-${state}`} title={label} aria-label={label} data-testid="tls-lock" data-tls={state}>
      <svg viewBox="0 0 16 16" width="13" height="13" aria-hidden="true">
        {state === 'none' ? (
          <path d="M5 7V5a3 3 0 0 1 5.8-1" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
        ) : (
          <path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" strokeWidth="1.5" />
        )}
        <rect x="3" y="7" width="10" height="7" rx="1.5" fill="currentColor" />
        {state === 'passthrough' && <path d="M6 10.5h4" stroke="var(--bg)" strokeWidth="1.3" />}
      </svg>
    </span>
  )
}

/** Small inline icons: no emoji, whose glyphs depend on the machine's fonts. */
export function Icon({ name, size = 13 }: { name: 'lock' | 'mail' | 'clip'; size?: number }) {
  return (
    <svg className="icon" viewBox="0 0 16 16" width={size} height={size} aria-hidden="true">
      {name === 'lock' && (
        <>
          <path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <rect x="3" y="7" width="10" height="7" rx="1.5" fill="currentColor" />
        </>
      )}
      {name === 'mail' && (
        <>
          <rect x="1.5" y="3.5" width="13" height="9" rx="1.5" fill="none" stroke="currentColor" strokeWidth="1.4" />
          <path d="M2 4.5l6 4.5 6-4.5" fill="none" stroke="currentColor" strokeWidth="1.4" />
        </>
      )}
      {name === 'clip' && <path d="M10.5 4.5l-5 5a1.5 1.5 0 0 0 2 2l5.5-5.5a3 3 0 0 0-4-4L3.5 7.5a4.5 4.5 0 0 0 6.5 6.5l4-4" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" />}
    </svg>
  )
}

/** Saves a generated Blob (SVG/PNG export) under a file name. */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/**
 * A modal dialog over the page: a click outside it closes it; its title and help text come
 * first. With `onSubmit` it is a form (Enter submits), otherwise a plain box.
 */
export function Dialog(props: { title: string; help: string; testId: string; onClose: () => void; onSubmit?: () => void; children: ReactNode }) {
  const { title, help, testId, onClose, onSubmit, children } = props
  const box = {
    className: 'dialog',
    role: 'dialog',
    'aria-label': title,
    onClick: (e: { stopPropagation(): void }) => e.stopPropagation(),
    'data-testid': testId,
  }
  const body = (
    <>
      <h2>{title}</h2>
      <p className="muted">{help}</p>
      {children}
    </>
  )
  return (
    <div className="drawer-backdrop center" onClick={onClose}>
      {onSubmit ? (
        <form
          {...box}
          onSubmit={(e) => {
            e.preventDefault()
            onSubmit()
          }}
        >
          {body}
        </form>
      ) : (
        <div {...box}>{body}</div>
      )}
    </div>
  )
}

/** An action a dialog runs: busy while it runs, and the message of what it threw. */
export function useAction(): { busy: boolean; error: string | undefined; run(action: () => Promise<void>): Promise<void> } {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const run = async (action: () => Promise<void>) => {
    setBusy(true)
    setError(undefined)
    try {
      await action()
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, run }
}
