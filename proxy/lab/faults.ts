// Lab faults (`--lab-faults`): failures injected on request so a lesson can show what they
// look like on the wire. In the spirit of Mailpit's chaos triggers: a rule per trigger,
// each with an optional reply code and a probability.
//
// Grammar (comma-separated rules, whitespace ignored, triggers case-insensitive):
//
//   spec    := rule ("," rule)*
//   rule    := trigger ["=" value ["@" prob]]  |  "seed=" integer
//   value   := prob | code | ms
//   prob    := a number 0..1 ("0.25") or a percentage ("25%"); default 1 (always)
//   code    := a 3-digit reply code, 400..599 (SMTP triggers only)
//   ms      := milliseconds (slow only)
//
//   auth            AUTH / LOGIN / PASS fails: SMTP 535 5.7.8, POP3 -ERR [AUTH], IMAP NO [AUTHENTICATIONFAILED]
//   connect         SMTP greeting is a 554 (or the code given; 421 closes at once)
//   mail rcpt data  SMTP MAIL FROM / RCPT TO / end of DATA fail with the code given
//                   (defaults: mail 451 4.3.0, rcpt 452 4.5.3, data 554 5.6.0); 421 also disconnects
//   drop            a command is answered by a disconnect: SMTP 421 4.7.0 (at AUTH, MAIL, RCPT or
//                   the end of DATA: smtp-server has no hook on other commands), POP3 -ERR [SYS/TEMP],
//                   IMAP * BYE (any command)
//   slow            replies are delayed: slow=2000 (ms, always) or slow=2000@0.5 (SMTP: the greeting
//                   and the AUTH, MAIL, RCPT and DATA replies; POP3 and IMAP: every reply)
//   pop3-in-use     POP3 PASS/AUTH fails with -ERR [IN-USE]
//   imap-overquota  IMAP APPEND and COPY fail with NO [OVERQUOTA]
//   all             every trigger above but slow and connect, with the probability given: all=0.2
//   seed            seed of the random generator, for reproducible lessons: seed=42
//
// Examples: `auth=0.5,rcpt=452,slow=2000,pop3-in-use,imap-overquota`, `all=0.2,seed=7`,
// `rcpt=550@30%`, `mail=421`.

export type FaultTrigger =
  | 'auth'
  | 'connect'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'drop'
  | 'slow'
  | 'pop3-in-use'
  | 'imap-overquota'

export interface FaultRule {
  trigger: FaultTrigger
  /** 0..1; 1 means every time. */
  probability: number
  /** SMTP reply code for connect/mail/rcpt/data. */
  code?: number
  /** slow only. */
  delayMs?: number
}

export interface FaultSpec {
  rules: FaultRule[]
  /** Seed of the random generator; absent means Math.random. */
  seed?: number
}

export const LAB_FAULTS_HELP = `--lab-faults SPEC   inject failures into the lab server (comma-separated rules)
    auth[=P]             AUTH/LOGIN/PASS rejected (535 5.7.8, -ERR [AUTH], NO [AUTHENTICATIONFAILED])
    connect[=CODE][@P]   SMTP greeting refused (default 554; 421 closes)
    mail|rcpt|data[=CODE][@P]  SMTP command fails (defaults 451, 452 4.5.3, 554; 421 disconnects)
    drop[=P]             a command is answered by a disconnect (421 4.7.0, -ERR [SYS/TEMP], * BYE)
    slow=MS[@P]          replies are delayed by MS milliseconds
    pop3-in-use[=P]      POP3 login fails with -ERR [IN-USE]
    imap-overquota[=P]   IMAP APPEND/COPY fail with NO [OVERQUOTA]
    all=P                every trigger but slow and connect, with probability P
    seed=N               seed the random generator (reproducible runs)
  P is 0..1 or a percentage (default 1 = always).
  A 421 disconnect: mail=421 (or rcpt=421, data=421) at that command, or drop at the next one
  (quit=421 is not possible: smtp-server answers QUIT itself).
  e.g. --lab-faults auth=0.5,rcpt=452,mail=421,slow=2000,pop3-in-use,imap-overquota`

const TRIGGERS: readonly FaultTrigger[] = ['auth', 'connect', 'mail', 'rcpt', 'data', 'drop', 'slow', 'pop3-in-use', 'imap-overquota']
/** SMTP commands smtp-server handles without a hook: asked for by name, they get a pointer to what works. */
const UNHOOKABLE_SMTP = new Set(['quit', 'ehlo', 'helo', 'rset', 'noop', 'vrfy', 'starttls'])
const SMTP_CODE_TRIGGERS = new Set<FaultTrigger>(['connect', 'mail', 'rcpt', 'data'])
/** Default SMTP reply code per trigger. */
export const DEFAULT_FAULT_CODES: Partial<Record<FaultTrigger, number>> = { connect: 554, mail: 451, rcpt: 452, data: 554 }

function parseProbability(text: string, rule: string): number {
  const percent = text.endsWith('%')
  const n = Number(percent ? text.slice(0, -1) : text)
  if (text === '' || !Number.isFinite(n)) throw new Error(`"${rule}": "${text}" is not a probability`)
  const p = percent ? n / 100 : n
  if (p < 0 || p > 1) throw new Error(`"${rule}": probability must be between 0 and 1 (or 0% and 100%)`)
  return p
}

