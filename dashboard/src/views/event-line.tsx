// How one decoded event reads: the wire line (as text, never HTML), its annotation with
// the RFC reference, findings with hints, AUTH secrets masked until revealed.
import { useState } from 'react'
import type { Item, Note, SessionEvent } from '../../../shared/schema.ts'
import { annotateKeys, annotateNote, type Annotation } from '../i18n/annotations.ts'
import { useLang, useT, type T } from '../i18n/index.ts'
import type { SessionSync } from '../live/sync.ts'
import { formatBytes } from '../state/format.ts'
import { hrefFor, parseHash } from '../state/route.ts'
import { Icon } from './bits.tsx'

/** The line as it appeared on the wire, rebuilt from the item (secrets stay masked). */
export function wireText(it: Item | undefined): string {
  if (!it) return ''
  switch (it.kind) {
    case 'command':
      return it.line
    case 'reply': {
      const head = [it.tag, it.code].filter(Boolean).join(' ')
      const codeLike = /^\d{3}$/.test(it.code)
      if (!it.lines.length) return head
      return it.lines.map((l, i) => (codeLike ? `${it.code}${i < it.lines.length - 1 ? '-' : ' '}${l}` : i === 0 ? `${head} ${l}` : l)).join('\n')
    }
    case 'untagged': {
      const t = it.text.trim()
      const named = t.toUpperCase().includes(it.name.toUpperCase())
      return named ? `* ${t}` : `* ${[it.number, it.name, t].filter((x) => x !== undefined && x !== '').join(' ')}`
    }
    case 'continuation':
      return `+ ${it.text}`.trimEnd()
    case 'auth':
      return `AUTH ${it.mechanism} ${it.step}${it.decoded ? `: ${it.decoded}` : ''}`
    case 'message':
      return `message #${it.index}`
    case 'body':
      return `${it.what} ${it.phase}`
    case 'tls':
      return `TLS ${it.phase}`
    case 'opaque':
      return `${it.length} bytes`
    case 'lifecycle':
      return it.phase
  }
}

