// What every route module gets: the store, the feed and the options createApp was given.
import type { Route } from '../../shared/schema.ts'
import type { Feed } from '../feed.ts'
import type { Store } from '../store/index.ts'

export interface ApiContext {
  store: Store
  feed: Feed
  routes: Route[]
  version: string
  startedAt: number
  caPem?: () => string | undefined
  lab?: object
}
