// mailtap's local certificate authority: created once in the data directory, kept across
// restarts, and used to sign a leaf certificate for each name a client asks for.
//
// Why EC P-256 and @peculiar/x509 (bench/certs.ts, median of 50 on the 2-core box, which
// was shared with a load average of ~12 while measuring, so absolute times are inflated):
// generating a P-256 key takes 0.18 ms against 600 ms (p90 900 ms) for RSA-2048, so the
// first run, and every cold leaf (its own fresh key), stays in the milliseconds: a CA is
// created in ~20 ms, a cold leaf in ~10 ms, a leaf cached in memory in 0.005 ms.
// @peculiar/x509 signs with Node's native WebCrypto (no JS bignum code; node-forge has no
// ECDSA at all and generates RSA keys in JS), is maintained and typed. Every mail client
// we target (Thunderbird/NSS, Outlook/SChannel, Apple Mail, OpenSSL, Node, Python)
// accepts ECDSA P-256 certificates.
import { randomBytes, createPrivateKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto'
import { mkdir, readFile, writeFile, chmod, link, rename, unlink } from 'node:fs/promises'
import { hostname as osHostname } from 'node:os'
import { join } from 'node:path'
import type { SecureContext } from 'node:tls'
import { x509 } from './x509.ts'
import { createLeafIssuer, type CaSigner, type LeafIssuer, type LeafPem, type SniCallback } from './certs.ts'

export interface Ca {
  /** The CA certificate in PEM; what `mailtap ca` prints and `/api/ca.pem` serves. */
  certPem: string
  certPath: string
  keyPath: string
  /** 'mailtap local CA (host)'. */
  commonName: string
  /** SHA-256 fingerprint of the CA certificate, 'AB:CD:...'. */
  fingerprint256: string
  notAfter: Date
  /** A leaf for these names (first = CN), signed by this CA; cached by name set. */
  issue(names: string[]): Promise<LeafPem>
  /** The TLS context serving the leaf for `servername` (SNI) plus `fallbackNames`. */
  contextFor(servername: string | undefined, fallbackNames: string[]): Promise<SecureContext>
  /** An async SNICallback for a tls.Server / server-side TLSSocket. */
  sniCallback(fallbackNames: string[]): SniCallback
}

export interface CaOptions {
  /** For the CA's name; defaults to os.hostname(). */
  hostname?: string
  /** Keep issued leaves under `dataDir/ca/leaves/` so they survive restarts (default true).
   *  A client that pinned a leaf by exception (Thunderbird's "confirm exception") keeps
   *  working after a restart. */
  persistLeaves?: boolean
  /** Bound on the in-memory leaf and context caches (hostile SNI must not grow them). */
  maxCachedLeaves?: number
}

const CA_VALIDITY_YEARS = 10
const HOUR_MS = 3600_000

const EC_KEY: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' }

/** Loads the CA from `dataDir/ca/`, creating it on first run. */
export async function loadOrCreateCa(dataDir: string, options: CaOptions = {}): Promise<Ca> {
  const dir = join(dataDir, 'ca')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const certPath = join(dir, 'ca.pem')
  const keyPath = join(dir, 'ca-key.pem')

  let material = await readCa(certPath, keyPath)
  if (!material) {
    await createCa(dir, certPath, keyPath, options.hostname ?? osHostname())
    material = await readCaRetrying(certPath, keyPath)
  }
  const { certPem, keyPem } = material
  // A key copied in with looser permissions is tightened: it can sign for any host.
  await chmod(keyPath, 0o600).catch(() => {})
  const cert = new x509.X509Certificate(certPem)
  const signingKey = await importSigningKey(keyPem)
  await assertKeyMatches(cert, keyPem, keyPath)

  const nodeCert = new NodeX509(certPem)
  const signer: CaSigner = { cert, signingKey, fingerprint256: nodeCert.fingerprint256 }
  const issuer: LeafIssuer = createLeafIssuer(signer, {
    dir: options.persistLeaves === false ? undefined : join(dir, 'leaves'),
    maxEntries: options.maxCachedLeaves,
  })
  return {
    certPem,
    certPath,
    keyPath,
    commonName: cert.subjectName.getField('CN')[0] ?? cert.subject,
    fingerprint256: nodeCert.fingerprint256,
    notAfter: cert.notAfter,
    issue: (names) => issuer.issue(names),
    contextFor: (servername, fallbackNames) => issuer.contextFor(servername, fallbackNames),
    sniCallback: (fallbackNames) => issuer.sniCallback(fallbackNames),
  }
}

async function readCa(certPath: string, keyPath: string): Promise<{ certPem: string; keyPem: string } | undefined> {
  const [certPem, keyPem] = await Promise.all([readText(certPath), readText(keyPath)])
  if (certPem && keyPem) return { certPem, keyPem }
  if (certPem && !keyPem) throw new Error(`${certPath} exists but its key ${keyPath} is missing: move ca.pem away to create a new CA`)
  return undefined
}

// Two processes starting on a fresh data dir: the loser of the key race waits for the
// winner's certificate to appear instead of failing or making a second CA.
async function readCaRetrying(certPath: string, keyPath: string): Promise<{ certPem: string; keyPem: string }> {
  for (let i = 0; i < 50; i++) {
    const [certPem, keyPem] = await Promise.all([readText(certPath), readText(keyPath)])
    if (certPem && keyPem) return { certPem, keyPem }
    await new Promise((r) => setTimeout(r, 40))
  }
  throw new Error(`the CA in ${certPath} is incomplete (key without certificate)`)
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function createCa(dir: string, certPath: string, keyPath: string, host: string): Promise<void> {
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair
  const now = Date.now()
  const notAfter = new Date(now)
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS)
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`mailtap local CA (${host})`] }, { O: ['mailtap'] }],
    notBefore: new Date(now - HOUR_MS),
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  const keyPem = await exportPrivateKeyPem(keys.privateKey)
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`
  const tmpKey = join(dir, `.ca-key.${tag}.tmp`)
  const tmpCert = join(dir, `.ca.${tag}.tmp`)
  await writeFile(tmpKey, keyPem, { mode: 0o600 })
  await chmod(tmpKey, 0o600)
  await writeFile(tmpCert, cert.toString('pem') + '\n', { mode: 0o644 })
  try {
    // link() fails with EEXIST when another process already placed a key: it won.
    await link(tmpKey, keyPath)
    await rename(tmpCert, certPath)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    await unlink(tmpKey).catch(() => {})
    await unlink(tmpCert).catch(() => {})
  }
}

/** Imports a PKCS#8 (or SEC1/PKCS#1) PEM key as a WebCrypto signing key. */
export async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const key = createPrivateKey(keyPem)
  const der = key.export({ type: 'pkcs8', format: 'der' })
  let algorithm: EcKeyImportParams | RsaHashedImportParams
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined
    if (!named) throw new Error(`unsupported CA key curve ${curve}`)
    algorithm = { name: 'ECDSA', namedCurve: named }
  } else if (key.asymmetricKeyType === 'rsa') {
    algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
  } else {
    throw new Error(`unsupported CA key type ${key.asymmetricKeyType}`)
  }
  return webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']) as Promise<CryptoKey>
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey)
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n'
}

async function assertKeyMatches(cert: x509.X509Certificate, keyPem: string, keyPath: string): Promise<void> {
  const nodeCert = new NodeX509(cert.toString('pem'))
  if (!nodeCert.checkPrivateKey(createPrivateKey(keyPem))) {
    throw new Error(`${keyPath} is not the key of the CA certificate beside it`)
  }
}

/** 128 random bits, positive (RFC 5280 4.1.2.2: a non-negative integer, at most 20 octets). */
export function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0]! & 0x7f) | 0x01
  return bytes.toString('hex')
}
