// The sequence diagram: client, mailtap and server as lanes, each exchange as a request
// arrow and a reply arrow labelled with the line and its latency, TLS upgrades as bands,
// failures in red. Drawn with explicit colours so the SVG/PNG exports look the same.
import { useRef } from 'react'
import type { Session } from '../../../shared/schema.ts'
import { useT } from '../i18n/index.ts'
import type { Exchange, Grouped } from '../state/exchanges.ts'
import { formatMs, upstreamLabel } from '../state/format.ts'
import { usePrefs } from '../state/prefs.ts'
import { downloadBlob } from './bits.tsx'
import { shortLabel } from './event-line.tsx'

const MAX_EXCHANGES = 400
const W = 900
const LANE = { client: 120, mailtap: W / 2, server: W - 120 }
const HEAD = 70

interface Palette {
  paper: string
  ink: string
  muted: string
  lane: string
  client: string
  server: string
  fail: string
  tls: string
  tlsInk: string
  box: string
  current: string
}

const LIGHT: Palette = {
  paper: '#ffffff',
  ink: '#111827',
  muted: '#6b7280',
  lane: '#d1d5db',
  client: '#2563eb',
  server: '#059669',
  fail: '#dc2626',
  tls: '#fef3c7',
  tlsInk: '#92400e',
  box: '#f3f4f6',
  current: '#eff6ff',
}
const DARK: Palette = {
  paper: '#0f1419',
  ink: '#e5e7eb',
  muted: '#9ca3af',
  lane: '#374151',
  client: '#60a5fa',
  server: '#34d399',
  fail: '#f87171',
  tls: '#3b2f12',
  tlsInk: '#fcd34d',
  box: '#1f2937',
  current: '#172554',
}

function heightOf(x: Exchange): number {
  if (x.kind === 'tls') return 40
  if (x.kind === 'greeting' || !x.command) return 44
  return 72
}

export function SequenceDiagram({
  grouped,
  session,
  upTo,
  current,
  exportable = true,
}: {
  grouped: Grouped
  session: Session
  upTo?: number
  current?: number
  exportable?: boolean
}) {
  const t = useT()
  const { theme } = usePrefs()
  const p = theme === 'dark' ? DARK : LIGHT
  const svgRef = useRef<SVGSVGElement>(null)
  const all = grouped.exchanges
  const shown = all.slice(0, Math.min(upTo === undefined ? all.length : upTo + 1, MAX_EXCHANGES))
  let y = HEAD + 16
  const placed = shown.map((x) => {
    const top = y
    y += heightOf(x)
    return { x, top }
  })
  const H = y + 24

  const exportName = `mailtap-${session.protocol}-${session.id}`
  const exportSvg = () => {
    const svg = svgRef.current
    if (!svg) return
    downloadBlob(new Blob([serializeSvg(svg)], { type: 'image/svg+xml' }), `${exportName}.svg`)
  }
  const exportPng = async () => {
    const svg = svgRef.current
    if (!svg) return
    const blob = await svgToPng(serializeSvg(svg), W, H, 2)
    downloadBlob(blob, `${exportName}.png`)
  }

  return (
    <div className="diagram-wrap scroll">
      {exportable && (
        <div className="diagram-tools">
          <button type="button" className="btn small" onClick={exportSvg} data-testid="export-svg">
            {t('exportSvg')}
          </button>
          <button type="button" className="btn small" onClick={() => void exportPng()} data-testid="export-png">
            {t('exportPng')}
          </button>
          {all.length > MAX_EXCHANGES && upTo === undefined && <span className="muted small">1–{MAX_EXCHANGES} / {all.length}</span>}
        </div>
      )}
      {!shown.length ? (
        <div className="pad muted">{t('noExchanges')}</div>
      ) : (
        <svg
          ref={svgRef}
          xmlns="http://www.w3.org/2000/svg"
          viewBox={`0 0 ${W} ${H}`}
          width={W}
          height={H}
          className="diagram"
          data-testid="diagram"
          fontFamily="ui-sans-serif, system-ui, -apple-system, 'Segoe UI', sans-serif"
          fontSize="12"
        >
          <defs>
            <marker id="arrow-c" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0 0L10 5L0 10z" fill={p.client} />
            </marker>
            <marker id="arrow-s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0 0L10 5L0 10z" fill={p.server} />
            </marker>
            <marker id="arrow-f" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0 0L10 5L0 10z" fill={p.fail} />
            </marker>
          </defs>
          <rect x="0" y="0" width={W} height={H} fill={p.paper} />
          {(['client', 'mailtap', 'server'] as const).map((lane) => (
            <g key={lane}>
              <line x1={LANE[lane]} y1={HEAD} x2={LANE[lane]} y2={H - 12} stroke={p.lane} strokeWidth="1.5" strokeDasharray={lane === 'mailtap' ? '4 4' : undefined} />
              <rect x={LANE[lane] - 90} y={12} width={180} height={HEAD - 24} rx={8} fill={p.box} stroke={p.lane} />
              <text x={LANE[lane]} y={32} textAnchor="middle" fontWeight="600" fill={lane === 'client' ? p.client : lane === 'server' ? p.server : p.ink}>
                {lane === 'client' ? t('client') : lane === 'server' ? t('server') : 'mailtap'}
              </text>
              <text x={LANE[lane]} y={48} textAnchor="middle" fill={p.muted} fontSize="11">
                {clip(lane === 'client' ? `${session.client.address}:${session.client.port}` : lane === 'server' ? upstreamLabel(session) : session.route.listenUrl, 28)}
              </text>
            </g>
          ))}
          {placed.map(({ x, top }) => (
            <ExchangeShape key={x.index} x={x} top={top} p={p} current={current === x.index} />
          ))}
        </svg>
      )}
    </div>
  )
}

