// Leaf certificates signed by mailtap's CA: one per name set (SNI, else the route's
// upstream host, plus the loopback addresses), cached in memory and on disk, and the
// TLS SecureContexts that serve them, including an async SNICallback.
import { createHash, webcrypto, X509Certificate as NodeX509 } from 'node:crypto'
import { isIP } from 'node:net'
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { createSecureContext, type SecureContext } from 'node:tls'
import { x509 } from './x509.ts'

export interface CaSigner {
  cert: x509.X509Certificate
  signingKey: CryptoKey
  fingerprint256: string
}

export interface LeafPem {
  /** PKCS#8 PEM private key of the leaf. */
  key: string
  /** PEM certificate of the leaf. */
  cert: string
}

export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void

export interface LeafIssuer {
  issue(names: string[]): Promise<LeafPem>
  contextFor(servername: string | undefined, fallbackNames: string[]): Promise<SecureContext>
  sniCallback(fallbackNames: string[]): SniCallback
}

/** CA/Browser Forum and Apple cap leaf validity at 398 days; stay under it. */
export const LEAF_VALIDITY_DAYS = 365
const DAY_MS = 86_400_000
const LEAF_KEY: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' }

/**
 * Cleans a list of names for a certificate: trims, lower-cases DNS names, strips IPv6
 * brackets, IPv4-mapped prefixes and a trailing dot, drops what is neither a host name
 * nor an IP address, and removes duplicates, keeping the order (the first becomes CN).
 */
export function normalizeNames(names: Iterable<string | undefined>): string[] {
  const out: string[] = []
  for (const raw of names) {
    if (!raw) continue
    let name = raw.trim().toLowerCase()
    if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1)
    if (name.startsWith('::ffff:') && isIP(name.slice(7)) === 4) name = name.slice(7)
    const zone = name.indexOf('%')
    if (zone > 0 && isIP(name.slice(0, zone)) === 6) name = name.slice(0, zone)
    if (!isIP(name)) {
      if (name.endsWith('.')) name = name.slice(0, -1)
      if (!isHostName(name)) continue
    }
    if (!out.includes(name)) out.push(name)
  }
  return out
}

/** A DNS name we are willing to put in a certificate (a client's SNI is untrusted input). */
export function isHostName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(name)
}

/** Issues one leaf now, uncached: a fresh P-256 key, SANs typed DNS or IP, EKU serverAuth. */
export async function issueLeaf(signer: CaSigner, names: string[], options: { now?: number; validityDays?: number } = {}): Promise<LeafPem> {
  const clean = normalizeNames(names)
  if (clean.length === 0) throw new Error(`no usable host name or IP address in [${names.join(', ')}]`)
  const now = options.now ?? Date.now()
  const keys = (await webcrypto.subtle.generateKey(LEAF_KEY, true, ['sign', 'verify'])) as CryptoKeyPair
  const validityMs = (options.validityDays ?? LEAF_VALIDITY_DAYS) * DAY_MS
  // Never outlive the CA: a chain with a leaf past its issuer fails on strict clients.
  const notAfter = new Date(Math.min(now + validityMs, signer.cert.notAfter.getTime()))
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: [{ CN: [clean[0]!] }, { O: ['mailtap'] }],
    issuer: signer.cert.subjectName,
    // An hour of slack for a client whose clock runs a little behind.
    notBefore: new Date(now - 3600_000),
    notAfter,
    publicKey: keys.publicKey,
    signingKey: signer.signingKey,
    signingAlgorithm: signingAlgorithmFor(signer.signingKey),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(clean.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value }))),
      new x509.SubjectKeyIdentifierExtension(await keyIdentifier(keys.publicKey)),
      await authorityKeyId(signer),
    ],
  })
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey)
  return { key: x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n', cert: cert.toString('pem') + '\n' }
}

// RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits, which for an EC key is
// its raw point. Hashing it here is ~10x faster than the library's generic helper.
async function keyIdentifier(publicKey: CryptoKey): Promise<string> {
  const raw = await webcrypto.subtle.exportKey('raw', publicKey as webcrypto.CryptoKey)
  return createHash('sha1').update(Buffer.from(raw)).digest('hex')
}

// The CA's own key identifier never changes: compute the AKI extension once per CA.
const akiBySigner = new WeakMap<CaSigner, Promise<x509.AuthorityKeyIdentifierExtension>>()
function authorityKeyId(signer: CaSigner): Promise<x509.AuthorityKeyIdentifierExtension> {
  let aki = akiBySigner.get(signer)
  if (!aki) {
    const ski = signer.cert.getExtension(x509.SubjectKeyIdentifierExtension)
    aki = ski ? Promise.resolve(new x509.AuthorityKeyIdentifierExtension(ski.keyId)) : x509.AuthorityKeyIdentifierExtension.create(signer.cert.publicKey)
    akiBySigner.set(signer, aki)
  }
  return aki
}

