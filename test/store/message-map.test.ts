// Messages kept as places in the capture: for every transcript fixture, the message cut
// back out of the capture (message-map.ts) is byte for byte what the decoder extracted,
// with the final size and without it (a crash before the message ended), and the place
// the decoder gives does not depend on how TCP split the stream.
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { Side } from '../../shared/schema.ts'
import { createImapDecoder } from '../../proxy/protocols/imap.ts'
import { createPop3Decoder } from '../../proxy/protocols/pop3.ts'
import { createSmtpDecoder } from '../../proxy/protocols/smtp.ts'
import { readMappedMessage } from '../../proxy/store/message-map.ts'
import { type DecoderFactory, loadTranscript, replay } from '../helpers/transcript.ts'

const fixtures = join(import.meta.dirname, '../fixtures')
const tmp = mkdtempSync(join(tmpdir(), 'mailtap-map-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

const factories: Record<string, DecoderFactory> = {
  smtp: (o) => createSmtpDecoder(o),
  pop3: (o) => createPop3Decoder(o),
  imap: (o) => createImapDecoder(o),
}

let mapped = 0
let copied = 0

for (const protocol of ['smtp', 'pop3', 'imap']) {
  const dir = join(fixtures, protocol)
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    test(`${protocol}/${file}: every message cut back out of the capture equals the decoder's bytes`, async () => {
      const t = loadTranscript(join(dir, file))
      const whole = replay(factories[protocol]!, t)
      const bytewise = replay(factories[protocol]!, t, (_i, b) => Array.from(b, (_x, k) => b.subarray(k, k + 1)))
      assert.deepEqual(
        bytewise.messages.map((m) => m.wire),
        whole.messages.map((m) => m.wire),
      )
      const capture: Record<Side, string> = { client: join(tmp, `${protocol}-${file}-client.bin`), server: join(tmp, `${protocol}-${file}-server.bin`) }
      for (const side of ['client', 'server'] as const) {
        const bytes = Buffer.concat(t.steps.flatMap((s) => (s.kind === 'data' && s.side === side ? [s.bytes] : [])))
        writeFileSync(capture[side], bytes)
      }
      for (const m of whole.messages) {
        if (!m.wire) {
          copied++
          continue
        }
        mapped++
        const closed = await readMappedMessage(capture[m.wire.side], { ...m.wire, size: m.bytes.length })
        assert.ok(closed.equals(m.bytes), `message ${m.index} (${m.source}) read back with its size`)
        if (m.complete) {
          const open = await readMappedMessage(capture[m.wire.side], m.wire)
          assert.ok(open.equals(m.bytes), `message ${m.index} (${m.source}) read back without its size`)
        }
      }
    })
  }
}

test('the fixtures exercise both kinds: mapped messages, and copied ones (BDAT, COMPRESS=DEFLATE)', () => {
  assert.ok(mapped >= 10, `${mapped} mapped messages`)
  assert.ok(copied >= 2, `${copied} copied messages`)
})
