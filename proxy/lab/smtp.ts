// The lab's SMTP side: nodemailer's smtp-server with AUTH PLAIN/LOGIN, STARTTLS (when the
// lab has a certificate), SIZE and PIPELINING, delivering into the shared MailStore.
// Unauthenticated clients may only send to lab users (like an MX); authenticated ones may
// send anywhere, and mail to unknown addresses lands in the sender's own INBOX (a
// catch-all), so lessons can use any address, e.g. the seed's usuario@servidor.es.
import { randomBytes } from 'node:crypto'
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server'
import { FaultInjector, sleep, type FaultRule } from './faults.ts'
import type { MailStore } from './mail-store.ts'
import { applySmtpLeniency, LAB_SMTP_MARK } from './smtp-lenient.ts'

export const LAB_SMTP_MAX_BYTES = 25 * 1024 * 1024

export interface LabSmtpOptions {
  store: MailStore
  faults: FaultInjector
  tls?: { key: string; cert: string }
  /** Implicit TLS (smtps) instead of plain + STARTTLS. */
  secure?: boolean
}

/** Enhanced status code and text per fault reply code (RFC 3463). */
const FAULT_TEXT: Record<number, string> = {
  421: '4.7.0 Service shutting down, closing connection (lab fault)',
  450: '4.2.1 Mailbox temporarily unavailable (lab fault)',
  451: '4.3.0 Local error in processing, try again later (lab fault)',
  452: '4.5.3 Too many recipients (lab fault)',
  535: '5.7.8 Authentication credentials invalid (lab fault)',
  550: '5.1.1 Mailbox unavailable (lab fault)',
  552: '5.2.2 Mailbox full (lab fault)',
  553: '5.1.3 Mailbox name not allowed (lab fault)',
  554: '5.6.0 Transaction failed (lab fault)',
}

function faultError(code: number): Error & { responseCode: number } {
  const text = FAULT_TEXT[code] ?? `${code >= 500 ? '5' : '4'}.0.0 Failed (lab fault)`
  return Object.assign(new Error(text), { responseCode: code })
}

function smtpError(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code })
}

interface LabEnvelope {
  /** Lab users to deliver to, resolved at RCPT time. */
  deliverTo: Set<string>
}

export function createLabSmtpServer(opts: LabSmtpOptions): SMTPServer {
  applySmtpLeniency()
  const { store, faults } = opts
  const envelopes = new WeakMap<SMTPServerSession, LabEnvelope>()
  const envelopeOf = (session: SMTPServerSession) => {
    let env = envelopes.get(session)
    if (!env) envelopes.set(session, (env = { deliverTo: new Set() }))
    return env
  }
  /** A fired fault as an error, checking `drop` first: it wins over everything. */
  const fault = (trigger: 'mail' | 'rcpt' | 'data'): (Error & { responseCode: number }) | undefined => {
    if (faults.fire('drop')) return faultError(421)
    const rule: FaultRule | undefined = faults.fire(trigger)
    return rule ? faultError(faults.code(rule)) : undefined
  }

  const options: SMTPServerOptions & Record<string, unknown> = {
    [LAB_SMTP_MARK]: true,
    name: store.domain,
    // smtp-server prefixes `<name> ESMTP`.
    banner: 'mailtap lab ready',
    secure: opts.secure === true,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: true,
    // A lab for lessons: AUTH over plaintext is allowed so it can be watched on the wire.
    allowInsecureAuth: true,
    size: LAB_SMTP_MAX_BYTES,
    disableReverseLookup: true,
    logger: false,
    // stop() sends open sessions a 421 after this long; a lab has no mail worth waiting for.
    closeTimeout: 100,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : { disabledCommands: ['STARTTLS'], hideSTARTTLS: true }),

    onConnect(_session, callback) {
      void sleep(faults.delayMs()).then(() => {
        const rule = faults.fire('connect')
        callback(rule ? faultError(faults.code(rule)) : null)
      })
    },

    onAuth(auth, _session, callback) {
      void sleep(faults.delayMs()).then(() => {
        if (faults.fire('drop')) return callback(faultError(421))
        if (faults.fire('auth')) return callback(faultError(535))
        const user = store.authenticate(auth.username ?? '', auth.password ?? '')
        if (!user) return callback(smtpError(535, '5.7.8 Authentication credentials invalid'))
        callback(null, { user })
      })
    },

    onMailFrom(_address, session, callback) {
      void sleep(faults.delayMs()).then(() => {
        envelopeOf(session).deliverTo.clear()
        callback(fault('mail') ?? null)
      })
    },

    onRcptTo(address, session, callback) {
      void sleep(faults.delayMs()).then(() => {
        const err = fault('rcpt')
        if (err) return callback(err)
        const local = store.findUser(address.address)
        const authUser = typeof session.user === 'string' ? session.user : undefined
        if (local) {
          envelopeOf(session).deliverTo.add(local)
          return callback()
        }
        if (!authUser) {
          const ours = address.address.toLowerCase().endsWith(`@${store.domain}`)
          return callback(ours ? smtpError(550, '5.1.1 No such user here') : smtpError(554, '5.7.1 Relay access denied: log in to send outside the lab'))
        }
        // Catch-all: the lab never relays; outside mail from a logged-in user comes home.
        envelopeOf(session).deliverTo.add(authUser)
        callback()
      })
    },

    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        void sleep(faults.delayMs()).then(() => {
          if (stream.sizeExceeded) return callback(smtpError(552, '5.3.4 Message too big for the lab'))
          const err = fault('data')
          if (err) return callback(err)
          const id = randomBytes(5).toString('hex').toUpperCase()
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : ''
          const received =
            `Return-Path: <${from}>\r\n` +
            `Received: from ${session.hostNameAppearsAs || 'unknown'} (${session.remoteAddress})\r\n` +
            `\tby ${store.domain} (mailtap lab) with ${session.secure ? 'ESMTPS' : 'ESMTP'}${session.user ? 'A' : ''} id ${id};\r\n` +
            `\t${new Date().toUTCString().replace('GMT', '+0000')}\r\n`
          const raw = Buffer.concat([Buffer.from(received, 'latin1'), ...chunks])
          for (const user of envelopeOf(session).deliverTo) store.deliver(user, raw)
          envelopeOf(session).deliverTo.clear()
          callback(null, `OK: queued as ${id}`)
        })
      })
    },
  }
  return new SMTPServer(options)
}
