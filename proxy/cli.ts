// Command-line parsing: argv to a Command. No side effects beyond reading --config.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { parseFaults } from './lab/faults.ts'
import { DEFAULT_HTTP_PORT, UsageError, readConfigFile, resolveConfig, type Config, type Settings } from './config.ts'

export type Command =
  | { name: 'help'; text: string }
  | { name: 'version' }
  | { name: 'run'; config: Config }
  | { name: 'ca'; config: Config }
  | { name: 'export'; config: Config; id: string; format: string; out?: string; secrets: boolean }
  | { name: 'import'; config: Config; file: string; protocol?: string }
  | {
      name: 'replay'
      config: Config
      session: string
      to?: string
      user?: string
      password?: string
      speed?: number
      lockstep: boolean
      /** Extra normalisation rules, NAME=/REGEX/FLAGS=>REPLACEMENT. */
      rules: string[]
    }
  | { name: 'mock'; config: Config; session: string; listen: string }

export const HELP = `mailtap — a debugging proxy and traffic inspector for SMTP, POP3 and IMAP

Usage:
  mailtap [options]                       run the proxy (lab mode when no --route is given)
  mailtap ca [--data DIR]                 print the local CA's path and certificate
  mailtap export ID --format F [-o FILE] [--secrets]
                                          export a session: txt, json, pcapng or eml
  mailtap import FILE [--protocol P]      import a json export or a text transcript
  mailtap replay SESSION [--to URL] [--user U --password P] [--speed N | --lockstep]
                 [--rule NAME=/REGEX/FLAGS=>REPLACEMENT ...]
                                          re-run a recorded client against a server; --rule
                                          adds a normalisation to the built-in ones
  mailtap mock SESSION --listen URL       serve a recorded server side to any client

Options:
  --route CLIENT_URL=UPSTREAM_URL   a route; repeat for more. Schemes: smtp smtps pop3 pop3s
                                    imap imaps. The listening host defaults to 127.0.0.1.
                                    e.g. --route imap://127.0.0.1:1143=imap://mail.example.com:143
                                    Add ?tls=passthrough to either URL to pass TLS through.
  --http [HOST:]PORT                dashboard and API address (default 127.0.0.1:${DEFAULT_HTTP_PORT})
  --data DIR                        recordings, CA and settings (default ~/.mailtap, or $MAILTAP_DATA)
  --config FILE                     a JSON file with the same settings (flags win), e.g.
                                    {"routes": ["smtp://:2525=smtp://mail.example.com:25"], "http": "8725"}
  --lab                             also start the embedded lab mail server (the default without routes);
                                    users alice/alicepw, bob/bobpw and the seed notes' pepe/LaContrasenia,
                                    usuario/contraseña @ mail.test; a config file's "labUsers" and
                                    "labDomain" replace them
  --lab-faults SPEC                 inject failures in the lab, e.g. auth=0.5,rcpt=452,mail=421,slow=2000,
                                    pop3-in-use,imap-overquota. A 421 disconnect: mail=421 (or rcpt=/data=421),
                                    or drop; QUIT has no hook. Rules: auth connect mail rcpt data drop slow
                                    pop3-in-use imap-overquota all seed; TRIGGER=P (0..1 or N%) or =CODE@P
  --lab-ports auto|SMTP,POP3,IMAP[,SMTPS,POP3S,IMAPS]
                                    the lab's proxy ports (default 2525,1110,1143,2465,1995,1993);
                                    auto: free ports, printed in the banner
  --tls-mode intercept|passthrough  what to do with STARTTLS and implicit TLS (default intercept)
  --upstream-verify strict|warn|off on a bad upstream certificate: refuse, warn, or ignore (default warn)
  --keylog FILE                     write TLS secrets in NSS key log format (also $SSLKEYLOGFILE)
  --idle-timeout SECONDS            close sessions idle this long (default 1800, 0 = never)
  --connect-timeout SECONDS         upstream connect timeout (default 10)
  --max-sessions N, --max-bytes N, --max-age-days N
                                    retention: prune the oldest recordings beyond these
  --token TOKEN                     API token (required, and generated if absent, for a non-loopback --http)
  -h, --help                        this help
  -v, --version                     the version
`

