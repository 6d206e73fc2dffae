// Child process for the crash test: records heavy traffic into a store at argv[2] until
// it is killed. Every tick it prints, as one JSON line, the last seq of each session it
// published to since the previous tick, so the parent knows what had been published when.
import { Feed } from '../../proxy/feed.ts'
import { openStore } from '../../proxy/store/index.ts'
import { FeedSession, command, reply } from './publish.ts'

const dir = process.argv[2]!
const feed = new Feed()
await openStore({ dir, feed })

const touched = new Map<string, number>()
let tick = 0
setInterval(() => {
  process.stdout.write(JSON.stringify({ tick: tick++, seqs: Object.fromEntries(touched) }) + '\n')
  touched.clear()
}, 250)

const payload = 'x'.repeat(200)
const live: FeedSession[] = []
function step(): void {
  while (live.length < 4) live.push(new FeedSession(feed, { user: `user${live.length}` }))
  for (let n = 0; n < 40; n++) {
    const s = live[n % live.length]!
    s.chunk('client', `MAIL FROM:<${payload}@example>\r\n`, command('MAIL', `FROM:<${payload}@example>`))
    const ev = s.chunk('server', '250 2.1.0 ok\r\n', reply('250', 'ok'))
    touched.set(s.id, ev.seq)
    if (ev.seq > 400 + (n % 7) * 20) {
      s.close()
      touched.set(s.id, s.session.totals.events)
      live.splice(live.indexOf(s), 1)
      live.push(new FeedSession(feed))
    }
  }
  setImmediate(step)
}
step()