/** Parses a `--lab-faults` spec. Throws an Error with one clear line on a bad spec. */
export function parseFaults(spec: string): FaultSpec {
  const out: FaultSpec = { rules: [] }
  const byTrigger = new Map<FaultTrigger, FaultRule>()
  let all: number | undefined
  const parts = spec.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (parts.length === 0) throw new Error('--lab-faults: empty spec (try auth=0.5,rcpt=452)')
  for (const rule of parts) {
    const eq = rule.indexOf('=')
    const name = (eq < 0 ? rule : rule.slice(0, eq)).trim().toLowerCase()
    const value = eq < 0 ? undefined : rule.slice(eq + 1).trim()
    if (name === 'seed') {
      if (value === undefined || !/^\d+$/.test(value)) throw new Error(`"${rule}": seed needs a whole number`)
      out.seed = Number(value)
      continue
    }
    if (name === 'all') {
      if (value === undefined) throw new Error(`"${rule}": all needs a probability, e.g. all=0.2`)
      all = parseProbability(value, rule)
      continue
    }
    if (UNHOOKABLE_SMTP.has(name)) {
      throw new Error(
        `"${name}" cannot be hooked: smtp-server answers ${name.toUpperCase()} itself. For a 421 disconnect use mail=421, rcpt=421 or data=421 (at that command), or drop (at AUTH, MAIL, RCPT or end of DATA)`,
      )
    }
    if (!(TRIGGERS as readonly string[]).includes(name)) {
      throw new Error(`unknown trigger "${name}" (known: ${TRIGGERS.join(', ')}, all, seed)`)
    }
    const trigger = name as FaultTrigger
    const parsed: FaultRule = { trigger, probability: 1 }
    if (value !== undefined) {
      const [main, prob, extra] = value.split('@').map((s) => s.trim())
      if (extra !== undefined) throw new Error(`"${rule}": more than one "@"`)
      if (trigger === 'slow') {
        if (!/^\d+$/.test(main)) throw new Error(`"${rule}": slow needs milliseconds, e.g. slow=2000`)
        parsed.delayMs = Number(main)
      } else if (/^\d{3}$/.test(main)) {
        if (!SMTP_CODE_TRIGGERS.has(trigger)) throw new Error(`"${rule}": ${trigger} takes a probability, not a reply code`)
        const code = Number(main)
        if (code < 400 || code > 599) throw new Error(`"${rule}": reply code must be 4xx or 5xx`)
        parsed.code = code
      } else {
        if (prob !== undefined) throw new Error(`"${rule}": use ${trigger}=CODE@P or ${trigger}=P`)
        parsed.probability = parseProbability(main, rule)
      }
      if (prob !== undefined) parsed.probability = parseProbability(prob, rule)
    } else if (trigger === 'slow') {
      throw new Error(`"${rule}": slow needs milliseconds, e.g. slow=2000`)
    }
    if (byTrigger.has(trigger)) throw new Error(`"${trigger}" given twice`)
    byTrigger.set(trigger, parsed)
  }
  if (all !== undefined) {
    for (const trigger of TRIGGERS) {
      if (trigger === 'slow' || byTrigger.has(trigger)) continue
      // A refused greeting makes every other fault invisible; keep it out of "all".
      if (trigger === 'connect') continue
      byTrigger.set(trigger, { trigger, probability: all })
    }
  }
  out.rules = TRIGGERS.flatMap((t) => (byTrigger.has(t) ? [byTrigger.get(t)!] : []))
  return out
}

/** mulberry32: a small seeded PRNG, good enough to make lessons and tests reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Decides, per occasion, whether a fault fires. Shared by the three lab servers. */
export class FaultInjector {
  private readonly rules = new Map<FaultTrigger, FaultRule>()
  private readonly random: () => number

  constructor(spec?: FaultSpec, random?: () => number) {
    for (const rule of spec?.rules ?? []) this.rules.set(rule.trigger, rule)
    this.random = random ?? (spec?.seed !== undefined ? seededRandom(spec.seed) : Math.random)
  }

  /** The rule if this trigger fires now, else undefined. Draws only for configured triggers. */
  fire(trigger: FaultTrigger): FaultRule | undefined {
    const rule = this.rules.get(trigger)
    if (!rule) return undefined
    if (rule.probability >= 1) return rule
    if (rule.probability <= 0) return undefined
    return this.random() < rule.probability ? rule : undefined
  }

  /** SMTP code for a fired rule. */
  code(rule: FaultRule): number {
    return rule.code ?? DEFAULT_FAULT_CODES[rule.trigger] ?? 421
  }

  /** How long to hold the next reply (0 when slow is off or did not fire). */
  delayMs(): number {
    return this.fire('slow')?.delayMs ?? 0
  }

  get active(): boolean {
    return this.rules.size > 0
  }
}

/** Waits ms milliseconds (0: resolves on the next microtask). */
export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()
}
