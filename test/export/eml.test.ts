import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { unzipSync } from 'fflate'
import { zipMessages } from '../../proxy/export/eml.ts'

const messages = [Buffer.from('Subject: one\r\n\r\nfirst\r\n'), Buffer.from('Subject: two\r\n\r\n' + 'x'.repeat(100_000) + '\r\n'), Buffer.from('Subject: three\r\n\r\nlast\r\n')]
const load = async (n: number) => messages[n - 1]

async function collect(body: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body
  const parts: Buffer[] = []
  for await (const chunk of body) parts.push(chunk as Buffer)
  return Buffer.concat(parts)
}

test('a small set of messages is zipped in memory, one message-<n>.eml each', async () => {
  const body = await zipMessages(3, load)
  assert.ok(Buffer.isBuffer(body), 'an in-memory zip')
  const files = unzipSync(body)
  assert.deepEqual(Object.keys(files), ['message-1.eml', 'message-2.eml', 'message-3.eml'])
  assert.deepEqual(Buffer.from(files['message-2.eml']!), messages[1])
})

test('a large set is streamed and unzips to the same files', async () => {
  const body = await zipMessages(3, load, 64 * 1024 * 1024)
  assert.ok(body instanceof Readable, 'a stream')
  const files = unzipSync(await collect(body))
  assert.deepEqual(Object.keys(files), ['message-1.eml', 'message-2.eml', 'message-3.eml'])
  for (let i = 0; i < 3; i++) assert.deepEqual(Buffer.from(files[`message-${i + 1}.eml`]!), messages[i])
})

test('a message missing from the store is left out, not an empty file', async () => {
  const files = unzipSync((await zipMessages(3, async (n) => (n === 2 ? undefined : messages[n - 1]))) as Buffer)
  assert.deepEqual(Object.keys(files), ['message-1.eml', 'message-3.eml'])
})
