// The one entry point to the protocol decoders: createDecoder(protocol, options).
// The relay, replay, import and tests all decode through it.
import type { Decoded, Decoder, DecoderOptions, Protocol, Side } from '../../shared/schema.ts'
import { assertNever } from '../../shared/schema.ts'
import { createSmtpDecoder } from './smtp.ts'
import { createPop3Decoder } from './pop3.ts'

// TEMPORARY until proxy/protocols/imap.ts lands (another helper writes it): IMAP bytes
// are counted as opaque. Replace with `import { createImapDecoder } from './imap.ts'`.
function createImapDecoder(_options: DecoderOptions = {}): Decoder {
  const seen = { client: { offset: 0, length: 0 }, server: { offset: 0, length: 0 } }
  return {
    feed(side: Side, bytes: Uint8Array): Decoded[] {
      seen[side].length += bytes.length
      return []
    },
    end(side: Side, at: number): Decoded[] {
      const s = seen[side]
      if (s.length === 0) return []
      const d: Decoded = { from: side, at, raw: { side, offset: s.offset, length: s.length }, item: { kind: 'opaque', length: s.length, reason: 'imap-decoder-missing' } }
      s.offset += s.length
      s.length = 0
      return [d]
    },
  }
}

export function createDecoder(protocol: Protocol, options: DecoderOptions = {}): Decoder {
  switch (protocol) {
    case 'smtp':
      return createSmtpDecoder(options)
    case 'pop3':
      return createPop3Decoder(options)
    case 'imap':
      return createImapDecoder(options)
    default:
      return assertNever(protocol)
  }
}

export { createSmtpDecoder, createPop3Decoder }
