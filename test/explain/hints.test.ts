// Every finding hint the proxy emits has an English and a Spanish entry in the explain
// tables, found by reading proxy/ with the TypeScript parser (hint-sites.ts), so a new or
// reworded hint without a translation fails here.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { EXPLAIN, explain } from '../../shared/explain/index.ts'
import { explainHint, HINTS_EXPLAIN, hintEntry } from '../../shared/explain/hints.ts'
import { createDecoder } from '../../proxy/protocols/index.ts'
import type { Note } from '../../shared/schema.ts'
import { scanHintSites } from './hint-sites.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const sites = scanHintSites(`${root}proxy`, root)
/** Hints forwarded from somewhere the scan reads anyway (relay.ts passes on a TlsError's hint). */
const FORWARDED = new Set(['e?.hint', 'code e.code'])

const entriesOf = (code: string): [string, { en: string; es: string }][] =>
  Object.entries(HINTS_EXPLAIN).filter(([k]) => k === `hint.${code}` || k.startsWith(`hint.${code}.`))

describe('finding hints in English and Spanish', () => {
  test('the scan finds the hints of the decoders, the relay, TLS, the store and replay', () => {
    const files = new Set(sites.map((s) => s.where.replace(/\/[^/]*$/, '')))
    for (const dir of ['proxy/protocols', 'proxy/relay', 'proxy/tls', 'proxy/store', 'proxy/replay', 'proxy/import']) {
      assert.ok(files.has(dir), `hints found under ${dir}`)
    }
    assert.ok(sites.length > 80, `found ${sites.length} hint sites`)
    const codes = new Set(sites.flatMap((s) => s.codes))
    for (const code of ['SMTP_RELAY_DENIED', 'IMAP_AUTH_FAILED', 'POP3_MAILBOX_IN_USE', 'AUTH_CLEARTEXT', 'TLS_CERT_SELF_SIGNED', 'RECORDING_GAP']) {
      assert.ok(codes.has(code), `the scan sees ${code}`)
    }
  })

  test('every hint site is read to its codes and texts, except hints forwarded from an error', () => {
    for (const s of sites) {
      for (const u of s.unresolved) assert.ok(FORWARDED.has(u), `${s.where}: the scan cannot read ${u}; teach hint-sites.ts or add it here`)
      if (s.unresolved.length) continue
      assert.ok(s.codes.length > 0, `${s.where}: a hint with a note code`)
      assert.ok(s.texts.length > 0 || s.dynamic, `${s.where}: a hint text`)
    }
  })

  test('every note code that carries a hint has a hint entry in English and Spanish', () => {
    const missing: string[] = []
    for (const s of sites) {
      if (s.unresolved.length) continue
      for (const code of s.codes) {
        const e = EXPLAIN[`hint.${code}`]
        if (!e?.en || !e.es) missing.push(`hint.${code} (${s.where})`)
      }
    }
    assert.deepEqual(missing, [], 'hint entries to add to shared/explain/hints.ts')
  })

  test('every fixed hint text is the English of an entry under its code, with a Spanish text', () => {
    const missing: string[] = []
    for (const s of sites) {
      for (const text of s.texts) {
        const hit = s.codes.flatMap(entriesOf).find(([, e]) => e.en === text)
        if (!hit) missing.push(`${s.codes.join('|')}: ${JSON.stringify(text)} (${s.where})`)
        else assert.ok(hit[1].es.trim() && hit[1].es !== hit[1].en, `${hit[0]} has a Spanish text`)
        for (const code of s.codes) {
          const es = explainHint({ code, hint: text }, 'es')
          assert.equal(es, hintEntry({ code, hint: text })?.es, `${code}: the Spanish of ${JSON.stringify(text)}`)
          assert.notEqual(es, text, `${code}: ${JSON.stringify(text)} is translated`)
        }
      }
    }
    assert.deepEqual(missing, [], 'English hints without an entry (reworded or new?) in shared/explain/hints.ts')
  })

  test('a code with a dynamic hint has exactly one entry, so the hint is translated by its code', () => {
    for (const s of sites.filter((x) => x.dynamic)) {
      for (const code of s.codes) assert.equal(entriesOf(code).length, 1, `${code} (${s.where}) has one hint entry`)
    }
  })

  test('every entry in the hint table belongs to a code the proxy emits, and its English is a real hint', () => {
    const codes = new Set(sites.flatMap((s) => s.codes))
    const texts = new Set(sites.flatMap((s) => s.texts))
    const dynamicCodes = new Set(sites.filter((s) => s.dynamic).flatMap((s) => s.codes))
    for (const [key, e] of Object.entries(HINTS_EXPLAIN)) {
      const code = key.split('.')[1]!
      assert.ok(codes.has(code), `${key}: ${code} is a code some hint is emitted with`)
      assert.ok(texts.has(e.en) || dynamicCodes.has(code), `${key}: ${JSON.stringify(e.en)} is a hint the proxy writes`)
    }
  })

  test('a decoded relay refusal carries a hint the table gives in Spanish', () => {
    const smtp = createDecoder('smtp', {})
    const transcript: [ 'client' | 'server', string][] = [
      ['server', '220 mail.test ESMTP\r\n'],
      ['client', 'EHLO client.test\r\n'],
      ['server', '250 mail.test\r\n'],
      ['client', 'MAIL FROM:<a@mail.test>\r\n'],
      ['server', '250 2.1.0 Ok\r\n'],
      ['client', 'RCPT TO:<x@elsewhere.invalid>\r\n'],
      ['server', '554 5.7.1 <x@elsewhere.invalid>: Relay access denied\r\n'],
    ]
    const notes: Note[] = []
    let at = 0
    for (const [side, line] of transcript) for (const d of smtp.feed(side, Buffer.from(line), ++at)) notes.push(...(d.notes ?? []))
    const relay = notes.find((n) => n.code === 'SMTP_RELAY_DENIED')
    assert.ok(relay?.hint, 'the decoder gives a hint')
    assert.equal(explainHint(relay, 'en'), relay.hint)
    assert.equal(explainHint(relay, 'es'), explain('hint.SMTP_RELAY_DENIED', 'es'))
    assert.match(explainHint(relay, 'es')!, /autenticado/)
  })

  test('a code with several hints is translated by the hint text, and an unknown text stays in English', () => {
    const nonexistent = { code: 'IMAP_NO', hint: 'The mailbox does not exist (check its name and hierarchy delimiter).' }
    const noperm = { code: 'IMAP_NO', hint: 'The user lacks the rights (ACL) for this operation on this mailbox.' }
    assert.match(explainHint(nonexistent, 'es')!, /no existe/)
    assert.match(explainHint(noperm, 'es')!, /permisos/)
    const reworded = { code: 'IMAP_NO', hint: 'Something new the table does not know yet.' }
    assert.equal(explainHint(reworded, 'es'), reworded.hint)
    // A code with a single hint is translated even when the wording carries specifics.
    const cleartext = { code: 'AUTH_CLEARTEXT', hint: 'Configure the client to use STLS (or the implicit-TLS port) before authenticating.' }
    assert.equal(explainHint(cleartext, 'es'), explain('hint.AUTH_CLEARTEXT', 'es'))
    assert.equal(explainHint({ code: 'SMTP_RELAY_DENIED' }, 'es'), undefined, 'no hint on the note, none shown')
  })
})
