// The --lab-faults grammar: what parses to what, what is refused with one clear line, and
// that a seeded generator makes fault runs reproducible.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FaultInjector, LAB_FAULTS_HELP, parseFaults, seededRandom } from '../../proxy/lab/faults.ts'
import { describeFaults } from '../../proxy/lab/banner.ts'

test('a spec with codes, probabilities, a delay and bare triggers parses into one rule each', () => {
  const spec = parseFaults('auth=0.5, rcpt=452, mail=421@25%, slow=2000@0.5, pop3-in-use, imap-overquota=1, seed=7')
  assert.equal(spec.seed, 7)
  assert.deepEqual(spec.rules, [
    { trigger: 'auth', probability: 0.5 },
    { trigger: 'mail', probability: 0.25, code: 421 },
    { trigger: 'rcpt', probability: 1, code: 452 },
    { trigger: 'slow', probability: 0.5, delayMs: 2000 },
    { trigger: 'pop3-in-use', probability: 1 },
    { trigger: 'imap-overquota', probability: 1 },
  ])
})

test('all=P turns on every trigger but slow and connect, and explicit rules win over it', () => {
  const spec = parseFaults('all=0.2,rcpt=550')
  const triggers = spec.rules.map((r) => r.trigger)
  assert.deepEqual(triggers, ['auth', 'mail', 'rcpt', 'data', 'drop', 'pop3-in-use', 'imap-overquota'])
  assert.deepEqual(spec.rules.find((r) => r.trigger === 'rcpt'), { trigger: 'rcpt', probability: 1, code: 550 })
  assert.ok(spec.rules.filter((r) => r.trigger !== 'rcpt').every((r) => r.probability === 0.2))
})

test('bad specs are refused with a one-line message naming the rule', () => {
  const bad: [string, RegExp][] = [
    ['', /empty spec/],
    ['teleport=1', /unknown trigger "teleport"/],
    ['auth=2', /between 0 and 1/],
    ['auth=535', /takes a probability, not a reply code/],
    ['rcpt=250', /4xx or 5xx/],
    ['slow', /slow needs milliseconds/],
    ['slow=fast', /slow needs milliseconds/],
    ['rcpt=0.5@0.5', /use rcpt=CODE@P/],
    ['auth,auth=0.1', /given twice/],
    ['seed=x', /seed needs a whole number/],
    ['all', /all needs a probability/],
  ]
  for (const [spec, message] of bad) {
    assert.throws(() => parseFaults(spec), (err: Error) => message.test(err.message) && !err.message.includes('\n'), spec)
  }
})

test('the same seed fires the same faults in the same order', () => {
  const spec = parseFaults('auth=0.5,seed=42')
  const draw = () => {
    const f = new FaultInjector(spec)
    return Array.from({ length: 32 }, () => (f.fire('auth') ? 1 : 0)).join('')
  }
  const first = draw()
  assert.equal(draw(), first)
  assert.match(first, /1/)
  assert.match(first, /0/)
})

test('an injected random source decides, and probability 0 or an absent trigger never fires', () => {
  const always = new FaultInjector(parseFaults('auth=0.3,rcpt=0'), () => 0.29)
  assert.ok(always.fire('auth'))
  assert.equal(always.fire('rcpt'), undefined)
  assert.equal(always.fire('drop'), undefined)
  const never = new FaultInjector(parseFaults('auth=0.3'), () => 0.3)
  assert.equal(never.fire('auth'), undefined)
  assert.equal(new FaultInjector(parseFaults('slow=150')).delayMs(), 150)
  assert.equal(new FaultInjector(undefined).delayMs(), 0)
})

test('seededRandom stays within [0, 1)', () => {
  const r = seededRandom(1)
  for (let i = 0; i < 1000; i++) {
    const x = r()
    assert.ok(x >= 0 && x < 1)
  }
})

test('the --help text documents every trigger and the banner summary reads naturally', () => {
  for (const word of ['auth', 'connect', 'mail|rcpt|data', 'drop', 'slow', 'pop3-in-use', 'imap-overquota', 'all', 'seed']) {
    assert.ok(LAB_FAULTS_HELP.includes(word), word)
  }
  assert.equal(describeFaults(parseFaults('auth=0.5,rcpt=452,slow=2000,seed=3')), 'auth 50%, rcpt 452, slow 2000 ms, seed 3')
  assert.equal(describeFaults(undefined), undefined)
})

test('asking for a fault on QUIT names the ways to get a 421 disconnect', () => {
  assert.throws(() => parseFaults('quit=421'), /"quit" cannot be hooked.*mail=421, rcpt=421 or data=421.*drop/)
  assert.throws(() => parseFaults('ehlo=0.5'), /"ehlo" cannot be hooked/)
  assert.match(LAB_FAULTS_HELP, /A 421 disconnect: mail=421/)
  assert.deepEqual(parseFaults('mail=421').rules, [{ trigger: 'mail', probability: 1, code: 421 }])
})
