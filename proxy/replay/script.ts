// A recorded session as replay and the mock see it: the greeting, then each client unit
// (command, SASL line, message body) with the server response recorded for it, grouped in
// the turns the client sent them in (a pipelined group is one turn).
//
// The order of the two sides comes from the events' raw references (export/segments.ts).
// Pairing then follows the protocol: responses answer units in order (IMAP: by tag);
// AUTH steps a hand-written transcript left unanswered stay so (see takeAwaiting); and
// responses found before their units (bytes a confused decoder only placed at the end)
// carry over to the next units.
import type { Protocol, Secret, Session, SessionEvent, Side } from '../../shared/schema.ts'
import { segmentsFromEvents } from '../export/segments.ts'
import type { Store } from '../store/index.ts'
import { ClientFramer, ServerFramer, type ClientUnit, type ServerResponse } from './framing.ts'

export interface Exchange {
  /** 1-based; the greeting is exchange 0 and is kept apart. */
  n: number
  unit: ClientUnit
  /** Undefined when the recording has no answer for this unit. */
  response?: ServerResponse
  /** IMAP `+` go-aheads for the unit's literals, recorded before its answer. */
  goAheads?: Buffer[]
  /** Index of the client turn (0-based) the unit was sent in. */
  turn: number
  /** Recorded time the unit was sent (epoch ms). */
  at: number
  /** The server accepted STARTTLS/STLS here. */
  startTls?: boolean
}

export interface Script {
  session: Session
  protocol: Protocol
  greeting?: ServerResponse
  exchanges: Exchange[]
  /** Turns as lists of exchange indexes into `exchanges`. */
  turns: number[][]
  /** The connection was TLS from the first byte. */
  implicitTls: boolean
  /** Secrets of the recording (passwords...), to recognise them in units. */
  secrets: Secret[]
  /** Bytes at the end of the client stream that never formed a unit. */
  clientRest: Buffer
}

export class ScriptError extends Error {
  override name = 'ScriptError'
}

/**
 * The unit a response answers. IMAP pairs by tag. SMTP pairs in order, except that a
 * 2xx other than 235 cannot answer an AUTH step: those steps had no recorded answer
 * (a transcript that leaves out the 334s) and the reply belongs to what followed.
 */
function takeAwaiting(protocol: Protocol, awaiting: Exchange[], res: ServerResponse): Exchange | undefined {
  if (protocol === 'imap' && res.tag !== undefined) {
    const i = awaiting.findIndex((e) => e.unit.tag === res.tag)
    if (i >= 0) return awaiting.splice(i, 1)[0]
  }
  if (protocol === 'smtp' && res.code.startsWith('2') && res.code !== '235') {
    while (awaiting.length > 1 && (awaiting[0]!.unit.kind === 'sasl' || awaiting[0]!.unit.verb === 'AUTH')) awaiting.shift()
  }
  return awaiting.shift()
}

interface Seg {
  side: Side
  bytes: Buffer
  at: number
}

function isGoAhead(res: ServerResponse, unit: ClientUnit | undefined, granted: Map<ClientUnit, number>): boolean {
  if (res.status !== 'continue' || !unit?.syncLiterals) return false
  const n = granted.get(unit) ?? 0
  if (n >= unit.syncLiterals) return false
  granted.set(unit, n + 1)
  return true
}

/** Loads a session from the store and pairs its units and responses. */
export async function loadScript(store: Store, sessionId: string): Promise<Script> {
  const session = store.get(sessionId)
  if (!session) throw new ScriptError(`no session '${sessionId}'`)
  if (session.status === 'live') throw new ScriptError(`session '${sessionId}' is still live: wait until it ends`)
  const events = await store.events(sessionId)
  const client = await store.raw(sessionId, 'client')
  const server = await store.raw(sessionId, 'server')
  return buildScript(session, events, { client, server })
}

