// Messages that crossed the session, and the message viewer: headers, text part, the HTML
// part in a sandboxed iframe (no scripts, no same-origin, no remote loads), MIME tree,
// attachments as downloads from our API, and the raw source, all as text.
import { useEffect, useMemo, useState } from 'react'
import type { MessageItem, MimePartSummary } from '../../../shared/schema.ts'
import { useT } from '../i18n/index.ts'
import { attachmentUrl, getMessage, getMessageSource, messageEmlUrl, type MessageDetail } from '../live/api.ts'
import type { SessionSync } from '../live/sync.ts'
import { formatBytes } from '../state/format.ts'
import { hrefFor, parseHash } from '../state/route.ts'
import { Icon } from './bits.tsx'
import { sandboxedSrcDoc } from './mail-html.ts'

export function MessageList({ sync }: { sync: SessionSync }) {
  const t = useT()
  const messages = useMemo(() => {
    const byIndex = new Map<number, MessageItem>()
    for (const e of sync.log.list()) {
      const it = e.item
      if (it?.kind !== 'message') continue
      const cur = byIndex.get(it.index)
      if (!cur || it.phase === 'parsed') byIndex.set(it.index, it)
    }
    return [...byIndex.values()].sort((a, b) => a.index - b.index)
  }, [sync, sync.log.version])
  if (!messages.length) return <div className="pad muted">—</div>
  const loc = parseHash(location.hash)
  return (
    <div className="pad scroll">
      <table className="table messages-table">
        <thead>
          <tr>
            <th>#</th>
            <th>Subject</th>
            <th>From</th>
            <th>To</th>
            <th>{t('bytes')}</th>
            <th>{t('attachments')}</th>
          </tr>
        </thead>
        <tbody>
          {messages.map((m) => (
            <tr key={m.index}>
              <td>{m.index}</td>
              <td>
                <a href={hrefFor({ ...loc, message: m.index })} data-testid="message-link">
                  {m.summary?.subject ?? `${t('message')} ${m.index}`}
                </a>
              </td>
              <td>{m.summary?.from}</td>
              <td>{m.summary?.to}</td>
              <td>{formatBytes(m.size)}</td>
              <td>{m.summary?.attachments.length ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

type Pane = 'text' | 'html' | 'source'

export function MessageViewer({ sessionId, n, onClose }: { sessionId: string; n: number; onClose: () => void }) {
  const t = useT()
  const [detail, setDetail] = useState<MessageDetail | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [source, setSource] = useState<string | undefined>()
  const [pane, setPane] = useState<Pane>('text')

  useEffect(() => {
    let live = true
    getMessage(sessionId, n).then(
      (d) => {
        if (!live) return
        setDetail(d)
        setPane(d.html && !d.text ? 'html' : 'text')
      },
      (err: Error) => live && setError(err.message),
    )
    return () => {
      live = false
    }
  }, [sessionId, n])

  useEffect(() => {
    if (pane !== 'source' || source !== undefined) return
    getMessageSource(sessionId, n).then(setSource, (err: Error) => setSource(`(${err.message})`))
  }, [pane, source, sessionId, n])

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [onClose])

  const s = detail?.summary
  return (
    <div className="drawer-backdrop" onClick={onClose}>
      <aside className="drawer" onClick={(e) => e.stopPropagation()} data-testid="message-viewer" role="dialog" aria-label={t('messageN', { n })}>
        <header className="drawer-head">
          <div>
            <div className="muted small">{t('messageN', { n })}</div>
            <h2 data-testid="message-subject">{s?.subject ?? (error ? '' : '…')}</h2>
          </div>
          <div className="drawer-actions">
            <a className="btn small" href={messageEmlUrl(sessionId, n)} download={`message-${n}.eml`}>
              .eml
            </a>
            <button type="button" className="btn small" onClick={onClose} data-testid="close-message">
              {t('close')}
            </button>
          </div>
        </header>
        {error && <div className="note note-error">{error}</div>}
        {detail && (
          <div className="drawer-body">
            <section>
              <h3>{t('headers')}</h3>
              <table className="table headers-table" data-testid="headers-table">
                <tbody>
                  {detail.headers.map(([name, value], i) => (
                    <tr key={i}>
                      <th>{name}</th>
                      <td>{value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
            <section>
              <div className="seg pane-switch" role="tablist">
                <button type="button" aria-pressed={pane === 'text'} onClick={() => setPane('text')} data-testid="pane-text">
                  {t('textPart')}
                </button>
                <button type="button" aria-pressed={pane === 'html'} disabled={!detail.html} onClick={() => setPane('html')} data-testid="pane-html">
                  HTML
                </button>
                <button type="button" aria-pressed={pane === 'source'} onClick={() => setPane('source')} data-testid="pane-source">
                  {t('rawSource')}
                </button>
              </div>
              {pane === 'text' && <pre className="mail-text" data-testid="message-text">{detail.text ?? ''}</pre>}
              {pane === 'html' && detail.html && (
                <>
                  <div className="muted small">{t('htmlPart')}</div>
                  <iframe className="mail-html" title="HTML" sandbox="" referrerPolicy="no-referrer" srcDoc={sandboxedSrcDoc(detail.html)} data-testid="message-html" />
                </>
              )}
              {pane === 'source' && <pre className="mail-text source" data-testid="message-source">{source ?? t('loading')}</pre>}
            </section>
            <section>
              <h3>{t('attachments')}</h3>
              {detail.attachments.length === 0 ? (
                <p className="muted">{t('noAttachments')}</p>
              ) : (
                <ul className="attachments">
                  {detail.attachments.map((a) => (
                    <li key={a.index}>
                      <a href={attachmentUrl(sessionId, n, a.index)} download={safeFilename(a.filename, a.index)} data-testid="attachment">
                        <Icon name="clip" /> {a.filename || `attachment-${a.index}`}
                      </a>{' '}
                      <span className="muted">
                        {a.contentType} · {formatBytes(a.size)}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
            {s?.parts && (
              <section>
                <h3>{t('mimeTree')}</h3>
                <MimeTree part={s.parts} />
              </section>
            )}
          </div>
        )}
      </aside>
    </div>
  )
}

function MimeTree({ part }: { part: MimePartSummary }) {
  return (
    <ul className="mime-tree" data-testid="mime-tree">
      <li>
        <code>{part.path || '1'}</code> <b>{part.contentType}</b> <span className="muted">{formatBytes(part.size)}</span>
        {part.filename && <span> · {part.filename}</span>}
        {part.disposition && <span className="muted"> · {part.disposition}</span>}
        {part.charset && <span className="muted"> · {part.charset}</span>}
        {part.children?.map((c) => <MimeTree key={c.path} part={c} />)}
      </li>
    </ul>
  )
}

/** The download attribute only suggests a name; keep it to a plain file name. */
function safeFilename(name: string, i: number): string {
  const clean = (name || '').replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_').slice(0, 120)
  return clean || `attachment-${i}`
}
