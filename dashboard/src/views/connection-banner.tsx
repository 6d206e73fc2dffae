// Shows when the socket to mailtap is lost, and briefly when it is restored.
import { useEffect, useRef, useState } from 'react'
import { useT } from '../i18n/index.ts'
import { useConnState } from '../live/sync.ts'

export function ConnectionBanner() {
  const t = useT()
  const conn = useConnState()
  const wasLost = useRef(false)
  const [restored, setRestored] = useState(false)

  useEffect(() => {
    if (conn === 'lost') {
      wasLost.current = true
      setRestored(false)
    } else if (conn === 'open' && wasLost.current) {
      wasLost.current = false
      setRestored(true)
      const timer = setTimeout(() => setRestored(false), 5000)
      return () => clearTimeout(timer)
    }
  }, [conn])

  if (conn === 'lost')
    return (
      <div className="banner banner-lost" role="alert" data-testid="banner-lost">
        {t('connectionLost')}
      </div>
    )
  if (restored)
    return (
      <div className="banner banner-restored" role="status" data-testid="banner-restored">
        {t('connectionRestored')}
      </div>
    )
  return null
}
