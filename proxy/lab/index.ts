// Lab mode: an embedded SMTP + POP3 + IMAP mail server on loopback, for first runs and
// lessons (not for production). main.ts starts it, puts proxy routes in front of it and
// prints banner(). Everything here talks only to the shared MailStore.
import net from 'node:net'
import path from 'node:path'
import tls from 'node:tls'
import type { SMTPServer } from 'smtp-server'
import { listen, type LabListener } from './conn.ts'
import { FaultInjector, type FaultSpec } from './faults.ts'
import { ImapConnection } from './imap/session.ts'
import { MailStore, type LabUser } from './mail-store.ts'
import { Pop3Connection } from './pop3.ts'
import { createLabSmtpServer } from './smtp.ts'

export { banner, describeFaults, labExamples, type LabExamples } from './banner.ts'
export { LAB_FAULTS_HELP, parseFaults, type FaultSpec, type FaultRule, type FaultTrigger } from './faults.ts'
export { MailStore, type LabUser, type Mailbox, type StoredMessage } from './mail-store.ts'

export const DEFAULT_LAB_USERS: readonly LabUser[] = [
  { name: 'alice', password: 'alicepw' },
  { name: 'bob', password: 'bobpw' },
  // The user's seed notes (/work/shared/seed) log in with these, typed exactly as written:
  // POP3 `USER pepe` / `PASS LaContrasenia`, IMAP `login "usuario" "contraseña"` (UTF-8 ñ),
  // and the SMTP example mails pepe@pepito.es -> usuario@servidor.es.
  { name: 'pepe', password: 'LaContrasenia', aliases: ['pepe@pepito.es'] },
  { name: 'usuario', password: 'contraseña', aliases: ['usuario@servidor.es'] },
]
/** The default users that come from the seed notes; the banner shows them apart. */
export const SEED_LAB_USERS: readonly string[] = ['pepe', 'usuario']
export const DEFAULT_LAB_DOMAIN = 'mail.test'
/** Where main.ts is expected to put the proxy routes in front of the lab. */
export const LAB_PROXY_PORTS: Readonly<LabPorts> = { smtp: 2525, pop3: 1110, imap: 1143, smtps: 2465, pop3s: 1995, imaps: 1993 }
/** Quiet period before mailbox changes are written to the data dir. */
export const LAB_AUTOSAVE_MS = 1000

export interface LabPorts {
  smtp: number
  pop3: number
  imap: number
  smtps?: number
  pop3s?: number
  imaps?: number
}

export interface LabOptions {
  /** Mailboxes are loaded from and saved to `<dataDir>/lab/mailboxes.json`; none: memory only. */
  dataDir?: string
  users?: LabUser[]
  domain?: string
  /** PEM key and certificate: enables STARTTLS/STLS and the implicit-TLS listeners. */
  tls?: { key: string; cert: string }
  faults?: FaultSpec
  /** Random source for faults (tests pass a seeded one); default: the spec's seed or Math.random. */
  random?: () => number
  /** Bind address; default 127.0.0.1. */
  host?: string
  /** Ports to listen on; 0 or absent: an ephemeral port. */
  ports?: Partial<LabPorts>
  /** Seed new users' INBOX with sample messages (default true). */
  seed?: boolean
  /** With dataDir: save this long after the last change (default LAB_AUTOSAVE_MS). */
  autosaveMs?: number
}

export interface Lab {
  ports: LabPorts
  host: string
  users: LabUser[]
  domain: string
  mailboxes: MailStore
  /** Whether STARTTLS/STLS and the implicit-TLS ports are on. */
  tls: boolean
  faults?: FaultSpec
  /** Writes the mailboxes to the data dir (no-op without one). */
  save(): Promise<void>
  /** Closes every listener and connection, then saves. */
  stop(): Promise<void>
}

export function labMailboxFile(dataDir: string): string {
  return path.join(dataDir, 'lab', 'mailboxes.json')
}

async function listenSmtp(server: SMTPServer, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject)
    server.listen(port, host, () => {
      server.server.off('error', reject)
      resolve()
    })
  })
  return (server.server.address() as net.AddressInfo).port
}

