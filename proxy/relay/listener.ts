// Listening sockets, one per route. Each accepted connection becomes a relayed session.
import net from 'node:net'
import type { Route } from '../../shared/schema.ts'
import { relayConnection, type RelayOptions } from './relay.ts'

export interface RouteListener {
  route: Route
  /** The port actually bound (differs from route.listen.port when that was 0). */
  port: number
  close(): Promise<void>
}

/** Thrown for problems the user must fix (port in use...): the CLI prints one line, exit 2. */
export class ListenError extends Error {}

export function listenRoute(route: Route, opts: RelayOptions): Promise<RouteListener> {
  const sockets = new Set<net.Socket>()
  // Sessions name the route as bound: a port 0 becomes the real one once listening.
  let bound = route
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    relayConnection(socket, bound, opts)
  })
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${route.listen.host}:${route.listen.port}`
      if (err.code === 'EADDRINUSE') reject(new ListenError(`port ${where} is already in use (route ${route.listenUrl})`))
      else if (err.code === 'EACCES') reject(new ListenError(`no permission to listen on ${where} (route ${route.listenUrl})`))
      else if (err.code === 'EADDRNOTAVAIL') reject(new ListenError(`address ${route.listen.host} is not on this machine (route ${route.listenUrl})`))
      else reject(new ListenError(`cannot listen on ${where}: ${err.message}`))
    })
    server.listen(route.listen.port, route.listen.host, () => {
      const port = (server.address() as net.AddressInfo).port
      bound = { ...route, id: route.id.replace(/-\d+$/, `-${port}`), listen: { ...route.listen, port }, listenUrl: route.listenUrl.replace(/:\d+$/, `:${port}`) }
      resolve({
        route: bound,
        port,
        close: () =>
          new Promise((done) => {
            server.close(() => done())
            for (const s of sockets) s.destroy()
          }),
      })
    })
  })
}