function ExchangeShape({ x, top, p, current }: { x: Exchange; top: number; p: Palette; current: boolean }) {
  const failColor = x.failed ? p.fail : undefined
  const bg = current ? <rect x={8} y={top - 4} width={W - 16} height={heightOf(x) - 4} rx={6} fill={p.current} /> : null
  if (x.kind === 'tls') {
    const it = x.events[0]?.item
    const info = it?.kind === 'tls' ? it.info : undefined
    const failed = it?.kind === 'tls' && it.phase === 'failed'
    const label = failed ? `TLS failed${it?.kind === 'tls' && it.error ? `: ${it.error}` : ''}` : `TLS ${[info?.leg, info?.version, info?.cipher].filter(Boolean).join(' · ')}`
    const [x1, x2] = info?.leg === 'client' ? [LANE.client, LANE.mailtap] : info?.leg === 'server' ? [LANE.mailtap, LANE.server] : [LANE.client, LANE.server]
    return (
      <g data-testid="diagram-exchange" data-kind="tls" data-label={label} data-current={current ? 'true' : undefined}>
        {bg}
        <rect x={x1 - 20} y={top + 4} width={x2 - x1 + 40} height={26} rx={5} fill={failed ? p.fail : p.tls} opacity={failed ? 0.2 : 1} />
        <text x={(x1 + x2) / 2} y={top + 21} textAnchor="middle" fill={failed ? p.fail : p.tlsInk} fontWeight="600">
          {clip(label, 70)}
        </text>
      </g>
    )
  }
  const cmd = x.command
  const reply = x.final ?? x.events.find((e) => e.from === 'server')
  const extra = x.events.filter((e) => e.from === 'server' && e !== reply).length
  const cmdLabel = cmd ? shortLabel(cmd, 44) : ''
  const replyLabel = reply ? shortLabel(reply, 44) : ''
  const label = [cmdLabel, replyLabel].filter(Boolean).join(' → ')
  const yReq = top + 20
  const yRep = cmd ? top + 50 : top + 22
  return (
    <g data-testid="diagram-exchange" data-kind={x.kind} data-label={label} data-failed={x.failed ? 'true' : 'false'} data-current={current ? 'true' : undefined}>
      {bg}
      {cmd && (
        <>
          <line x1={LANE.client} y1={yReq} x2={LANE.server - 4} y2={yReq} stroke={p.client} strokeWidth="1.6" markerEnd="url(#arrow-c)" />
          <circle cx={LANE.mailtap} cy={yReq} r={3.5} fill={p.paper} stroke={p.client} strokeWidth="1.5" />
          <text x={LANE.client + 8} y={yReq - 6} fill={p.ink} fontFamily="ui-monospace, SFMono-Regular, Menlo, monospace">
            {cmdLabel}
            {x.pipelined ? ' ⇉' : ''}
          </text>
        </>
      )}
      {reply && (
        <>
          <line x1={LANE.server} y1={yRep} x2={LANE.client + 4} y2={yRep} stroke={failColor ?? p.server} strokeWidth="1.6" markerEnd={x.failed ? 'url(#arrow-f)' : 'url(#arrow-s)'} />
          <circle cx={LANE.mailtap} cy={yRep} r={3.5} fill={p.paper} stroke={failColor ?? p.server} strokeWidth="1.5" />
          <text x={LANE.server - 8} y={yRep - 6} textAnchor="end" fill={failColor ?? p.ink} fontFamily="ui-monospace, SFMono-Regular, Menlo, monospace">
            {replyLabel}
            {extra > 0 ? `  (+${extra})` : ''}
          </text>
          {x.latencyMs !== undefined && (
            <text x={LANE.server + 10} y={(yReq + yRep) / 2 + 4} fill={p.muted} fontSize="11">
              {formatMs(x.latencyMs)}
            </text>
          )}
        </>
      )}
    </g>
  )
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s
}

function serializeSvg(svg: SVGSVGElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg)}`
}

function svgToPng(svgText: string, w: number, h: number, scale: number): Promise<Blob> {
  return new Promise((resolve, reject) => {
    const img = new Image()
    // A data: URL, not a blob: one: the dashboard's CSP allows images from 'self' and data: only.
    const url = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText)}`
    img.onload = () => {
      const canvas = document.createElement('canvas')
      canvas.width = w * scale
      canvas.height = h * scale
      const ctx = canvas.getContext('2d')!
      ctx.scale(scale, scale)
      ctx.drawImage(img, 0, 0, w, h)
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png')
    }
    img.onerror = () => {
      reject(new Error('SVG could not be drawn'))
    }
    img.src = url
  })
}
