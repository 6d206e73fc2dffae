// Session ids sort by creation time (base36 milliseconds) and stay unique within a
// millisecond (a per-process counter plus random bits), so directory listings,
// the store's index and the API agree on "newest first" without parsing anything.
import { randomBytes } from 'node:crypto'

let last = 0
let counter = 0

export function newSessionId(at = Date.now()): string {
  const ms = Math.floor(at)
  counter = ms === last ? counter + 1 : 0
  last = ms
  return `${ms.toString(36).padStart(9, '0')}-${counter.toString(36).padStart(2, '0')}${randomBytes(3).toString('hex')}`
}
