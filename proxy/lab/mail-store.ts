// The lab's mailboxes, shared by its SMTP, POP3 and IMAP servers: users, folders, messages
// with stable UIDs and flags. In memory; save() writes one JSON file under the data dir and
// the next start loads it. Emits 'change' so IMAP sessions (IDLE, NOOP) see new mail.
import { EventEmitter } from 'node:events'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { seedMessages } from './seed-messages.ts'

export interface LabUser {
  name: string
  password: string
  /** Extra full addresses that deliver to (and log in as) this user, e.g. the seed's `usuario@servidor.es`. */
  aliases?: string[]
}

export interface StoredMessage {
  uid: number
  raw: Buffer
  flags: Set<string>
  /** Epoch ms, IMAP INTERNALDATE. */
  internalDate: number
  /** RFC 3501 2.3.2: \Recent belongs to the first session that selects the mailbox after delivery. */
  recent: boolean
}

export interface Mailbox {
  name: string
  uidValidity: number
  uidNext: number
  messages: StoredMessage[]
  subscribed: boolean
}

export interface MailboxChange {
  user: string
  mailbox: string
  kind: 'added' | 'expunged' | 'flags'
}

const FILE_FORMAT_VERSION = 1

interface SavedFile {
  formatVersion: number
  users: Record<string, { mailboxes: { name: string; uidValidity: number; uidNext: number; subscribed: boolean; messages: { uid: number; flags: string[]; internalDate: number; raw: string }[] }[] }>
}

export class MailStore extends EventEmitter<{ change: [MailboxChange] }> {
  readonly domain: string
  private readonly users: LabUser[]
  private readonly boxes = new Map<string, Map<string, Mailbox>>()
  private uidValiditySeq = Math.floor(Date.now() / 1000)

  constructor(users: LabUser[], domain: string) {
    super()
    this.setMaxListeners(0)
    this.users = users
    this.domain = domain.toLowerCase()
    for (const user of users) this.boxes.set(user.name, new Map())
  }

  listUsers(): LabUser[] {
    return this.users.map((u) => ({ ...u, aliases: u.aliases && [...u.aliases] }))
  }

  /** `alice` or `alice@mail.test` to the user name, if it exists. */
  findUser(login: string): string | undefined {
    const lower = login.toLowerCase()
    const alias = this.users.find((u) => u.aliases?.some((a) => a.toLowerCase() === lower))
    if (alias) return alias.name
    const at = lower.lastIndexOf('@')
    const local = at < 0 ? lower : lower.slice(0, at)
    if (at >= 0 && lower.slice(at + 1) !== this.domain) return undefined
    return this.users.find((u) => u.name.toLowerCase() === local)?.name
  }

  /** The user name when login and password match, else undefined. */
  authenticate(login: string, password: string): string | undefined {
    const name = this.findUser(login)
    const user = this.users.find((u) => u.name === name)
    return user && user.password === password ? user.name : undefined
  }

  mailboxes(user: string): Mailbox[] {
    return [...(this.boxes.get(user)?.values() ?? [])]
  }

  /** Mailbox names are case-sensitive except INBOX (RFC 3501 5.1). */
  mailbox(user: string, name: string): Mailbox | undefined {
    const key = name.toUpperCase() === 'INBOX' ? 'INBOX' : name
    return this.boxes.get(user)?.get(key)
  }

  createMailbox(user: string, name: string): Mailbox {
    const key = name.toUpperCase() === 'INBOX' ? 'INBOX' : name
    const boxes = this.boxes.get(user)
    if (!boxes) throw new Error(`no lab user ${user}`)
    let box = boxes.get(key)
    if (!box) {
      box = { name: key, uidValidity: this.uidValiditySeq++, uidNext: 1, messages: [], subscribed: true }
      boxes.set(key, box)
    }
    return box
  }

  deleteMailbox(user: string, name: string): boolean {
    if (name.toUpperCase() === 'INBOX') return false
    return this.boxes.get(user)?.delete(name) ?? false
  }

