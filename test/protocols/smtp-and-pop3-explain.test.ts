// The explanation tables cover what the SMTP and POP3 decoders emit: every explain key and
// note code in the fixtures has an English and a Spanish text.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { EXPLAIN, explain, explainEntry } from '../../shared/explain/index.ts'
import { createPop3Decoder } from '../../proxy/protocols/pop3.ts'
import { createSmtpDecoder } from '../../proxy/protocols/smtp.ts'
import { loadTranscript, replay } from '../helpers/transcript.ts'

function emitted(protocol: 'smtp' | 'pop3'): { keys: Set<string>; notes: Set<string> } {
  const dir = join(import.meta.dirname, '../fixtures', protocol)
  const keys = new Set<string>()
  const notes = new Set<string>()
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.txt'))) {
    const make = protocol === 'smtp' ? createSmtpDecoder : createPop3Decoder
    for (const d of replay((o) => make(o), loadTranscript(join(dir, f))).decoded) {
      const item = d.item as { explain?: string[] } | undefined
      for (const k of item?.explain ?? []) keys.add(k)
      for (const n of d.notes ?? []) notes.add(n.code)
    }
  }
  return { keys, notes }
}

for (const protocol of ['smtp', 'pop3'] as const) {
  test(`every explain key and note code the ${protocol.toUpperCase()} fixtures produce has English and Spanish text`, () => {
    const { keys, notes } = emitted(protocol)
    assert.ok(keys.size > 20 && notes.size > 5)
    for (const key of [...keys, ...[...notes].map((c) => `note.${c}`)]) {
      const e = explainEntry(key)
      assert.ok(e, `no explanation for ${key}`)
      assert.ok(e.en.length > 3 && e.es.length > 3, `empty text for ${key}`)
    }
  })
}

test('Spanish texts are translations, not copies of the English', () => {
  const same = Object.entries(EXPLAIN).filter(([k, e]) => /^(smtp|pop3|esc|note|sasl)\./.test(k) && e.en === e.es)
  assert.deepEqual(same.map(([k]) => k), [])
})

test('enhanced status codes combine the class and the detail, in both languages', () => {
  assert.match(explain('esc.5.7.8', 'en')!, /credentials invalid.*Permanent/)
  assert.match(explain('esc.4.2.2', 'es')!, /Buzón lleno.*temporal/)
  assert.equal(explain('esc.9.9.9', 'en'), undefined)
})
