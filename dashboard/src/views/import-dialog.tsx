// Import a session: upload a file (JSON export or transcript) or paste a transcript.
import { useState } from 'react'
import { useT } from '../i18n/index.ts'
import { importTranscript } from '../live/api.ts'
import { listSync } from '../live/sync.ts'
import { navigate } from '../state/route.ts'
import { Dialog, useAction } from './bits.tsx'

export function ImportDialog({ onClose }: { onClose: () => void }) {
  const t = useT()
  const [text, setText] = useState('')
  const [protocol, setProtocol] = useState('')
  const { busy, error, run } = useAction()

  const submit = () =>
    run(async () => {
      const { session } = await importTranscript(text, protocol || undefined)
      listSync.table.upsert(session)
      listSync.notify()
      onClose()
      navigate({ sessionId: session.id })
    })

  return (
    <Dialog title={t('importTitle')} help={t('importHelp')} testId="import-dialog" onClose={onClose}>
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
    </Dialog>
  )
}
