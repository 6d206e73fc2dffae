// Small shared pieces: the TLS lock, the C/S gutter, downloads of generated files.
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
