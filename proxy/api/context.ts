// What every route module gets: the store, the feed and the options createApp was given.
import type { Route } from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import type { Store } from '../store/index.ts'
import type { Ca } from '../tls/ca.ts'

export interface ApiContext {
  store: Store
  feed: Feed
  routes: Route[]
  version: string
  startedAt: number
  caPem?: () => string | undefined
  lab?: object
  /** mailtap's CA: the mock server's STARTTLS and implicit TLS use it. */
  ca?: Ca
  /** Extra CAs trusted on replay's upstream leg (the lab's leaf comes from mailtap's CA). */
  upstreamCa?: string[]
  upstreamVerify?: 'strict' | 'warn' | 'off'
}
