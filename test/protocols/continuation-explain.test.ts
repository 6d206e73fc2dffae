// Continuations (IMAP '+', SMTP 334, POP3 '+ ') carry explain keys, and every key has an
// English and a Spanish text, across every transcript fixture of the three protocols.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import type { ContinuationItem, Decoded, Decoder, DecoderOptions } from '../../shared/schema.ts'
import { explain } from '../../shared/explain/index.ts'
import { createImapDecoder } from '../../proxy/protocols/imap.ts'
import { createPop3Decoder } from '../../proxy/protocols/pop3.ts'
import { createSmtpDecoder } from '../../proxy/protocols/smtp.ts'
import { loadTranscript, replay } from '../helpers/transcript.ts'

const fixtures = join(import.meta.dirname, '../fixtures')
const continuations = (ds: Decoded[]) => ds.filter((d) => d.item?.kind === 'continuation').map((d) => d.item as ContinuationItem)

function keysOf(protocol: string, factory: (o: DecoderOptions) => Decoder): string[][] {
  const dir = join(fixtures, protocol)
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .flatMap((f) => continuations(replay(factory, loadTranscript(join(dir, f))).decoded).map((c) => c.explain ?? []))
}

for (const [protocol, factory, expected] of [
  ['smtp', createSmtpDecoder, 'smtp.code.334'],
  ['pop3', createPop3Decoder, 'pop3.cont.sasl'],
  ['imap', createImapDecoder, 'imap.cont.literal'],
] as const) {
  test(`every ${protocol.toUpperCase()} continuation in the fixtures has explain keys with English and Spanish text`, () => {
    const all = keysOf(protocol, factory)
    assert.ok(all.length > 0, `the ${protocol} fixtures hold continuations`)
    for (const keys of all) {
      assert.ok(keys.length > 0, 'a continuation without explain keys')
      for (const k of keys) {
        assert.ok(explain(k, 'en'), `no English text for ${k}`)
        assert.ok(explain(k, 'es'), `no Spanish text for ${k}`)
      }
    }
    assert.ok(all.some((keys) => keys.includes(expected)), `some continuation is explained as ${expected}`)
  })
}

test('the IMAP continuation that starts IDLE is explained as IDLE, not as a literal', () => {
  const d = createImapDecoder()
  d.feed('server', Buffer.from('* PREAUTH ready\r\n'), 1)
  d.feed('client', Buffer.from('a1 IDLE\r\n'), 2)
  const [cont] = continuations(d.feed('server', Buffer.from('+ idling\r\n'), 3))
  assert.deepEqual(cont.explain, ['imap.cont.idle'])
})
