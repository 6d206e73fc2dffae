// Two small allowances smtp-server does not offer as options, applied only to the lab's
// servers (marked with LAB_SMTP_MARK in their options); any other SMTPServer is untouched.
// - `MAIL FROM: pepe@pepito.es` without angle brackets, as the user's seed notes write it
//   (RFC 5321 wants `<...>`, but many hand-typed lessons and old clients omit them).
// - A reply text that already starts with an enhanced status code (`4.5.3 Too many
//   recipients`) keeps it instead of getting the library's default one prefixed, so lab
//   faults read like the real thing (RFC 3463 codes chosen per fault, not per reply code).
// test/lab/smtp.test.ts covers both, so a library change that breaks them fails loudly.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js'

export const LAB_SMTP_MARK = 'mailtapLab'

interface PatchableConnection {
  _server: { options: Record<string, unknown> }
  _parseAddressCommand(name: string, command: string): unknown
  send(code: number, data?: string | string[], context?: string | false): void
}

const PATCHED = Symbol.for('mailtap.lab.smtp-lenient')

/** Adds angle brackets around a bare address in `MAIL FROM:` / `RCPT TO:`. */
export function bracketAddress(command: string): string {
  const m = /^(\s*(?:MAIL\s+FROM|RCPT\s+TO)\s*:\s*)([^<\s][^\s]*)(.*)$/is.exec(command)
  return m ? `${m[1]}<${m[2]}>${m[3]}` : command
}

export function applySmtpLeniency(): void {
  const proto = SMTPConnection.prototype as unknown as PatchableConnection & { [PATCHED]?: boolean }
  if (proto[PATCHED]) return
  if (typeof proto._parseAddressCommand !== 'function' || typeof proto.send !== 'function') {
    throw new Error('smtp-server changed: SMTPConnection._parseAddressCommand/send not found (update proxy/lab/smtp-lenient.ts)')
  }
  const parseAddress = proto._parseAddressCommand
  const send = proto.send
  proto._parseAddressCommand = function (this: PatchableConnection, name: string, command: string) {
    const lab = this._server?.options?.[LAB_SMTP_MARK] === true
    return parseAddress.call(this, name, lab ? bracketAddress(String(command ?? '')) : command)
  }
  proto.send = function (this: PatchableConnection, code: number, data?: string | string[], context?: string | false) {
    const lab = this._server?.options?.[LAB_SMTP_MARK] === true
    if (lab && typeof data === 'string' && /^[245]\.\d{1,3}\.\d{1,3} /.test(data)) return send.call(this, code, data, false)
    return send.call(this, code, data, context)
  }
  proto[PATCHED] = true
}
