// A relay under test, in its own process so its RSS is its own: either mailtap's relay
// (recording on: the store subscribed to the feed, decoders running) or a bare
// `socket.pipe()` relay. Prints its port, then RSS on request ('rss\n' on stdin).
import net from 'node:net'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const [mode, protocol, upstreamPort] = process.argv.slice(2) as ['mailtap' | 'pipe', string, string]

async function start(): Promise<number> {
  if (mode === 'pipe') {
    const server = net.createServer((c) => {
      const u = net.connect(Number(upstreamPort), '127.0.0.1')
      c.pipe(u).pipe(c)
      c.on('error', () => u.destroy())
      u.on('error', () => c.destroy())
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return (server.address() as net.AddressInfo).port
  }
  const { Feed } = await import('../proxy/feed.ts')
  const { listenRoute } = await import('../proxy/relay/listener.ts')
  const { parseRoute } = await import('../proxy/config.ts')
  const { openStore } = await import('../proxy/store/index.ts')
  const feed = new Feed()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-bench-'))
  await openStore({ dir, feed })
  const route = parseRoute(`${protocol}://127.0.0.1:0=${protocol}://127.0.0.1:${upstreamPort}`)
  const l = await listenRoute(route, { feed, idleTimeoutMs: 0, connectTimeoutMs: 5000 })
  return l.port
}

const port = await start()
process.stdout.write(`${port}\n`)
process.stdin.setEncoding('utf8')
process.stdin.on('data', (line) => {
  if (String(line).startsWith('rss')) process.stdout.write(`${process.memoryUsage().rss}\n`)
})
process.stdin.on('end', () => process.exit(0))
