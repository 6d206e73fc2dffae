// Set-up help: every listening route with how to point a client at it, and the CA
// certificate download with instructions for trusting it.
import { useEffect, useState } from 'react'
import type { Route } from '../../../shared/schema.ts'
import { useT, type T } from '../i18n/index.ts'
import { caUrl, getRoutes, type RoutesInfo } from '../live/api.ts'

export function routeHowTo(r: Route, t: T): string {
  const security = r.listen.tls ? t('securityImplicit') : t('securityNone')
  return t('routeHowTo', { proto: r.protocol.toUpperCase(), host: r.listen.host, port: r.listen.port, security })
}

export function RoutesPanel({ compact = false }: { compact?: boolean }) {
  const t = useT()
  const [info, setInfo] = useState<RoutesInfo | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [hasCa, setHasCa] = useState(false)

  useEffect(() => {
    getRoutes().then(setInfo, (err: Error) => setError(err.message))
    fetch(caUrl(), { method: 'HEAD' }).then(
      (r) => setHasCa(r.ok),
      () => setHasCa(false),
    )
  }, [])

  return (
    <div className={`routes-panel${compact ? ' compact' : ''}`} data-testid="routes-panel">
      <h2>{t('routesTitle')}</h2>
      {error && <p className="note note-error">{error}</p>}
      {info && info.routes.length === 0 && <p className="muted">{t('noRoutes')}</p>}
      <div className="route-cards">
        {info?.routes.map((r) => (
          <div className="route-card" key={r.id} data-testid="route">
            <div className="route-head">
              <span className={`proto proto-${r.protocol}`}>{r.protocol.toUpperCase()}</span>
              <code>{r.listenUrl}</code>
              <span className="muted">{t('forwardsTo')}</span>
              <code>{r.upstreamUrl}</code>
              <span className="badge">{r.tlsMode}</span>
            </div>
            <p className="howto" data-testid="route-howto">
              {routeHowTo(r, t)}
            </p>
            {!r.listen.tls && r.tlsMode === 'intercept' && <p className="muted small">{t('starttlsNote')}</p>}
            {r.tlsMode === 'passthrough' && <p className="muted small">{t('passthroughNote')}</p>}
          </div>
        ))}
      </div>
      {info?.lab && <LabCard lab={info.lab} />}
      {hasCa && (
        <div className="ca-card">
          <h3>{t('caTitle')}</h3>
          <p>{t('caHelp')}</p>
          <a className="btn primary" href={caUrl()} download="mailtap-ca.pem" data-testid="ca-download">
            {t('caDownload')}
          </a>
        </div>
      )}
    </div>
  )
}

/** Lab mode: the embedded mail server's accounts, to log in with right away. */
function LabCard({ lab }: { lab: Record<string, unknown> }) {
  const t = useT()
  const users = Array.isArray(lab.users) ? (lab.users as { name?: unknown; password?: unknown }[]) : []
  const domain = typeof lab.domain === 'string' ? lab.domain : undefined
  return (
    <div className="ca-card" data-testid="lab">
      <h3>{t('labTitle')}</h3>
      <p>{t('labHelp')}</p>
      <table className="table">
        <thead>
          <tr>
            <th>{t('user')}</th>
            <th>{t('password')}</th>
            <th>{t('address')}</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u, i) => (
            <tr key={i}>
              <td>
                <code>{String(u.name ?? '')}</code>
              </td>
              <td>
                <code>{String(u.password ?? '')}</code>
              </td>
              <td>{domain ? <code>{`${String(u.name ?? '')}@${domain}`}</code> : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