/** A short label for diagrams and playback. */
export function shortLabel(e: SessionEvent | undefined, max = 48): string {
  if (!e) return ''
  const it = e.item
  const lines = wireText(it).split('\n')
  let s = lines.length > 1 ? `${lines[0]} …` : lines[0]
  if (it?.kind === 'command' && it.verb === 'AUTHENTICATE') s = it.line
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

export function EventContent({ event, sync }: { event: SessionEvent; sync?: SessionSync }) {
  const t = useT()
  const it = event.item
  if (!it) return <span className="muted">{event.notes?.length ? '' : '…'}</span>
  switch (it.kind) {
    case 'command':
      return (
        <span className="wire">
          {it.tag && <span className="tag">{it.tag} </span>}
          <span className="verb">{it.line.slice(it.tag ? it.line.indexOf(' ') + 1 : 0).split(' ')[0]}</span>
          {restOfLine(it.line, it.tag)}
          {it.pipelined && <span className="badge pipelined">{t('pipelined')}</span>}
          <Secrets event={event} sync={sync} />
        </span>
      )
    case 'reply':
      return (
        <span className={`wire reply-${it.status}`}>
          {wireText(it)}
        </span>
      )
    case 'untagged':
      return <span className="wire untagged">{wireText(it)}</span>
    case 'continuation':
      return (
        <span className="wire">
          {wireText(it)}
          {it.decoded && <span className="decoded"> ⟶ “{it.decoded}”</span>}
        </span>
      )
    case 'auth':
      return <AuthLine event={event} sync={sync} />
    case 'message':
      return <MessageLine event={event} />
    case 'body':
      return <BodyLine event={event} />
    case 'tls':
      return (
        <span className="wire tls-note">
          <Icon name="lock" size={11} /> {it.phase === 'go-ahead' ? t('tlsGoAhead') : wireText(it)}
        </span>
      )
    case 'opaque':
      return <span className="muted">{t('opaque', { n: it.length, reason: it.reason })}</span>
    case 'lifecycle':
      return <span className="muted lifecycle">{lifecycleText(it, t)}</span>
  }
}

function restOfLine(line: string, tag: string | undefined): string {
  const afterTag = tag ? line.slice(line.indexOf(' ') + 1) : line
  const sp = afterTag.indexOf(' ')
  return sp < 0 ? '' : afterTag.slice(sp)
}

export function lifecycleText(it: Extract<Item, { kind: 'lifecycle' }>, t: T): string {
  switch (it.phase) {
    case 'open':
      return t('lifecycleOpen')
    case 'upstream-connected':
      return t('lifecycleUpstream')
    case 'half-close':
      return t('lifecycleHalf', { side: it.side === 'server' ? t('server') : t('client') })
    case 'close':
      return t('lifecycleClose', { reason: [it.reason, it.detail].filter(Boolean).join(': ') })
  }
}

function AuthLine({ event, sync }: { event: SessionEvent; sync?: SessionSync }) {
  const t = useT()
  const it = event.item as Extract<Item, { kind: 'auth' }>
  return (
    <span className="wire auth">
      <span className="badge auth-badge">AUTH {it.mechanism}</span> <span className="muted">{it.step}</span>
      {it.user && (
        <>
          {' '}
          {t('user')}: <b data-testid="auth-user">{it.user}</b>
        </>
      )}
      {it.decoded && <span className="decoded"> “{it.decoded}”</span>}
      {it.outcome && <span className={`badge ${it.outcome === 'success' ? 'ok' : 'bad'}`}>{it.outcome === 'success' ? t('authSuccess') : t('authFailure')}</span>}
      {!it.valid && <span className="badge bad">invalid base64</span>}
      <Secrets event={event} sync={sync} />
    </span>
  )
}

/** Secret values: masked; "reveal" fetches this one event with secrets=show. */
function Secrets({ event, sync }: { event: SessionEvent; sync?: SessionSync }) {
  const t = useT()
  const [busy, setBusy] = useState(false)
  if (!event.secrets?.length) return null
  const revealed = sync?.log.revealed.get(event.seq)
  return (
    <span className="secrets">
      {event.secrets.map((s, i) => {
        const value = revealed?.secrets?.[i]?.value
        return (
          <span className="secret" key={i}>
            {s.kind === 'password' ? t('password') : s.kind}:{' '}
            <code data-testid="secret-value" className={value !== undefined ? 'revealed' : 'masked'}>
              {value !== undefined ? value : '••••••'}
            </code>
          </span>
        )
      })}
      {sync && (
        <button
          type="button"
          className="btn tiny"
          data-testid="reveal"
          disabled={busy}
          onClick={async (e) => {
            e.stopPropagation()
            if (revealed) return sync.hide(event.seq)
            setBusy(true)
            try {
              await sync.reveal(event.seq)
            } finally {
              setBusy(false)
            }
          }}
        >
          {revealed ? t('hide') : t('reveal')}
        </button>
      )}
    </span>
  )
}

function MessageLine({ event }: { event: SessionEvent }) {
  const t = useT()
  const it = event.item as Extract<Item, { kind: 'message' }>
  const sum = it.summary
  return (
    <span className="wire message-line">
      <span className="badge msg-badge">
        <Icon name="mail" size={11} /> {t('messageN', { n: it.index })}
      </span>{' '}
      {formatBytes(it.size)}
      {sum?.subject !== undefined && <span className="subject"> · {sum.subject}</span>}
      {sum?.from && <span className="muted"> · {sum.from}</span>}
      {sum && sum.attachments.length > 0 && (
        <span className="muted">
          {' '}
          · <Icon name="clip" size={11} /> {sum.attachments.length}
        </span>
      )}
      {it.complete === false && <span className="badge bad">incomplete</span>}{' '}
      <a className="btn tiny" href={hrefFor({ ...parseHash(location.hash), message: it.index })} data-testid="open-message" onClick={(e) => e.stopPropagation()}>
        {t('openMessage')}
      </a>
    </span>
  )
}

function BodyLine({ event }: { event: SessionEvent }) {
  const t = useT()
  const [open, setOpen] = useState(false)
  const it = event.item as Extract<Item, { kind: 'body' }>
  const label = t('bodyCollapsed', { what: it.what.toUpperCase(), size: it.size !== undefined ? formatBytes(it.size) : '…' })
  return (
    <span className="wire body-line">
      <span className="collapsed" data-testid="body-collapsed">
        {it.phase === 'start' ? '▸ ' : '◂ '}
        {label}
      </span>
      {it.lines && it.lines.length > 0 && (
        <>
          {' '}
          <button type="button" className="btn tiny" onClick={() => setOpen(!open)}>
            {open ? '−' : `+${it.lines.length}`}
          </button>
          {open && <span className="body-lines">{it.lines.join('\n')}</span>}
        </>
      )}
    </span>
  )
}

export function useAnnotation(event: SessionEvent): Annotation[] {
  const lang = useLang()
  const it = event.item
  const keys = it && 'explain' in it ? it.explain : undefined
  return annotateKeys(keys, lang)
}

/** Replies like EHLO's carry one key per capability: the first few show, the rest on demand. */
const ANNOTATIONS_SHOWN = 2

export function AnnotationText({ event, all = false }: { event: SessionEvent; all?: boolean }) {
  const t = useT()
  const anns = useAnnotation(event)
  const [open, setOpen] = useState(all)
  if (!anns.length) return null
  const shown = open ? anns : anns.slice(0, ANNOTATIONS_SHOWN)
  return (
    <span className="annotation" data-testid="annotation">
      {shown.map((a, i) => (
        <span key={i} className="ann">
          {a.text}
          {a.ref && <span className="ref"> {a.ref}</span>}
        </span>
      ))}
      {anns.length > shown.length && (
        <button type="button" className="linkish" onClick={() => setOpen(true)} data-testid="more-annotations">
          {t('more', { n: anns.length - shown.length })}
        </button>
      )}
    </span>
  )
}

export function Notes({ notes }: { notes: readonly Note[] | undefined }) {
  const lang = useLang()
  const t = useT()
  if (!notes?.length) return null
  return (
    <div className="notes">
      {notes.map((n, i) => {
        const a = annotateNote(n, lang)
        return (
          <div key={i} className={`note note-${n.level}`} data-testid="finding" data-code={n.code}>
            <span className="note-code">{n.code}</span>
            <span className="note-text">{a.text}</span>
            {a.ref && <span className="ref"> {a.ref}</span>}
            {a.hint && (
              <div className="note-hint">
                <b>{t('hint')}:</b> {a.hint}
              </div>
            )}
          </div>
        )
      })}
    </div>
  )
}