export function buildScript(session: Session, events: SessionEvent[], raw: Record<Side, Buffer>): Script {
  const protocol = session.protocol
  const segs: Seg[] = []
  for (const s of segmentsFromEvents(events, { client: raw.client.length, server: raw.server.length }, session.endedAt ?? session.startedAt)) {
    const bytes = raw[s.side].subarray(s.start, s.end)
    const last = segs.at(-1)
    if (last && last.side === s.side) last.bytes = Buffer.concat([last.bytes, bytes])
    else segs.push({ side: s.side, bytes, at: s.at })
  }
  // The session switched to TLS after an accepted STARTTLS/STLS (the decoder saw the go-ahead).
  const upgraded = session.tls.some((l) => l.how === 'starttls') || events.some((e) => e.item?.kind === 'tls' && e.item.phase === 'go-ahead')
  const secrets = events.flatMap((e) => e.secrets ?? [])
  const implicitTls = session.tls.some((l) => l.how === 'implicit') || /^(smtps|pop3s|imaps):/i.test(session.route.upstreamUrl)

  const cf = new ClientFramer(protocol)
  const sf = new ServerFramer(protocol, { greeting: segs[0]?.side === 'server' })
  /** `+` go-aheads the server gave a literal whose command is not complete yet. */
  const pendingGoAheads: ServerResponse[] = []
  const exchanges: Exchange[] = []
  const turns: number[][] = []
  let greeting: ServerResponse | undefined
  /** Units still without an answer, oldest first. */
  const awaiting: Exchange[] = []
  /** Responses that came before any unit could take them (carried to the next units). */
  const extra: ServerResponse[] = []
  const granted = new Map<ClientUnit, number>()
  let spoke = false

  const assign = (ex: Exchange, res: ServerResponse) => {
    ex.response = res
    cf.answered(ex.unit, res)
  }

  for (const seg of segs) {
    if (seg.side === 'client') {
      spoke = true
      const units = cf.push(Buffer.from(seg.bytes))
      if (units.length === 0) continue
      const turn: number[] = []
      for (const unit of units) {
        const ex: Exchange = { n: exchanges.length + 1, unit, turn: turns.length, at: seg.at }
        if (pendingGoAheads.length && unit.syncLiterals) {
          ex.goAheads = pendingGoAheads.splice(0, unit.syncLiterals).map((r) => r.bytes)
          granted.set(unit, ex.goAheads.length)
        }
        turn.push(exchanges.length)
        exchanges.push(ex)
        const carried = extra.shift()
        if (carried) assign(ex, carried)
        else awaiting.push(ex)
      }
      turns.push(turn)
      // Go-aheads no literal took were answers after all.
      for (const res of pendingGoAheads.splice(0)) {
        const ex = awaiting.shift()
        if (ex) assign(ex, res)
        else extra.push(res)
      }
      continue
    }
    const greetingFirst = !spoke && !greeting ? 1 : 0
    const responses = sf.push(Buffer.from(seg.bytes), (i) => awaiting[i - greetingFirst]?.unit)
    for (const res of responses) {
      // A `+` while a literal waits, or before any command needs one (the decoder placed
      // the command, literal included, after it): the go-ahead of the coming literal.
      if (protocol === 'imap' && res.status === 'continue' && (cf.waitingForGoAhead || awaiting.length === 0) && (spoke || greeting !== undefined)) {
        pendingGoAheads.push(res)
        cf.noteLiteralStarted()
        continue
      }
      if (protocol === 'imap' && res.tag !== undefined && cf.waitingForGoAhead) {
        const unit = cf.abandonLiteral()
        if (unit) {
          const ex: Exchange = { n: exchanges.length + 1, unit, turn: turns.length, at: seg.at }
          turns.push([exchanges.length])
          exchanges.push(ex)
          awaiting.push(ex)
        }
      }
      const lit = awaiting.find((e) => e.unit.syncLiterals && (granted.get(e.unit) ?? 0) < e.unit.syncLiterals)
      if (lit && isGoAhead(res, lit.unit, granted)) {
        ;(lit.goAheads ??= []).push(res.bytes)
        continue
      }
      if (!spoke && !greeting) {
        greeting = res
        continue
      }
      const ex = takeAwaiting(protocol, awaiting, res)
      if (ex) assign(ex, res)
      else extra.push(res)
    }
  }
  const tail = sf.flush()
  if (tail) {
    const ex = awaiting.shift()
    if (ex) assign(ex, tail)
  }
  if (upgraded) {
    const ex = exchanges.find((e) => e.unit.kind === 'command' && /^(STARTTLS|STLS)$/.test(e.unit.verb ?? '') && e.response?.status === 'ok')
    if (ex) ex.startTls = true
  }
  return { session, protocol, greeting, exchanges, turns, implicitTls, secrets, clientRest: cf.rest() }
}
