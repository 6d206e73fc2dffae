// One IMAP4rev1 connection of the lab server (RFC 3501, plus LITERAL+, SASL-IR, IDLE,
// UIDPLUS, UNSELECT, NAMESPACE, ID, SPECIAL-USE). State is named after the RFC:
// 'not-authenticated' | 'authenticated' | 'selected' | 'logout'. Each session keeps its own
// view (sequence number -> UID) of the selected mailbox and reports what other sessions
// (SMTP delivery, POP3 QUIT, another IMAP client) changed as untagged EXISTS/EXPUNGE.
import type tls from 'node:tls'
import { LabConnection, MAX_LINE_BYTES, type LabSocket } from '../conn.ts'
import { FaultInjector, sleep } from '../faults.ts'
import type { Mailbox, MailboxChange, MailStore, StoredMessage } from '../mail-store.ts'
import { fetchSetsSeen, parseFetchItems, renderItem } from './fetch.ts'
import { compileSearch } from './search.ts'
import { frameCommand, ImapSyntaxError, joinParts, mailboxName, parseImapDate, parseSequenceSet, text, Tokenizer, type Token } from './syntax.ts'

export interface ImapContext {
  store: MailStore
  faults: FaultInjector
  secureContext?: tls.SecureContext
}

type ImapState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout'

const MAX_LITERAL_BYTES = 50 * 1024 * 1024
const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft']
const SPECIAL_USE: Record<string, string> = { Sent: '\\Sent', Drafts: '\\Drafts', Trash: '\\Trash', Junk: '\\Junk' }

interface Selected {
  box: Mailbox
  readOnly: boolean
  /** This session's view: index = sequence number - 1. */
  uids: number[]
  /** UIDs that are \Recent for this session (RFC 3501 2.3.2). */
  recent: Set<number>
}

/** A command's result: tagged status plus optional response code and text. */
class Reply {
  constructor(
    readonly status: 'OK' | 'NO' | 'BAD',
    readonly text: string,
  ) {}
}
const ok = (t: string) => new Reply('OK', t)
const no = (t: string) => new Reply('NO', t)
const bad = (t: string) => new Reply('BAD', t)

export class ImapConnection extends LabConnection {
  private state: ImapState = 'not-authenticated'
  private user: string | undefined
  private selected: Selected | undefined
  /** Scan offset of a synchronizing literal we already sent `+` for. */
  private continuedAt = -1
  /** Next input line is a SASL response for this tag. */
  private saslTag: string | undefined
  /** Tag of a running IDLE. */
  private idleTag: string | undefined
  private readonly onChange = (change: MailboxChange) => {
    if (change.user !== this.user || !this.selected || change.mailbox !== this.selected.box.name) return
    // Only an IDLE pushes at once; other commands report changes when they finish.
    if (this.idleTag !== undefined) this.sync(true)
  }

  constructor(socket: LabSocket, private readonly ctx: ImapContext) {
    super(socket, ctx.secureContext)
  }

  start(): void {
    this.greeting = sleep(this.ctx.faults.delayMs()).then(() => this.untagged(`OK [CAPABILITY ${this.capabilities()}] mailtap lab IMAP4rev1 ready`))
  }

  protected override onClose(): void {
    this.ctx.store.off('change', this.onChange)
  }