function signingAlgorithmFor(key: CryptoKey): Algorithm {
  if (key.algorithm.name === 'ECDSA') return { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams
  return { name: key.algorithm.name }
}

function randomSerialHex(): string {
  const bytes = new Uint8Array(16)
  webcrypto.getRandomValues(bytes)
  bytes[0] = (bytes[0]! & 0x7f) | 0x01
  return Buffer.from(bytes).toString('hex')
}

/** A small LRU of promises: concurrent requests for one key share the same promise. */
class PromiseCache<T> {
  private map = new Map<string, Promise<T>>()
  constructor(private readonly max: number) {}
  get(key: string, make: () => Promise<T>): Promise<T> {
    const hit = this.map.get(key)
    if (hit) {
      this.map.delete(key)
      this.map.set(key, hit)
      return hit
    }
    const p = make()
    this.map.set(key, p)
    // A failed issuance must not poison the cache.
    p.catch(() => {
      if (this.map.get(key) === p) this.map.delete(key)
    })
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!)
    return p
  }
  delete(key: string): void {
    this.map.delete(key)
  }
}

export function createLeafIssuer(signer: CaSigner, options: { dir?: string; maxEntries?: number } = {}): LeafIssuer {
  const max = options.maxEntries ?? 512
  const leaves = new PromiseCache<LeafPem & { notAfter: number }>(max)
  const contexts = new PromiseCache<{ ctx: SecureContext; notAfter: number }>(max)
  const caNode = new NodeX509(signer.cert.toString('pem'))

  const keyOf = (names: string[]) => [...names].sort().join(',')
  const fileOf = (key: string) =>
    join(options.dir!, createHash('sha256').update(`${signer.fingerprint256}\n${key}`).digest('hex').slice(0, 32) + '.pem')

  async function readLeafFile(path: string): Promise<(LeafPem & { notAfter: number }) | undefined> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch {
      return undefined
    }
    const key = text.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/)?.[0]
    const cert = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/)?.[0]
    if (!key || !cert) return undefined
    try {
      const parsed = new NodeX509(cert)
      if (!parsed.checkIssued(caNode) || !parsed.verify(caNode.publicKey)) return undefined
      return { key, cert, notAfter: Date.parse(parsed.validTo) }
    } catch {
      return undefined
    }
  }

  async function load(names: string[], key: string): Promise<LeafPem & { notAfter: number }> {
    const path = options.dir ? fileOf(key) : undefined
    if (path) {
      const stored = await readLeafFile(path)
      if (stored && stored.notAfter - Date.now() > DAY_MS) return stored
    }
    const leaf = await issueLeaf(signer, names)
    const notAfter = Date.parse(new NodeX509(leaf.cert).validTo)
    if (path) {
      // A disk cache: failing to write it costs a re-issue on the next run, nothing more.
      try {
        await mkdir(options.dir!, { recursive: true, mode: 0o700 })
        const tmp = `${path}.${process.pid}.tmp`
        await writeFile(tmp, leaf.key + leaf.cert, { mode: 0o600 })
        await rename(tmp, path)
      } catch {}
    }
    return { ...leaf, notAfter }
  }

  // A process that runs for a year renews its leaves a day before they expire.
  async function fresh<T extends { notAfter: number }>(cache: PromiseCache<T>, key: string, make: () => Promise<T>): Promise<T> {
    const value = await cache.get(key, make)
    if (value.notAfter - Date.now() >= DAY_MS) return value
    cache.delete(key)
    return cache.get(key, make)
  }

  async function issueClean(clean: string[]): Promise<LeafPem & { notAfter: number }> {
    const key = keyOf(clean)
    return fresh(leaves, key, () => load(clean, key))
  }

  async function issue(names: string[]): Promise<LeafPem> {
    const clean = normalizeNames(names)
    if (clean.length === 0) throw new Error(`no usable host name or IP address in [${names.join(', ')}]`)
    const leaf = await issueClean(clean)
    return { key: leaf.key, cert: leaf.cert }
  }

  async function contextFor(servername: string | undefined, fallbackNames: string[]): Promise<SecureContext> {
    const sni = servername && isHostName(servername.toLowerCase().replace(/\.$/, '')) ? [servername] : []
    const clean = normalizeNames([...sni, ...fallbackNames])
    if (clean.length === 0) throw new Error('no name to issue a certificate for')
    const entry = await fresh(contexts, keyOf(clean), async () => {
      const leaf = await issueClean(clean)
      return { ctx: createSecureContext({ key: leaf.key, cert: leaf.cert }), notAfter: leaf.notAfter }
    })
    return entry.ctx
  }

  function sniCallback(fallbackNames: string[]): SniCallback {
    return (servername, cb) => {
      contextFor(servername, fallbackNames).then(
        (ctx) => cb(null, ctx),
        (err: Error) => cb(err),
      )
    }
  }

  return { issue, contextFor, sniCallback }
}
