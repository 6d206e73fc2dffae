// Every POP3 transcript fixture replays whole, byte by byte and split at every offset with
// identical output, and that output matches its reviewed golden file.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { createPop3Decoder } from '../../proxy/protocols/pop3.ts'
import { expectGolden, loadTranscript, replayAllSplits } from '../helpers/transcript.ts'

const dir = join(import.meta.dirname, '../fixtures/pop3')

for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
  test(`the POP3 fixture ${file} decodes the same however TCP splits it, and matches its golden`, () => {
    const result = replayAllSplits((o) => createPop3Decoder(o), loadTranscript(join(dir, file)))
    expectGolden(join(dir, file.replace(/\.txt$/, '.events.json')), result)
  })
}
