// The lab's POP3 server (RFC 1939, CAPA/RESP-CODES RFC 2449, STLS RFC 2595, AUTH PLAIN
// RFC 5034). It reads the same INBOX as IMAP: a snapshot is taken at login, and DELE'd
// messages leave the shared mailbox when QUIT enters the UPDATE state.
import type tls from 'node:tls'
import { LabConnection, MAX_LINE_BYTES, takeLine, toCrlf, type LabSocket } from './conn.ts'
import { FaultInjector, sleep } from './faults.ts'
import type { MailStore, StoredMessage } from './mail-store.ts'

export interface Pop3Context {
  store: MailStore
  faults: FaultInjector
  secureContext?: tls.SecureContext
  /** Users with a session in TRANSACTION state: RFC 1939 4 gives it an exclusive lock. */
  locks: Set<string>
}

type Pop3State = 'authorization' | 'transaction' | 'update'

/** RFC 1939 3: a line starting with "." is byte-stuffed in multi-line responses. */
function dotStuff(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/(^|\r\n)\./g, '$1..')
  return Buffer.from(text, 'latin1')
}

export class Pop3Connection extends LabConnection {
  private state: Pop3State = 'authorization'
  private pendingUser: string | undefined
  private user: string | undefined
  private messages: StoredMessage[] = []
  private deleted = new Set<number>()
  private uidValidity = 0
  /** Set while an AUTH exchange waits for the client's base64 line. */
  private saslWaiting = false

  constructor(socket: LabSocket, private readonly ctx: Pop3Context) {
    super(socket, ctx.secureContext)
  }

  start(): void {
    // No <timestamp> in the greeting: that would advertise APOP (RFC 1939 7), which the lab lacks.
    this.greeting = sleep(this.ctx.faults.delayMs()).then(() => this.write('+OK mailtap lab POP3 ready\r\n'))
  }

  protected override onClose(): void {
    // A client that drops without QUIT loses its deletions (RFC 1939 6) and its lock.
    if (this.state === 'transaction' && this.user) this.ctx.locks.delete(this.user)
  }

  protected async step(): Promise<boolean> {
    const taken = takeLine(this.buffer)
    if (!taken) {
      if (this.buffer.length > MAX_LINE_BYTES) {
        this.write('-ERR line too long\r\n')
        this.end()
      }
      return false
    }
    this.buffer = taken.rest
    await sleep(this.ctx.faults.delayMs())
    if (this.saslWaiting) {
      this.saslWaiting = false
      this.finishAuthPlain(taken.line.trim())
      return true
    }
    this.handle(taken.line)
    return true
  }

  private reply(line: string): void {
    this.write(line + '\r\n')
  }

  private multi(first: string, lines: string[]): void {
    this.write([first, ...lines, '.'].join('\r\n') + '\r\n')
  }

  private handle(line: string): void {
    const [word = '', ...args] = line.trim().split(/\s+/)
    const command = word.toUpperCase()
    if (command === '') return this.reply('-ERR empty command')
    if (this.ctx.faults.fire('drop')) {
      this.reply('-ERR [SYS/TEMP] Service shutting down, closing connection (lab fault)')
      return this.end()
    }
    if (command === 'QUIT') return this.quit()
    if (command === 'CAPA') return this.capa()
    if (command === 'NOOP' && this.state === 'transaction') return this.reply('+OK')
    if (this.state === 'authorization') {
      switch (command) {
        case 'USER':
          if (args.length !== 1) return this.reply('-ERR usage: USER name')
          this.pendingUser = args[0]
          return this.reply('+OK send PASS')
        case 'PASS': {
          if (!this.pendingUser) return this.reply('-ERR USER first')
          // RFC 1939 7: the password may contain spaces; it is the rest of the line.
          const password = line.trim().slice(4).replace(/^ /, '')
          const login = this.pendingUser
          this.pendingUser = undefined
          return this.login(login, password)
        }
        case 'AUTH':
          return this.auth(args)
        case 'STLS':
          if (!this.canStartTls) return this.reply(this.secure ? '-ERR already using TLS' : '-ERR STLS not available (the lab has no certificate)')
          this.reply('+OK Begin TLS negotiation')
          return this.startTls()
        default:
          return this.reply(`-ERR ${command} is unknown or not allowed before login`)
      }
    }
    switch (command) {
      case 'STAT': {
        const live = this.live()
        return this.reply(`+OK ${live.length} ${live.reduce((n, { m }) => n + toCrlf(m.raw).length, 0)}`)
      }
      case 'LIST':
        return this.listing(args, (n, m) => `${n} ${toCrlf(m.raw).length}`, 'scan listing follows')
      case 'UIDL':
        return this.listing(args, (n, m) => `${n} ${this.uidValidity}-${m.uid}`, 'unique-id listing follows')
      case 'RETR': {
        const m = this.message(args[0])
        if (!m) return
        const body = toCrlf(m.raw)
        const ending = body.length === 0 || body.subarray(-2).toString() === '\r\n' ? '' : '\r\n'
        this.write(Buffer.concat([Buffer.from(`+OK ${body.length} octets\r\n`), dotStuff(body), Buffer.from(`${ending}.\r\n`)]))
        return
      }
      case 'TOP': {
        const m = this.message(args[0])
        if (!m) return
        const count = Number(args[1])
        if (args[1] === undefined || !/^\d+$/.test(args[1])) return this.reply('-ERR usage: TOP msg lines')
        const text = toCrlf(m.raw).toString('latin1')
        const split = text.indexOf('\r\n\r\n')
        const head = split < 0 ? text : text.slice(0, split + 2)
        const bodyLines = split < 0 ? [] : text.slice(split + 4).split('\r\n')
        if (bodyLines.at(-1) === '') bodyLines.pop()
        const out = head + '\r\n' + bodyLines.slice(0, count).map((l) => l + '\r\n').join('')
        this.write(Buffer.concat([Buffer.from('+OK top of message follows\r\n'), dotStuff(Buffer.from(out, 'latin1')), Buffer.from('.\r\n')]))
        return
      }
      case 'DELE': {
        const n = Number(args[0])
        if (this.deleted.has(n)) return this.reply(`-ERR message ${n} already deleted`)
        const m = this.message(args[0])
        if (!m) return
        this.deleted.add(n)
        return this.reply(`+OK message ${n} deleted`)
      }
      case 'RSET':
        this.deleted.clear()
        return this.reply(`+OK maildrop has ${this.messages.length} messages`)
      case 'USER':
      case 'PASS':
      case 'AUTH':
      case 'STLS':
        return this.reply('-ERR already logged in')
      default:
        return this.reply(`-ERR unknown command ${command}`)
    }
  }

