// The one entry point to the protocol decoders: createDecoder(protocol, options).
// The relay, replay, import and tests all decode through it.
import type { Decoder, DecoderOptions, Protocol } from '../../shared/schema.ts'
import { assertNever } from '../../shared/schema.ts'
import { createImapDecoder } from './imap.ts'
import { createPop3Decoder } from './pop3.ts'
import { createSmtpDecoder } from './smtp.ts'

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

export { createImapDecoder, createPop3Decoder, createSmtpDecoder }