  /** Renames a mailbox and its children (`a` -> `b` also moves `a/x` to `b/x`). */
  renameMailbox(user: string, from: string, to: string): void {
    const boxes = this.boxes.get(user)
    if (!boxes) return
    for (const [name, box] of [...boxes]) {
      if (name !== from && !name.startsWith(from + '/')) continue
      boxes.delete(name)
      box.name = to + name.slice(from.length)
      boxes.set(box.name, box)
    }
    this.emit('change', { user, mailbox: to, kind: 'added' })
  }

  /** Adds a message to a user's mailbox (INBOX by default) and announces it. */
  deliver(user: string, raw: Buffer, opts: { mailbox?: string; flags?: Iterable<string>; internalDate?: number } = {}): StoredMessage {
    const box = this.mailbox(user, opts.mailbox ?? 'INBOX') ?? this.createMailbox(user, opts.mailbox ?? 'INBOX')
    const message: StoredMessage = {
      uid: box.uidNext++,
      raw,
      flags: new Set(opts.flags ?? []),
      internalDate: opts.internalDate ?? Date.now(),
      recent: true,
    }
    box.messages.push(message)
    this.emit('change', { user, mailbox: box.name, kind: 'added' })
    return message
  }

  /** Removes messages by UID; returns the UIDs removed. */
  expunge(user: string, mailbox: string, uids: Iterable<number>): number[] {
    const box = this.mailbox(user, mailbox)
    if (!box) return []
    const wanted = new Set(uids)
    const removed = box.messages.filter((m) => wanted.has(m.uid)).map((m) => m.uid)
    if (removed.length === 0) return []
    box.messages = box.messages.filter((m) => !wanted.has(m.uid))
    this.emit('change', { user, mailbox: box.name, kind: 'expunged' })
    return removed
  }

  /** Tells other sessions that flags changed (they may report them on their next command). */
  touchFlags(user: string, mailbox: string): void {
    this.emit('change', { user, mailbox, kind: 'flags' })
  }

  /** Gives every user an INBOX (seeded when new), Sent, Drafts and Trash. */
  ensureDefaults(seed: boolean): void {
    for (const user of this.users) {
      const isNew = !this.mailbox(user.name, 'INBOX')
      const inbox = this.createMailbox(user.name, 'INBOX')
      for (const name of ['Sent', 'Drafts', 'Trash']) this.createMailbox(user.name, name)
      if (isNew && seed) {
        for (const m of seedMessages(user.name, this.domain)) {
          this.deliver(user.name, m.raw, { mailbox: inbox.name, flags: m.flags, internalDate: m.internalDate })
        }
      }
    }
  }

  async save(file: string): Promise<void> {
    const out: SavedFile = { formatVersion: FILE_FORMAT_VERSION, users: {} }
    for (const [user, boxes] of this.boxes) {
      out.users[user] = {
        mailboxes: [...boxes.values()].map((b) => ({
          name: b.name,
          uidValidity: b.uidValidity,
          uidNext: b.uidNext,
          subscribed: b.subscribed,
          messages: b.messages.map((m) => ({ uid: m.uid, flags: [...m.flags], internalDate: m.internalDate, raw: m.raw.toString('base64') })),
        })),
      }
    }
    await mkdir(path.dirname(file), { recursive: true })
    // Write then rename, so a crash mid-save never leaves half a file.
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(out))
    await rename(tmp, file)
  }

  /** Loads a saved file; false when there is none. Users not configured any more are skipped. */
  async load(file: string): Promise<boolean> {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
    const saved = JSON.parse(text) as SavedFile
    if (saved.formatVersion !== FILE_FORMAT_VERSION) throw new Error(`${file}: unknown lab mailbox format ${saved.formatVersion}`)
    for (const [user, data] of Object.entries(saved.users)) {
      const boxes = this.boxes.get(user)
      if (!boxes) continue
      for (const b of data.mailboxes) {
        boxes.set(b.name, {
          name: b.name,
          uidValidity: b.uidValidity,
          uidNext: b.uidNext,
          subscribed: b.subscribed,
          messages: b.messages.map((m) => ({ uid: m.uid, flags: new Set(m.flags), internalDate: m.internalDate, raw: Buffer.from(m.raw, 'base64'), recent: false })),
        })
      }
    }
    return true
  }
}
