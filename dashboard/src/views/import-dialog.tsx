// Import a session: upload a file (JSON export or transcript) or paste a transcript.
import { useState } from 'react'
import { useT } from '../i18n/index.ts'
import { importTranscript } from '../live/api.ts'
import { listSync } from '../live/sync.ts'
import { navigate } from '../state/route.ts'

export function ImportDialog({ onClose }: { onClose: () => void }) {
  const t = useT()
  const [text, setText] = useState('')
  const [protocol, setProtocol] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>()

  const submit = async () => {
    setBusy(true)
    setError(undefined)
    try {
      const { session } = await importTranscript(text, protocol || undefined)
      listSync.table.upsert(session)
      listSync.notify()
      onClose()
      navigate({ sessionId: session.id })
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="drawer-backdrop center" onClick={onClose}>
      <div className="dialog" role="dialog" aria-label={t('importTitle')} onClick={(e) => e.stopPropagation()} data-testid="import-dialog">
        <h2>{t('importTitle')}</h2>
        <p className="muted">{t('importHelp')}</p>
        <div className="filter-row">
          <label className="btn small file">
            {t('importFile')}
            <input
              type="file"
              accept=".json,.txt,.log,text/plain,application/json"
              data-testid="import-file"
              onChange={async (e) => {
                const f = e.target.files?.[0]
                if (f) setText(await f.text())
              }}
            />
          </label>
          <label className="small">
            {t('importProtocol')}{' '}
            <select value={protocol} onChange={(e) => setProtocol(e.target.value)} data-testid="import-protocol">
              <option value="">{t('importAuto')}</option>
              <option value="smtp">SMTP</option>
              <option value="pop3">POP3</option>
              <option value="imap">IMAP</option>
            </select>
          </label>
        </div>
        <textarea className="mono" rows={14} placeholder={t('importPaste')} value={text} onChange={(e) => setText(e.target.value)} data-testid="import-text" spellCheck={false} />
        {error && <div className="note note-error">{error}</div>}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t('cancel')}
          </button>
          <button type="button" className="btn primary" disabled={busy || !text.trim()} onClick={() => void submit()} data-testid="import-go">
            {busy ? t('importing') : t('importGo')}
          </button>
        </div>
      </div>
    </div>
  )
}
