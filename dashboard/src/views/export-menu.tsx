// Export downloads from the API: txt (secrets redacted unless asked), json, pcapng, eml.
import { useState } from 'react'
import { useT } from '../i18n/index.ts'
import { exportUrl, type ExportFormat } from '../live/api.ts'

const FORMATS: { format: ExportFormat; ext: string; key: 'exportTxt' | 'exportJson' | 'exportPcap' | 'exportEml' }[] = [
  { format: 'txt', ext: 'txt', key: 'exportTxt' },
  { format: 'json', ext: 'json', key: 'exportJson' },
  { format: 'pcapng', ext: 'pcapng', key: 'exportPcap' },
  { format: 'eml', ext: 'eml', key: 'exportEml' },
]

export function ExportMenu({ id }: { id: string }) {
  const t = useT()
  const [secrets, setSecrets] = useState(false)
  return (
    <div className="export-menu" data-testid="export-menu">
      <span className="muted small">{t('export')}:</span>
      {FORMATS.map((f) => (
        <a key={f.format} className="btn small" href={exportUrl(id, f.format, secrets && f.format !== 'pcapng')} download={`mailtap-${id}.${f.ext}`} data-testid={`export-${f.format}`}>
          {t(f.key)}
        </a>
      ))}
      <label className="check small" title={t('includeSecrets')}>
        <input type="checkbox" checked={secrets} onChange={(e) => setSecrets(e.target.checked)} data-testid="export-secrets" />
        {t('includeSecrets')}
      </label>
    </div>
  )
}