  private capa(): void {
    const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING']
    if (this.state === 'authorization') {
      caps.push('USER', 'SASL PLAIN')
      if (this.canStartTls) caps.push('STLS')
    }
    caps.push('IMPLEMENTATION mailtap-lab')
    this.multi('+OK Capability list follows', caps)
  }

  private auth(args: string[]): void {
    if (args.length === 0) return this.multi('+OK methods follow', ['PLAIN'])
    if (args[0].toUpperCase() !== 'PLAIN') return this.reply('-ERR unsupported SASL mechanism')
    if (args[1] !== undefined) return this.finishAuthPlain(args[1])
    this.saslWaiting = true
    this.reply('+ ')
  }

  private finishAuthPlain(response: string): void {
    if (response === '*') return this.reply('-ERR AUTH cancelled')
    // RFC 4616: authzid NUL authcid NUL passwd
    const parts = Buffer.from(response === '=' ? '' : response, 'base64').toString('utf8').split('\0')
    if (parts.length !== 3) return this.reply('-ERR [AUTH] malformed PLAIN response')
    this.login(parts[1], parts[2])
  }

  private login(login: string, password: string): void {
    const { store, faults, locks } = this.ctx
    if (faults.fire('auth')) return this.reply('-ERR [AUTH] Authentication failed (lab fault)')
    const user = store.authenticate(login, password)
    if (!user) return this.reply('-ERR [AUTH] Invalid user name or password')
    if (faults.fire('pop3-in-use')) return this.reply('-ERR [IN-USE] Mailbox is locked by another POP3 session (lab fault)')
    if (locks.has(user)) return this.reply('-ERR [IN-USE] Mailbox is locked by another POP3 session')
    locks.add(user)
    this.user = user
    this.state = 'transaction'
    const inbox = store.mailbox(user, 'INBOX') ?? store.createMailbox(user, 'INBOX')
    this.messages = [...inbox.messages]
    this.uidValidity = inbox.uidValidity
    const size = this.messages.reduce((n, m) => n + toCrlf(m.raw).length, 0)
    this.reply(`+OK ${user}'s maildrop has ${this.messages.length} messages (${size} octets)`)
  }

  private live(): { n: number; m: StoredMessage }[] {
    return this.messages.map((m, i) => ({ n: i + 1, m })).filter(({ n }) => !this.deleted.has(n))
  }

  /** The message for a message-number argument, or undefined after replying -ERR. */
  private message(arg: string | undefined): StoredMessage | undefined {
    if (arg === undefined || !/^\d+$/.test(arg)) {
      this.reply('-ERR message number required')
      return undefined
    }
    const n = Number(arg)
    const m = this.messages[n - 1]
    if (!m || this.deleted.has(n)) {
      this.reply(`-ERR no such message${this.deleted.has(n) ? ' (deleted)' : ''}`)
      return undefined
    }
    return m
  }

  private listing(args: string[], line: (n: number, m: StoredMessage) => string, title: string): void {
    if (args[0] !== undefined) {
      const m = this.message(args[0])
      if (m) this.reply(`+OK ${line(Number(args[0]), m)}`)
      return
    }
    const live = this.live()
    this.multi(`+OK ${title}`, live.map(({ n, m }) => line(n, m)))
  }

  private quit(): void {
    if (this.state !== 'transaction' || !this.user) {
      this.reply('+OK mailtap lab POP3 signing off')
      return this.end()
    }
    this.state = 'update'
    const uids = [...this.deleted].map((n) => this.messages[n - 1].uid)
    this.ctx.store.expunge(this.user, 'INBOX', uids)
    this.ctx.locks.delete(this.user)
    const left = this.messages.length - uids.length
    this.reply(`+OK mailtap lab POP3 signing off (${left} messages left)`)
    this.end()
  }
}
