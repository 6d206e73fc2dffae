// @peculiar/x509 with the Reflect polyfill it needs (tsyringe inside it calls
// Reflect.getMetadata at load time), bound to Node's native WebCrypto. Import x509 from
// here, never from the package directly, so the polyfill is always loaded first.
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

export { x509 }