/** Refuses configurations the lab's protocols could not express, with one clear line. */
function checkUsers(users: LabUser[], domain: string): void {
  if (users.length === 0) throw new Error('lab: at least one user is needed')
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)) throw new Error(`lab: "${domain}" is not a domain name`)
  const seen = new Set<string>()
  for (const u of users) {
    // Used bare in USER, LOGIN and mail addresses: keep to an atom-safe local part.
    if (!/^[A-Za-z0-9._+-]+$/.test(u.name ?? '')) throw new Error(`lab: user name "${u.name}" may only use letters, digits and . _ + -`)
    if (typeof u.password !== 'string' || u.password === '' || /[\r\n\0]/.test(u.password)) throw new Error(`lab: user "${u.name}" needs a one-line, non-empty password`)
    if (seen.has(u.name.toLowerCase())) throw new Error(`lab: user "${u.name}" is listed twice`)
    seen.add(u.name.toLowerCase())
    for (const a of u.aliases ?? []) {
      if (!/^[^\s@"<>]+@[^\s@"<>]+$/.test(a)) throw new Error(`lab: alias "${a}" of user "${u.name}" is not a mail address`)
      if (seen.has(a.toLowerCase())) throw new Error(`lab: alias "${a}" is listed twice`)
      seen.add(a.toLowerCase())
    }
  }
}

export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  const host = opts.host ?? '127.0.0.1'
  const domain = (opts.domain ?? DEFAULT_LAB_DOMAIN).toLowerCase()
  const users = (opts.users ?? DEFAULT_LAB_USERS).map((u) => ({ ...u, aliases: u.aliases && [...u.aliases] }))
  checkUsers(users, domain)
  const store = new MailStore(users, domain)
  const file = opts.dataDir ? labMailboxFile(opts.dataDir) : undefined
  if (file) await store.load(file)
  store.ensureDefaults(opts.seed !== false)

  const faults = new FaultInjector(opts.faults, opts.random)
  const secureContext = opts.tls ? tls.createSecureContext({ key: opts.tls.key, cert: opts.tls.cert }) : undefined
  const smtpServers: SMTPServer[] = []
  const listeners: LabListener[] = []
  const want = opts.ports ?? {}
  const ports: Partial<LabPorts> = {}

  try {
    const smtp = createLabSmtpServer({ store, faults, tls: opts.tls })
    smtpServers.push(smtp)
    ports.smtp = await listenSmtp(smtp, host, want.smtp ?? 0)
    const pop3Ctx = { store, faults, secureContext, locks: new Set<string>() }
    const imapCtx = { store, faults, secureContext }
    let l = await listen(host, want.pop3 ?? 0, opts.tls, false, (s) => new Pop3Connection(s, pop3Ctx))
    listeners.push(l)
    ports.pop3 = l.port
    l = await listen(host, want.imap ?? 0, opts.tls, false, (s) => new ImapConnection(s, imapCtx))
    listeners.push(l)
    ports.imap = l.port
    if (opts.tls) {
      const smtps = createLabSmtpServer({ store, faults, tls: opts.tls, secure: true })
      smtpServers.push(smtps)
      ports.smtps = await listenSmtp(smtps, host, want.smtps ?? 0)
      l = await listen(host, want.pop3s ?? 0, opts.tls, true, (s) => new Pop3Connection(s, pop3Ctx))
      listeners.push(l)
      ports.pop3s = l.port
      l = await listen(host, want.imaps ?? 0, opts.tls, true, (s) => new ImapConnection(s, imapCtx))
      listeners.push(l)
      ports.imaps = l.port
    }
  } catch (err) {
    await Promise.all([...smtpServers.map((s) => new Promise<void>((r) => s.close(() => r()))), ...listeners.map((x) => x.close())])
    throw err
  }

  let stopped = false
  // Saves run one after another (they share a temp file); a change schedules one after a
  // short quiet period, so a crash loses at most that much mail.
  let saving: Promise<void> = Promise.resolve()
  const save = () => {
    if (!file) return Promise.resolve()
    saving = saving.then(() => store.save(file)).catch((err) => console.error(`mailtap lab: could not save ${file}: ${(err as Error).message}`))
    return saving
  }
  let autosave: NodeJS.Timeout | undefined
  if (file) {
    store.on('change', () => {
      if (autosave || stopped) return
      autosave = setTimeout(() => {
        autosave = undefined
        void save()
      }, opts.autosaveMs ?? LAB_AUTOSAVE_MS)
      autosave.unref()
    })
  }
  return {
    ports: ports as LabPorts,
    host,
    users,
    domain,
    mailboxes: store,
    tls: Boolean(opts.tls),
    faults: opts.faults,
    save,
    async stop() {
      if (stopped) return
      stopped = true
      clearTimeout(autosave)
      await Promise.all([
        ...smtpServers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve())
            }),
        ),
        ...listeners.map((x) => x.close()),
      ])
      await save()
    },
  }
}