const COMMON = {
  config: { type: 'string' },
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

const RUN = {
  ...COMMON,
  route: { type: 'string', multiple: true },
  http: { type: 'string' },
  lab: { type: 'boolean' },
  'lab-faults': { type: 'string' },
  'lab-ports': { type: 'string' },
  'tls-mode': { type: 'string' },
  'upstream-verify': { type: 'string' },
  keylog: { type: 'string' },
  'idle-timeout': { type: 'string' },
  'connect-timeout': { type: 'string' },
  'max-sessions': { type: 'string' },
  'max-bytes': { type: 'string' },
  'max-age-days': { type: 'string' },
  token: { type: 'string' },
  version: { type: 'boolean', short: 'v' },
} as const

const SUB: Record<string, ParseArgsConfig['options']> = {
  ca: COMMON,
  export: { ...COMMON, format: { type: 'string', short: 'f' }, out: { type: 'string', short: 'o' }, secrets: { type: 'boolean' } },
  import: { ...COMMON, protocol: { type: 'string' } },
  replay: {
    ...RUN,
    to: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    speed: { type: 'string' },
    lockstep: { type: 'boolean' },
    rule: { type: 'string', multiple: true },
  },
  mock: { ...RUN, listen: { type: 'string' } },
}

const POSITIONALS: Record<string, string[]> = { ca: [], export: ['ID'], import: ['FILE'], replay: ['SESSION'], mock: ['SESSION'] }

export function parseCommand(argv: string[]): Command {
  const sub = argv[0] && !argv[0].startsWith('-') ? argv[0] : undefined
  if (sub !== undefined && !(sub in SUB)) {
    throw new UsageError(`unknown command '${sub}' (commands: ${Object.keys(SUB).join(', ')}; see mailtap --help)`)
  }
  const args = sub ? argv.slice(1) : argv
  const options = sub ? SUB[sub]! : RUN
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true }) as typeof parsed
  } catch (err) {
    throw new UsageError(cleanParseError((err as Error).message))
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>
  if (v.help) return { name: 'help', text: HELP }
  if (v.version && !sub) return { name: 'version' }

  const want = POSITIONALS[sub ?? ''] ?? []
  if (parsed.positionals.length > want.length) {
    throw new UsageError(`unexpected argument '${parsed.positionals[want.length]}'${sub ? ` for ${sub}` : ''} (see mailtap --help)`)
  }
  if (parsed.positionals.length < want.length) {
    throw new UsageError(`mailtap ${sub} needs ${want.join(' ')} (see mailtap --help)`)
  }

  const settings: Settings = v.config ? readConfigFile(String(v.config)) : {}
  const set = <K extends keyof Settings>(key: K, value: Settings[K] | undefined) => {
    if (value !== undefined) settings[key] = value
  }
  if (v.route) set('routes', [...(settings.routes ?? []), ...(v.route as string[])])
  set('http', v.http as string | undefined)
  set('data', v.data as string | undefined)
  if (v.lab) set('lab', true)
  set('labFaults', v['lab-faults'] as string | undefined)
  set('labPorts', v['lab-ports'] as string | undefined)
  set('tlsMode', v['tls-mode'] as string | undefined)
  set('upstreamVerify', v['upstream-verify'] as string | undefined)
  set('keylog', v.keylog as string | undefined)
  set('idleTimeout', num(v['idle-timeout'], '--idle-timeout'))
  set('connectTimeout', num(v['connect-timeout'], '--connect-timeout'))
  set('maxSessions', num(v['max-sessions'], '--max-sessions'))
  set('maxBytes', num(v['max-bytes'], '--max-bytes'))
  set('maxAgeDays', num(v['max-age-days'], '--max-age-days'))
  set('token', v.token as string | undefined)
  if (settings.labFaults !== undefined && settings.routes?.length && !settings.lab) {
    throw new UsageError('--lab-faults needs the lab: add --lab, or drop --route')
  }
  if (settings.labPorts !== undefined && settings.routes?.length && !settings.lab) {
    throw new UsageError('--lab-ports needs the lab: add --lab, or drop --route')
  }
  if (settings.labFaults !== undefined) {
    // Checked here so a typo fails before anything is started or written.
    try {
      parseFaults(String(settings.labFaults))
    } catch (err) {
      throw new UsageError(`bad value for --lab-faults: ${(err as Error).message}`)
    }
  }
  const config = resolveConfig(settings)
  const [first] = parsed.positionals

  switch (sub) {
    case undefined:
      return { name: 'run', config }
    case 'ca':
      return { name: 'ca', config }
    case 'export': {
      const format = String(v.format ?? '')
      if (!['txt', 'json', 'pcapng', 'eml'].includes(format)) {
        throw new UsageError(`mailtap export needs --format txt|json|pcapng|eml${format ? ` (got '${format}')` : ''}`)
      }
      return { name: 'export', config, id: first!, format, out: v.out as string | undefined, secrets: !!v.secrets }
    }
    case 'import': {
      const protocol = v.protocol as string | undefined
      if (protocol && !['smtp', 'pop3', 'imap'].includes(protocol)) {
        throw new UsageError(`bad value for --protocol: '${protocol}' (expected smtp, pop3 or imap)`)
      }
      return { name: 'import', config, file: first!, protocol }
    }
    case 'replay': {
      if (v.speed !== undefined && v.lockstep) throw new UsageError('--speed and --lockstep exclude each other')
      if ((v.user === undefined) !== (v.password === undefined)) throw new UsageError('--user and --password go together')
      const speed = num(v.speed, '--speed')
      if (speed !== undefined && speed <= 0) throw new UsageError(`bad value for --speed: '${v.speed}' (expected a number above 0)`)
      return {
        name: 'replay',
        config,
        session: first!,
        to: v.to as string | undefined,
        user: v.user as string | undefined,
        password: v.password as string | undefined,
        speed,
        lockstep: !!v.lockstep || speed === undefined,
        rules: (v.rule as string[] | undefined) ?? [],
      }
    }
    case 'mock': {
      if (!v.listen) throw new UsageError('mailtap mock needs --listen URL, e.g. --listen smtp://127.0.0.1:2526')
      return { name: 'mock', config, session: first!, listen: String(v.listen) }
    }
    default:
      throw new UsageError(`unknown command '${sub}'`)
  }
}

function num(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value === '' || !Number.isFinite(n)) throw new UsageError(`bad value for ${flag}: '${value}' (expected a number)`)
  return n
}

/** node:util's messages are long and mention internals; keep one clear line. */
function cleanParseError(message: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(message)
  if (unknown) return `unknown option ${unknown[1]} (see mailtap --help)`
  const missing = /Option '([^']+?)(?: <value>)?' argument missing/.exec(message)
  if (missing) return `option ${missing[1]!.replace(/^-\w, /, '')} needs a value`
  const notBool = /Option '([^']+)' does not take an argument/.exec(message)
  if (notBool) return `option ${notBool[1]!.replace(/^-\w, /, '')} takes no value`
  return message.split('\n')[0]!
}
