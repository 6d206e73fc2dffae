// mailtap with its TLS layer, in the test process, for the TLS end-to-end tests: a fresh CA
// in a temp data dir, routes to the real Dovecot/Postfix, and readers for what was recorded.
import { mkdtempSync, readFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import type { Note, SessionEvent, TlsItem, TlsLeg } from '../../shared/schema.ts'
import { loadOrCreateCa, type Ca } from '../../proxy/tls/ca.ts'
import { createTlsSupport } from '../../proxy/tls/support.ts'
import type { UpstreamVerify } from '../../proxy/tls/upgrade.ts'
import { startMailtap, type Harness } from '../helpers/mailtap.ts'
import { ports } from '../helpers/real-servers.ts'

export interface TlsHarness extends Harness {
  ca: Ca
}

/**
 * mailtap on `routes` with the TLS layer. The test bed's self-signed certificate is trusted
 * as an upstream CA (as a user would add it), so what remains wrong about it is the name:
 * routes that dial 127.0.0.1 get a hostname-mismatch warning, refused under 'strict'.
 */
export async function startTlsMailtap(routes: string[], opts: { verify?: UpstreamVerify; trustTestBed?: boolean; idleTimeoutMs?: number } = {}): Promise<TlsHarness> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-tls-e2e-'))
  const ca = await loadOrCreateCa(dataDir, { persistLeaves: false })
  const upstreamCa = opts.trustTestBed === false ? undefined : [readFileSync(ports.certFile, 'utf8')]
  const tlsSupport = createTlsSupport({ ca, verify: opts.verify ?? 'warn', upstreamCa, handshakeTimeoutMs: 8000 })
  const h = await startMailtap(routes, { tls: tlsSupport, dataDir, idleTimeoutMs: opts.idleTimeoutMs })
  return Object.assign(h, { ca })
}

export function notes(events: SessionEvent[]): Note[] {
  return events.flatMap((e) => e.notes ?? [])
}

export function noteCodes(events: SessionEvent[]): string[] {
  return notes(events).map((n) => n.code)
}

export function tlsItems(events: SessionEvent[]): (TlsItem & { seq: number })[] {
  return events.filter((e) => e.item?.kind === 'tls').map((e) => ({ ...(e.item as TlsItem), seq: e.seq }))
}

export function handshakes(events: SessionEvent[]): TlsLeg[] {
  return tlsItems(events)
    .filter((t) => t.phase === 'handshake')
    .map((t) => t.info!)
}

/** Upper-cased verbs of the client commands recorded after event `afterSeq`. */
export function verbsAfter(events: SessionEvent[], afterSeq: number): string[] {
  return events.filter((e) => e.seq > afterSeq && e.item?.kind === 'command').map((e) => (e.item as { verb: string }).verb)
}

/** The seq of the last TLS handshake event (the upgrade's end), or 0. */
export function upgradeSeq(events: SessionEvent[]): number {
  const hs = tlsItems(events).filter((t) => t.phase === 'handshake')
  return hs.length ? hs[hs.length - 1]!.seq : 0
}

export function authUsers(events: SessionEvent[]): string[] {
  return events.flatMap((e) => (e.item?.kind === 'auth' && e.item.user ? [e.item.user] : []))
}

/** Reads from a socket until `pattern` matches the text so far (latin1), or rejects after `timeoutMs`. */
export function readUntil(socket: net.Socket | tls.TLSSocket, pattern: RegExp, timeoutMs = 8000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(text)}`)), timeoutMs)
    const onData = (d: Buffer) => {
      text += d.toString('latin1')
      if (pattern.test(text)) done()
    }
    const onEnd = () => done(new Error(`closed waiting for ${pattern}; got ${JSON.stringify(text)}`))
    const done = (err?: Error) => {
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.removeListener('end', onEnd)
      socket.removeListener('close', onEnd)
      socket.pause()
      if (err) reject(err)
      else resolve(text)
    }
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.resume()
  })
}

export function connectPlain(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s))
    s.once('error', reject)
  })
}

/** A session closed by mailtap, found by the client's local port. */
export async function sessionFor(h: Harness, clientPort: number | undefined, n: number) {
  const closed = await h.waitClosed(n)
  const s = clientPort === undefined ? closed[closed.length - 1]! : closed.find((c) => c.client.port === clientPort)
  if (!s) throw new Error(`no closed session for client port ${clientPort}`)
  return { session: s, events: h.events(s.id) }
}
