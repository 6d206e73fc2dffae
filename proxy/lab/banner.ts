// The lab-mode banner main.ts prints at start: dashboard URL, the proxy ports in front of
// the lab, users and passwords, and examples that work as pasted (test/lab/banner.test.ts
// runs them against a lab).
import type { FaultSpec } from './faults.ts'
import type { Lab, LabPorts } from './index.ts'

/** A one-line summary of the active faults, e.g. `auth 50%, rcpt 452, slow 2000 ms`. */
export function describeFaults(spec: FaultSpec | undefined): string | undefined {
  if (!spec || spec.rules.length === 0) return undefined
  const parts = spec.rules.map((r) => {
    const what = r.trigger === 'slow' ? `slow ${r.delayMs} ms` : r.code !== undefined ? `${r.trigger} ${r.code}` : r.trigger
    return r.probability >= 1 ? what : `${what} ${Math.round(r.probability * 1000) / 10}%`
  })
  if (spec.seed !== undefined) parts.push(`seed ${spec.seed}`)
  return parts.join(', ')
}

export interface LabExamples {
  swaks: string
  curlSend: string
  curlListPop3: string
  curlSearchImap: string
  curlFetchImap: string
  openssl?: string
  nc: string
}

/** The ready-to-paste commands, for the ports the user connects to (the proxy's). */
export function labExamples(lab: Pick<Lab, 'users' | 'domain' | 'tls'>, ports: LabPorts, host = '127.0.0.1'): LabExamples {
  const [a, b = a] = lab.users
  const from = `${a.name}@${lab.domain}`
  const to = `${b.name}@${lab.domain}`
  // Quoting: names and passwords come from a config file; keep the shell happy.
  const q = (s: string) => (/^[\w@.:/+=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)
  return {
    swaks: `swaks --server ${host}:${ports.smtp} --auth LOGIN --auth-user ${q(a.name)} --auth-password ${q(a.password)} --from ${q(from)} --to ${q(to)} --header 'Subject: Hello from swaks'`,
    curlSend: `printf 'Subject: Hello from curl\\r\\n\\r\\nHi ${b.name.replace(/[^\w.-]/g, '')}!\\r\\n' | curl -sS smtp://${host}:${ports.smtp} --user ${q(`${a.name}:${a.password}`)} --mail-from ${q(from)} --mail-rcpt ${q(to)} -T -`,
    curlListPop3: `curl -sS pop3://${host}:${ports.pop3}/ --user ${q(`${b.name}:${b.password}`)}`,
    curlSearchImap: `curl -sS 'imap://${host}:${ports.imap}/INBOX?ALL' --user ${q(`${b.name}:${b.password}`)}`,
    curlFetchImap: `curl -sS 'imap://${host}:${ports.imap}/INBOX;MAILINDEX=1' --user ${q(`${b.name}:${b.password}`)}`,
    openssl: lab.tls ? `openssl s_client -starttls smtp -crlf -ign_eof -connect ${host}:${ports.smtp}` : undefined,
    nc: `nc ${host} ${ports.pop3}`,
  }
}

/**
 * The banner lines (joined with \n, no trailing newline). `proxyPorts` are the ports mailtap
 * listens on in front of the lab (2525, 1110, 1143...), which is where users connect.
 */
export function banner(lab: Lab, proxyPorts: LabPorts, dashboardUrl: string, host = '127.0.0.1'): string {
  const ex = labExamples(lab, proxyPorts, host)
  // One aligned row per protocol: plain port, the STARTTLS note, the implicit-TLS port.
  const row = (label: string, port: number, starttls: string, implicit: number | undefined, implicitName: string) => {
    let line = `  ${label.padEnd(11)}${`${host}:${port}`.padEnd(18)}`
    if (lab.tls) line += `(${starttls} with mailtap's CA)`.padEnd(31) + (implicit ? `${implicitName} ${host}:${implicit}` : '')
    return line.trimEnd()
  }
  const [a] = lab.users
  const lines = [
    'mailtap lab mode: an embedded mail server behind the proxy, for first runs and lessons.',
    '',
    `  Dashboard  ${dashboardUrl}`,
    row('SMTP', proxyPorts.smtp, 'STARTTLS', proxyPorts.smtps, 'smtps'),
    row('POP3', proxyPorts.pop3, 'STLS', proxyPorts.pop3s, 'pop3s'),
    row('IMAP', proxyPorts.imap, 'STARTTLS', proxyPorts.imaps, 'imaps'),
    `  Users      ${lab.users.map((u) => `${u.name} / ${u.password}`).join('    ')}    (domain ${lab.domain}; log in as ${a.name} or ${a.name}@${lab.domain})`,
  ]
  // The user's seed notes log in as pepe (POP3) and "usuario" (IMAP): say they can be typed as written.
  const pepe = lab.users.find((u) => u.name === 'pepe')
  const usuario = lab.users.find((u) => u.name === 'usuario')
  if (pepe && usuario) {
    lines.push(
      `  Seed notes the examples work as written: POP3 USER ${pepe.name} / PASS ${pepe.password}, IMAP 1 login "${usuario.name}" "${usuario.password}",`,
      `             SMTP ${pepe.aliases?.[0] ?? pepe.name} -> ${usuario.aliases?.[0] ?? usuario.name} (AUTH LOGIN as ${pepe.name})`,
    )
  }
  const faults = describeFaults(lab.faults)
  lines.push(
    faults
      ? `  Faults     ${faults}`
      : `  Faults     none; for a lesson: --lab-faults auth,rcpt=452,mail=421,slow=2000,pop3-in-use,imap-overquota  (mail=421 or drop: a 421 disconnect)`,
  )
  lines.push(
    '',
    'Try it (every session shows up in the dashboard):',
    `  send a mail        ${ex.swaks}`,
    `  ...or with curl    ${ex.curlSend}`,
    `  list the inbox     ${ex.curlListPop3}`,
    `  search over IMAP   ${ex.curlSearchImap}`,
    `  read message 1     ${ex.curlFetchImap}`,
  )
  if (ex.openssl) lines.push(`  watch STARTTLS     ${ex.openssl}`)
  lines.push(`  type by hand       ${ex.nc}    then: USER ${a.name}, PASS ${a.password}, LIST, RETR 1, QUIT`)
  return lines.join('\n')
}
