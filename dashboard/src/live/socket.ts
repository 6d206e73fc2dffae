// The dashboard's one WebSocket to mailtap: reconnects with backoff and tells listeners
// when it opens (so they resubscribe and reload their snapshot) and when it is lost.
import { WIRE_VERSION, type ClientMessage, type ServerMessage } from '../../../shared/wire.ts'
import { wsUrl } from './api.ts'

export type ConnState = 'connecting' | 'open' | 'lost'

type MessageListener = (msg: ServerMessage) => void
type OpenListener = (info: { reconnect: boolean }) => void
type StateListener = (state: ConnState) => void

export class LiveSocket {
  state: ConnState = 'connecting'
  /** True once a connection was lost at least once (the banner says "restored"). */
  everLost = false
  private ws: WebSocket | undefined
  private opened = 0
  private retryMs = 250
  private closedByUs = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly messageListeners = new Set<MessageListener>()
  private readonly openListeners = new Set<OpenListener>()
  private readonly stateListeners = new Set<StateListener>()

  constructor(private readonly url = wsUrl()) {}

  start(): void {
    this.closedByUs = false
    this.connect()
  }

  stop(): void {
    this.closedByUs = true
    clearTimeout(this.timer)
    this.ws?.close()
  }

  send(msg: ClientMessage): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false
    this.ws.send(JSON.stringify(msg))
    return true
  }

  onMessage(fn: MessageListener): () => void {
    this.messageListeners.add(fn)
    return () => this.messageListeners.delete(fn)
  }

  /** Called on every (re)connection; also immediately when already open. */
  onOpen(fn: OpenListener): () => void {
    this.openListeners.add(fn)
    if (this.state === 'open') fn({ reconnect: false })
    return () => this.openListeners.delete(fn)
  }

  onState(fn: StateListener): () => void {
    this.stateListeners.add(fn)
    return () => this.stateListeners.delete(fn)
  }

  private setState(s: ConnState): void {
    if (s === this.state) return
    this.state = s
    if (s === 'lost') this.everLost = true
    for (const fn of this.stateListeners) fn(s)
  }

  private connect(): void {
    let ws: WebSocket
    try {
      ws = new WebSocket(this.url)
    } catch {
      this.scheduleRetry()
      return
    }
    this.ws = ws
    ws.onopen = () => {
      this.retryMs = 250
      const reconnect = this.opened++ > 0
      this.setState('open')
      for (const fn of this.openListeners) fn({ reconnect })
    }
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return
      let msg: ServerMessage
      try {
        msg = JSON.parse(e.data) as ServerMessage
      } catch {
        return
      }
      if (msg.type === 'hello' && msg.wireVersion !== WIRE_VERSION) console.warn('mailtap wire version mismatch', msg.wireVersion)
      for (const fn of this.messageListeners) fn(msg)
    }
    ws.onclose = () => {
      if (this.ws !== ws) return
      this.ws = undefined
      if (this.closedByUs) return
      this.setState('lost')
      this.scheduleRetry()
    }
    ws.onerror = () => {
      // onclose follows and schedules the retry
    }
  }

  private scheduleRetry(): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.connect(), this.retryMs)
    this.retryMs = Math.min(this.retryMs * 2, 3000)
  }
}