  private capabilities(): string {
    const caps = ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'IDLE', 'UIDPLUS', 'UNSELECT', 'NAMESPACE', 'ID', 'SPECIAL-USE', 'CHILDREN']
    if (this.state === 'not-authenticated') {
      if (this.canStartTls) caps.push('STARTTLS')
      caps.push('AUTH=PLAIN')
    }
    return caps.join(' ')
  }

  private untagged(line: string | Buffer): void {
    this.write(Buffer.concat([Buffer.from('* '), typeof line === 'string' ? Buffer.from(line, 'utf8') : line, Buffer.from('\r\n')]))
  }

  protected async step(): Promise<boolean> {
    // IDLE and SASL continuations are plain lines, never commands (RFC 2177, RFC 3501 6.2.2).
    if (this.idleTag !== undefined || this.saslTag !== undefined) {
      const lf = this.buffer.indexOf(0x0a)
      if (lf < 0) return false
      const line = this.buffer.subarray(0, lf).toString('utf8').replace(/\r$/, '')
      this.buffer = this.buffer.subarray(lf + 1)
      if (this.idleTag !== undefined) this.endIdle(line)
      else this.finishAuthenticate(this.saslTag!, line)
      return true
    }
    const frame = frameCommand(this.buffer, MAX_LINE_BYTES, MAX_LITERAL_BYTES)
    if (frame.kind === 'too-long') {
      this.untagged('BAD [TOOBIG] Command line or literal too long, closing')
      this.end()
      return false
    }
    if (frame.kind === 'need-more') {
      if (frame.literal && frame.literal.at !== this.continuedAt) {
        this.continuedAt = frame.literal.at
        this.write('+ Ready for literal data\r\n')
      }
      return false
    }
    this.buffer = this.buffer.subarray(frame.end)
    this.continuedAt = -1
    await sleep(this.ctx.faults.delayMs())
    this.execute(frame.bytes)
    return true
  }

  private execute(bytes: Buffer): void {
    const tz = new Tokenizer(bytes)
    let tag = '*'
    try {
      const tagToken = tz.next()
      if (!tagToken || tagToken.kind !== 'atom' || /[+*]/.test(tagToken.value)) {
        return this.untagged('BAD Missing or invalid tag')
      }
      tag = tagToken.value
      let name = text(tz.next(), 'command').toUpperCase()
      let uid = false
      if (name === 'UID') {
        uid = true
        name = text(tz.next(), 'command after UID').toUpperCase()
      }
      const args = tz.all()
      if (this.ctx.faults.fire('drop')) {
        this.untagged('BYE [UNAVAILABLE] Server shutting down, closing connection (lab fault)')
        return this.end()
      }
      const reply = this.dispatch(tag, name, uid, args)
      if (!reply) return // the command answers later (IDLE, AUTHENTICATE, LOGOUT)
      // RFC 3501 7.4.1: no EXPUNGE response during FETCH, STORE or SEARCH (their UID forms may).
      if (this.state === 'selected') this.sync(uid || !['FETCH', 'STORE', 'SEARCH'].includes(name))
      this.write(`${tag} ${reply.status} ${reply.text}\r\n`)
    } catch (err) {
      if (err instanceof ImapSyntaxError) return void this.write(`${tag} BAD ${err.message}\r\n`)
      throw err
    }
  }

  private dispatch(tag: string, name: string, uid: boolean, args: Token[]): Reply | undefined {
    const state = this.state
    if (uid && !['FETCH', 'SEARCH', 'STORE', 'COPY', 'EXPUNGE'].includes(name)) return bad(`UID ${name} is not a UID command`)
    switch (name) {
      case 'CAPABILITY':
        this.untagged(`CAPABILITY ${this.capabilities()}`)
        return ok('CAPABILITY completed')
      case 'NOOP':
      case 'CHECK':
        return ok(`${name} completed`)
      case 'LOGOUT':
        this.untagged('BYE mailtap lab logging out')
        this.write(`${tag} OK LOGOUT completed\r\n`)
        this.state = 'logout'
        this.end()
        return undefined
      case 'ID':
        this.untagged('ID ("name" "mailtap-lab")')
        return ok('ID completed')
    }
    if (state === 'not-authenticated') {
      switch (name) {
        case 'STARTTLS':
          if (!this.canStartTls) return bad(this.secure ? 'Already using TLS' : 'STARTTLS not available (the lab has no certificate)')
          this.write(`${tag} OK Begin TLS negotiation now\r\n`)
          this.startTls()
          return undefined
        case 'LOGIN':
          return this.login(text(args[0], 'user name'), text(args[1], 'password'))
        case 'AUTHENTICATE': {
          const mech = text(args[0], 'mechanism').toUpperCase()
          if (mech !== 'PLAIN') return no('Unsupported authentication mechanism')
          if (args[1] !== undefined) return this.authPlain(text(args[1], 'initial response'))
          this.saslTag = tag
          this.write('+ \r\n')
          return undefined
        }
        default:
          return bad(`${name} not allowed before login (or unknown)`)
      }
    }
    if (['STARTTLS', 'LOGIN', 'AUTHENTICATE'].includes(name)) return bad('Already authenticated')
    switch (name) {
      case 'SELECT':
      case 'EXAMINE':
        return this.select(text(args[0], 'mailbox'), name === 'EXAMINE')
      case 'CREATE': {
        const mbox = text(args[0], 'mailbox').replace(/\/$/, '')
        if (this.ctx.store.mailbox(this.user!, mbox)) return no('[ALREADYEXISTS] Mailbox already exists')
        // RFC 3501 6.3.3: superior hierarchy levels are created as needed.
        const levels = mbox.split('/')
        for (let i = 1; i <= levels.length; i++) this.ctx.store.createMailbox(this.user!, levels.slice(0, i).join('/'))
        return ok('CREATE completed')
      }
      case 'DELETE': {
        const mbox = text(args[0], 'mailbox')
        if (mbox.toUpperCase() === 'INBOX') return no('Cannot delete INBOX')
        if (this.selected?.box.name === mbox) return no('Cannot delete the selected mailbox')
        return this.ctx.store.deleteMailbox(this.user!, mbox) ? ok('DELETE completed') : no('[NONEXISTENT] No such mailbox')
      }
      case 'RENAME': {
        const from = text(args[0], 'mailbox')
        const to = text(args[1], 'new name').replace(/\/$/, '')
        // Renaming INBOX moves its messages (RFC 3501 6.3.5); the lab keeps it simple and refuses.
        if (from.toUpperCase() === 'INBOX') return no('Renaming INBOX is not supported by the lab')
        if (!this.ctx.store.mailbox(this.user!, from)) return no('[NONEXISTENT] No such mailbox')
        if (this.ctx.store.mailbox(this.user!, to)) return no('[ALREADYEXISTS] Mailbox already exists')
        this.ctx.store.renameMailbox(this.user!, from, to)
        return ok('RENAME completed')
      }
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        const box = this.ctx.store.mailbox(this.user!, text(args[0], 'mailbox'))
        if (!box) return no('[NONEXISTENT] No such mailbox')
        box.subscribed = name === 'SUBSCRIBE'
        return ok(`${name} completed`)
      }
      case 'LIST':
      case 'LSUB':
        return this.list(name, text(args[0], 'reference'), text(args[1], 'mailbox pattern'))
      case 'NAMESPACE':
        this.untagged('NAMESPACE (("" "/")) NIL NIL')
        return ok('NAMESPACE completed')
      case 'STATUS':
        return this.status(text(args[0], 'mailbox'), args[1])
      case 'APPEND':
        return this.append(args)
      case 'IDLE':
        this.idleTag = tag
        this.write('+ idling\r\n')
        if (this.selected) this.sync(true)
        return undefined
    }
    if (state !== 'selected' || !this.selected) {
      return ['CLOSE', 'UNSELECT', 'EXPUNGE', 'SEARCH', 'FETCH', 'STORE', 'COPY'].includes(name) ? bad('No mailbox selected') : bad(`Unknown command ${name}`)
    }
    const sel = this.selected
    switch (name) {
      case 'CLOSE':
      case 'UNSELECT':
        // RFC 3501 6.4.2: CLOSE expunges silently (no untagged EXPUNGE) unless read-only.
        if (name === 'CLOSE' && !sel.readOnly) this.ctx.store.expunge(this.user!, sel.box.name, this.deletedUids(sel))
        this.selected = undefined
        this.state = 'authenticated'
        return ok(`${name} completed`)
      case 'EXPUNGE': {
        if (sel.readOnly) return no('Mailbox is read-only')
        let uids = this.deletedUids(sel)
        if (uid) {
          const inSet = parseSequenceSet(text(args[0], 'uid set'), this.maxUid(sel))
          uids = uids.filter(inSet)
        }
        this.ctx.store.expunge(this.user!, sel.box.name, uids)
        return ok('EXPUNGE completed')
      }
      case 'SEARCH':
        return this.search(sel, uid, args)
      case 'FETCH':
        return this.fetch(sel, uid, args)
      case 'STORE':
        return this.storeFlags(sel, uid, args)
      case 'COPY':
        return this.copy(sel, uid, args)
      default:
        return bad(`Unknown command ${name}`)
    }
  }

  private login(login: string, password: string): Reply {
    if (this.ctx.faults.fire('auth')) return no('[AUTHENTICATIONFAILED] Authentication failed (lab fault)')
    const user = this.ctx.store.authenticate(login, password)
    if (!user) return no('[AUTHENTICATIONFAILED] Invalid credentials')
    this.user = user
    this.state = 'authenticated'
    this.ctx.store.on('change', this.onChange)
    return ok(`[CAPABILITY ${this.capabilities()}] LOGIN completed`)
  }

  private authPlain(response: string): Reply {
    if (response === '*') return bad('AUTHENTICATE cancelled')
    // RFC 4616: authzid NUL authcid NUL passwd; RFC 4959: "=" is an empty initial response.
    const parts = Buffer.from(response === '=' ? '' : response, 'base64').toString('utf8').split('\0')
    if (parts.length !== 3) return no('[AUTHENTICATIONFAILED] Malformed PLAIN response')
    const reply = this.login(parts[1], parts[2])
    return reply.status === 'OK' ? ok(`[CAPABILITY ${this.capabilities()}] AUTHENTICATE completed`) : reply
  }

  private finishAuthenticate(tag: string, line: string): void {
    this.saslTag = undefined
    const reply = this.authPlain(line.trim())
    this.write(`${tag} ${reply.status} ${reply.text}\r\n`)
  }

  private endIdle(line: string): void {
    const tag = this.idleTag!
    this.idleTag = undefined
    if (line.trim().toUpperCase() !== 'DONE') return void this.write(`${tag} BAD Expected DONE\r\n`)
    if (this.selected) this.sync(true)
    this.write(`${tag} OK IDLE terminated\r\n`)
  }

  private flagsOf(sel: Selected, m: StoredMessage): string[] {
    const flags = [...m.flags]
    if (sel.recent.has(m.uid)) flags.push('\\Recent')
    return flags
  }

  private deletedUids(sel: Selected): number[] {
    return sel.box.messages.filter((m) => m.flags.has('\\Deleted')).map((m) => m.uid)
  }

  private maxUid(sel: Selected): number {
    return sel.uids.length > 0 ? sel.uids[sel.uids.length - 1] : 0
  }

  /** Messages of this session's view, with their sequence numbers. */
  private view(sel: Selected): { seq: number; m: StoredMessage }[] {
    const byUid = new Map(sel.box.messages.map((m) => [m.uid, m]))
    const out: { seq: number; m: StoredMessage }[] = []
    sel.uids.forEach((u, i) => {
      const m = byUid.get(u)
      if (m) out.push({ seq: i + 1, m })
    })
    return out
  }

  /**
   * Brings this session's view up to date: expunged messages (only where RFC 3501 7.4.1
   * allows an EXPUNGE response) and new ones (EXISTS, RECENT).
   */
  private sync(allowExpunge: boolean): void {
    const sel = this.selected
    if (!sel) return
    // The mailbox may have been deleted and recreated under us; treat it as the current one.
    const box = this.ctx.store.mailbox(this.user!, sel.box.name)
    if (box && box !== sel.box) sel.box = box
    const present = new Set(sel.box.messages.map((m) => m.uid))
    if (allowExpunge) {
      for (let i = sel.uids.length - 1; i >= 0; i--) {
        if (!present.has(sel.uids[i])) {
          sel.recent.delete(sel.uids[i])
          sel.uids.splice(i, 1)
          this.untagged(`${i + 1} EXPUNGE`)
        }
      }
    }
    const max = Math.max(0, ...sel.uids)
    const added = sel.box.messages.filter((m) => m.uid > max)
    if (added.length > 0) {
      for (const m of added) {
        sel.uids.push(m.uid)
        if (m.recent && !sel.readOnly) {
          m.recent = false
          sel.recent.add(m.uid)
        }
      }
      this.untagged(`${sel.uids.length} EXISTS`)
      this.untagged(`${sel.recent.size} RECENT`)
    }
  }

  private select(name: string, readOnly: boolean): Reply {
    // RFC 3501 6.3.1: a SELECT, even a failing one, first deselects the current mailbox.
    this.selected = undefined
    this.state = 'authenticated'
    const box = this.ctx.store.mailbox(this.user!, name)
    if (!box) return no('[NONEXISTENT] Mailbox does not exist')
    const recent = new Set<number>()
    for (const m of box.messages) {
      if (!m.recent) continue
      recent.add(m.uid)
      if (!readOnly) m.recent = false
    }
    const sel: Selected = { box, readOnly, uids: box.messages.map((m) => m.uid), recent }
    this.selected = sel
    this.state = 'selected'
    this.untagged(`FLAGS (${SYSTEM_FLAGS.join(' ')})`)
    this.untagged(`OK [PERMANENTFLAGS (${readOnly ? '' : SYSTEM_FLAGS.join(' ') + ' \\*'})] Flags permitted`)
    this.untagged(`${box.messages.length} EXISTS`)
    this.untagged(`${recent.size} RECENT`)
    const firstUnseen = box.messages.findIndex((m) => !m.flags.has('\\Seen'))
    if (firstUnseen >= 0) this.untagged(`OK [UNSEEN ${firstUnseen + 1}] First unseen`)
    this.untagged(`OK [UIDVALIDITY ${box.uidValidity}] UIDs valid`)
    this.untagged(`OK [UIDNEXT ${box.uidNext}] Predicted next UID`)
    return ok(`[${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${readOnly ? 'EXAMINE' : 'SELECT'} completed`)
  }

  private list(command: 'LIST' | 'LSUB', reference: string, pattern: string): Reply {
    if (pattern === '') {
      // RFC 3501 6.3.8: an empty pattern asks for the hierarchy delimiter.
      this.untagged(`${command} (\\Noselect) "/" ""`)
      return ok(`${command} completed`)
    }
    const full = reference + pattern
    const re = new RegExp(
      '^' +
        full
          .split('')
          .map((c) => (c === '*' ? '.*' : c === '%' ? '[^/]*' : c.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
          .join('') +
        '$',
      /^inbox$/i.test(full) ? 'i' : '',
    )
    const boxes = this.ctx.store.mailboxes(this.user!)
    for (const box of boxes) {
      if (!re.test(box.name)) continue
      if (command === 'LSUB' && !box.subscribed) continue
      const children = boxes.some((b) => b.name.startsWith(box.name + '/'))
      const attrs = [children ? '\\HasChildren' : '\\HasNoChildren']
      if (SPECIAL_USE[box.name]) attrs.push(SPECIAL_USE[box.name])
      this.untagged(joinParts([`${command} (${attrs.join(' ')}) "/"`, mailboxName(box.name)]))
    }
    return ok(`${command} completed`)
  }

  private status(name: string, itemsToken: Token | undefined): Reply {
    const box = this.ctx.store.mailbox(this.user!, name)
    if (!box) return no('[NONEXISTENT] Mailbox does not exist')
    if (!itemsToken || itemsToken.kind !== 'list') throw new ImapSyntaxError('STATUS needs a list of items')
    const out: string[] = []
    for (const t of itemsToken.items) {
      const item = text(t, 'status item').toUpperCase()
      const value =
        item === 'MESSAGES' ? box.messages.length
        : item === 'RECENT' ? box.messages.filter((m) => m.recent || this.selected?.recent.has(m.uid)).length
        : item === 'UIDNEXT' ? box.uidNext
        : item === 'UIDVALIDITY' ? box.uidValidity
        : item === 'UNSEEN' ? box.messages.filter((m) => !m.flags.has('\\Seen')).length
        : undefined
      if (value === undefined) throw new ImapSyntaxError(`unknown STATUS item ${item}`)
      out.push(`${item} ${value}`)
    }
    this.untagged(joinParts(['STATUS', mailboxName(box.name), `(${out.join(' ')})`]))
    return ok('STATUS completed')
  }

  private append(args: Token[]): Reply {
    const name = text(args[0], 'mailbox')
    let i = 1
    let flags: string[] = []
    let date: number | undefined
    if (args[i]?.kind === 'list') flags = (args[i++] as Extract<Token, { kind: 'list' }>).items.map((t) => text(t, 'flag'))
    const maybeDate = args[i]
    if (maybeDate?.kind === 'string' && args[i + 1] !== undefined) {
      date = parseImapDate(maybeDate.value.toString('latin1'))
      if (date === undefined) throw new ImapSyntaxError('bad APPEND date-time')
      i++
    }
    const message = args[i]
    if (!message || message.kind !== 'string') throw new ImapSyntaxError('APPEND needs a message literal')
    if (this.ctx.faults.fire('imap-overquota')) return no('[OVERQUOTA] Quota exceeded (lab fault)')
    const box = this.ctx.store.mailbox(this.user!, name)
    if (!box) return no('[TRYCREATE] Mailbox does not exist')
    const stored = this.ctx.store.deliver(this.user!, Buffer.from(message.value), {
      mailbox: box.name,
      flags: flags.filter((f) => f.toLowerCase() !== '\\recent'),
      internalDate: date,
    })
    return ok(`[APPENDUID ${box.uidValidity} ${stored.uid}] APPEND completed`)
  }

  /** Messages a sequence set (or UID set) names, in sequence order. */
  private resolve(sel: Selected, uid: boolean, spec: string): { seq: number; m: StoredMessage }[] {
    const view = this.view(sel)
    if (uid) {
      const inSet = parseSequenceSet(spec, this.maxUid(sel))
      return view.filter(({ m }) => inSet(m.uid))
    }
    const inSet = parseSequenceSet(spec, sel.uids.length)
    // RFC 3501 6.4.8 says a bad sequence number is an error; most servers only ignore it.
    return view.filter(({ seq }) => inSet(seq))
  }

  private search(sel: Selected, uid: boolean, args: Token[]): Reply {
    const view = this.view(sel)
    const pred = compileSearch(args, { count: sel.uids.length, maxUid: this.maxUid(sel) })
    const hits = view.filter(({ seq, m }) => pred({ seq, m, flags: this.flagsOf(sel, m) })).map(({ seq, m }) => (uid ? m.uid : seq))
    this.untagged(['SEARCH', ...hits].join(' '))
    return ok(`${uid ? 'UID ' : ''}SEARCH completed`)
  }

  private fetch(sel: Selected, uid: boolean, args: Token[]): Reply {
    const spec = text(args[0], 'sequence set')
    const items = parseFetchItems(args.slice(1))
    if (uid && !items.some((i) => i.kind === 'UID')) items.unshift({ kind: 'UID' })
    const setsSeen = fetchSetsSeen(items) && !sel.readOnly
    let changed = false
    for (const { seq, m } of this.resolve(sel, uid, spec)) {
      let flagsItem = items.some((i) => i.kind === 'FLAGS')
      if (setsSeen && !m.flags.has('\\Seen')) {
        m.flags.add('\\Seen')
        changed = true
        flagsItem = true // RFC 3501 6.4.5: the FETCH response then includes the new FLAGS
      }
      const flags = this.flagsOf(sel, m)
      const rendered = items.filter((i) => i.kind !== 'FLAGS').map((i) => renderItem(i, m, flags))
      if (flagsItem) rendered.push(renderItem({ kind: 'FLAGS' }, m, flags))
      this.write(Buffer.concat([Buffer.from(`* ${seq} FETCH (`), joinParts(rendered), Buffer.from(')\r\n')]))
    }
    if (changed) this.ctx.store.touchFlags(this.user!, sel.box.name)
    return ok(`${uid ? 'UID ' : ''}FETCH completed`)
  }

  private storeFlags(sel: Selected, uid: boolean, args: Token[]): Reply {
    if (sel.readOnly) return no('Mailbox is read-only')
    const spec = text(args[0], 'sequence set')
    const op = text(args[1], 'store operation').toUpperCase()
    const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(op)
    if (!m) throw new ImapSyntaxError(`bad STORE operation ${op}`)
    const flagTokens = args.slice(2).flatMap((t) => (t.kind === 'list' ? t.items : [t]))
    // \Recent is session state and cannot be stored (RFC 3501 2.3.2).
    const flags = flagTokens.map((t) => text(t, 'flag')).filter((f) => f.toLowerCase() !== '\\recent')
    const canonical = (f: string) => SYSTEM_FLAGS.find((s) => s.toLowerCase() === f.toLowerCase()) ?? f
    for (const { seq, m: msg } of this.resolve(sel, uid, spec)) {
      if (m[1] === '') msg.flags = new Set(flags.map(canonical))
      else if (m[1] === '+') for (const f of flags) msg.flags.add(canonical(f))
      else for (const f of flags) msg.flags.delete(canonical(f))
      if (!m[2]) {
        const parts = [`FLAGS (${this.flagsOf(sel, msg).join(' ')})`]
        if (uid) parts.unshift(`UID ${msg.uid}`)
        this.untagged(`${seq} FETCH (${parts.join(' ')})`)
      }
    }
    this.ctx.store.touchFlags(this.user!, sel.box.name)
    return ok(`${uid ? 'UID ' : ''}STORE completed`)
  }

  private copy(sel: Selected, uid: boolean, args: Token[]): Reply {
    const spec = text(args[0], 'sequence set')
    const dest = this.ctx.store.mailbox(this.user!, text(args[1], 'mailbox'))
    if (this.ctx.faults.fire('imap-overquota')) return no('[OVERQUOTA] Quota exceeded (lab fault)')
    if (!dest) return no('[TRYCREATE] Mailbox does not exist')
    const from: number[] = []
    const to: number[] = []
    for (const { m } of this.resolve(sel, uid, spec)) {
      const copy = this.ctx.store.deliver(this.user!, m.raw, { mailbox: dest.name, flags: m.flags, internalDate: m.internalDate })
      from.push(m.uid)
      to.push(copy.uid)
    }
    if (from.length === 0) return ok('COPY completed (nothing to copy)')
    return ok(`[COPYUID ${dest.uidValidity} ${from.join(',')} ${to.join(',')}] ${uid ? 'UID ' : ''}COPY completed`)
  }
}

