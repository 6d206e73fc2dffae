// The raw view: the exact bytes of both directions, interleaved in the order the events
// saw them, with CR, LF, tabs and non-printable bytes made visible, and a hex view.
import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useMemo, useRef, useState } from 'react'
import type { Session, Side } from '../../../shared/schema.ts'
import { useT } from '../i18n/index.ts'
import { getRaw } from '../live/api.ts'
import type { SessionSync } from '../live/sync.ts'

const MAX_BYTES = 1024 * 1024

interface Segment {
  side: Side
  offset: number
  bytes: Uint8Array
}

interface Line {
  side: Side
  offset: number
  bytes: Uint8Array
}

export function RawView({ sync, session }: { sync: SessionSync; session: Session }) {
  const t = useT()
  const [mode, setMode] = useState<'text' | 'hex'>('text')
  const [data, setData] = useState<{ client: Uint8Array; server: Uint8Array } | undefined>()
  const [error, setError] = useState<string | undefined>()
  const total = session.totals.bytesFromClient + session.totals.bytesFromServer

  useEffect(() => {
    let live = true
    Promise.all([getRaw(session.id, 'client', { start: 0, end: MAX_BYTES }), getRaw(session.id, 'server', { start: 0, end: MAX_BYTES })]).then(
      ([client, server]) => live && setData({ client, server }),
      (err: Error) => live && setError(err.message),
    )
    return () => {
      live = false
    }
    // Refetch as a live session grows (throttled by the totals changing).
  }, [session.id, total])

  const segments = useMemo(() => (data ? interleave(sync, data) : []), [data, sync, sync.log.version])
  const lines = useMemo(() => (mode === 'text' ? splitLines(segments) : splitHex(segments)), [segments, mode])
  const scrollRef = useRef<HTMLDivElement>(null)
  const virt = useVirtualizer({ count: lines.length, getScrollElement: () => scrollRef.current, estimateSize: () => 20, overscan: 20 })

  if (error) return <div className="pad note note-error">{error}</div>
  if (!data) return <div className="pad muted">{t('loading')}</div>
  const truncated = session.totals.bytesFromClient > MAX_BYTES || session.totals.bytesFromServer > MAX_BYTES
  return (
    <div className="raw-wrap">
      <div className="raw-tools">
        <div className="seg" role="group">
          <button type="button" aria-pressed={mode === 'text'} onClick={() => setMode('text')} data-testid="raw-text">
            {t('text')}
          </button>
          <button type="button" aria-pressed={mode === 'hex'} onClick={() => setMode('hex')} data-testid="raw-hex">
            {t('hex')}
          </button>
        </div>
        <span className="muted small">
          C {data.client.length.toLocaleString()} B · S {data.server.length.toLocaleString()} B
        </span>
        {truncated && <span className="muted small">{t('rawTruncated', { n: MAX_BYTES.toLocaleString() })}</span>}
      </div>
      <div className={`raw scroll mono raw-${mode}`} ref={scrollRef} data-testid="raw-view">
        <div style={{ height: virt.getTotalSize(), position: 'relative' }}>
          {virt.getVirtualItems().map((v) => {
            const line = lines[v.index]
            return (
              <div key={v.key} className={`vrow raw-line side-${line.side}`} style={{ transform: `translateY(${v.start}px)`, height: v.size }}>
                <span className={`gutter g-${line.side}`}>{line.side === 'client' ? 'C' : 'S'}</span>
                <span className="raw-off">{line.offset.toString(16).padStart(6, '0')}</span>
                {mode === 'text' ? <VisibleBytes bytes={line.bytes} /> : <HexLine bytes={line.bytes} />}
              </div>
            )
          })}
        </div>
      </div>
    </div>
  )
}

/** Orders both directions by the events' raw references; bytes no event covers keep their place. */
function interleave(sync: SessionSync, data: { client: Uint8Array; server: Uint8Array }): Segment[] {
  const cursor = { client: 0, server: 0 }
  const out: Segment[] = []
  const push = (side: Side, start: number, end: number) => {
    const buf = data[side]
    const s = Math.max(start, cursor[side])
    const e = Math.min(end, buf.length)
    if (e <= s) return
    const prev = out[out.length - 1]
    if (prev && prev.side === side && prev.offset + prev.bytes.length === s) prev.bytes = buf.subarray(prev.offset, e)
    else out.push({ side, offset: s, bytes: buf.subarray(s, e) })
    cursor[side] = e
  }
  for (const e of sync.log.list()) {
    const r = e.raw
    if (!r) continue
    push(r.side, cursor[r.side], r.offset)
    push(r.side, r.offset, r.offset + r.length)
  }
  push('client', cursor.client, data.client.length)
  push('server', cursor.server, data.server.length)
  return out
}

function splitLines(segments: Segment[]): Line[] {
  const lines: Line[] = []
  for (const seg of segments) {
    let start = 0
    for (let i = 0; i < seg.bytes.length; i++) {
      if (seg.bytes[i] === 0x0a || i - start >= 255) {
        lines.push({ side: seg.side, offset: seg.offset + start, bytes: seg.bytes.subarray(start, i + 1) })
        start = i + 1
      }
    }
    if (start < seg.bytes.length) lines.push({ side: seg.side, offset: seg.offset + start, bytes: seg.bytes.subarray(start) })
  }
  return lines
}

function splitHex(segments: Segment[]): Line[] {
  const lines: Line[] = []
  for (const seg of segments)
    for (let i = 0; i < seg.bytes.length; i += 16) lines.push({ side: seg.side, offset: seg.offset + i, bytes: seg.bytes.subarray(i, i + 16) })
  return lines
}

function VisibleBytes({ bytes }: { bytes: Uint8Array }) {
  const parts: React.ReactNode[] = []
  let text = ''
  const flush = () => {
    if (text) parts.push(text)
    text = ''
  }
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    if (b >= 0x20 && b < 0x7f) {
      text += String.fromCharCode(b)
      continue
    }
    flush()
    // Escapes rather than the U+240x control pictures: those are missing from many fonts.
    const sym = b === 0x0d ? '\\r' : b === 0x0a ? '\\n' : b === 0x09 ? '\\t' : `\\x${b.toString(16).padStart(2, '0')}`
    parts.push(
      <span key={i} className={b === 0x0d || b === 0x0a ? 'crlf' : 'np'}>
        {sym}
      </span>,
    )
  }
  flush()
  return <span className="raw-bytes">{parts}</span>
}

function HexLine({ bytes }: { bytes: Uint8Array }) {
  let hex = ''
  let ascii = ''
  for (let i = 0; i < 16; i++) {
    if (i < bytes.length) {
      hex += bytes[i].toString(16).padStart(2, '0') + (i === 7 ? '  ' : ' ')
      ascii += bytes[i] >= 0x20 && bytes[i] < 0x7f ? String.fromCharCode(bytes[i]) : '.'
    } else hex += i === 7 ? '    ' : '   '
  }
  return (
    <span className="raw-bytes">
      <span className="hex">{hex}</span>
      <span className="ascii">{ascii}</span>
    </span>
  )
}
