// Certificate benchmark: what a client waits for before mailtap can answer its
// ClientHello. Key generation (EC P-256 against RSA-2048, the CA key choice), a leaf
// issued cold (new key + signature), from the disk cache after a restart, and cached in
// memory; a SecureContext cold and cached; and a full loopback TLS handshake through
// acceptTls on a warm cache, against a plain tls.Server with a fixed certificate.
// Prints medians over N runs. Run: node --import tsx bench/certs.ts  (BENCH_N)
import { webcrypto } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { loadOrCreateCa, importSigningKey } from '../proxy/tls/ca.ts'
import { issueLeaf } from '../proxy/tls/certs.ts'
import { acceptTls } from '../proxy/tls/upgrade.ts'
import { x509 } from '../proxy/tls/x509.ts'
import { median, p90, timeN } from './timing.ts'

const N = Number(process.env.BENCH_N ?? 50)

async function handshake(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'mail.test' })
    c.once('secureConnect', () => {
      c.destroy()
      resolve()
    })
    c.once('error', reject)
  })
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-bench-certs-'))
  const rows: [string, number[]][] = []
  try {
    rows.push(['key: EC P-256 generate', await timeN(N, () => webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']))])
    rows.push([
      'key: RSA-2048 generate',
      await timeN(Math.min(N, 20), () =>
        webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign']),
      ),
    ])
    rows.push([
      'CA: create on first run',
      await timeN(Math.min(N, 20), async (i) => {
        await loadOrCreateCa(path.join(dir, `ca-${i}`), { persistLeaves: false })
      }),
    ])
    const ca = await loadOrCreateCa(path.join(dir, 'main'), { persistLeaves: true })
    rows.push(['CA: load existing', await timeN(N, () => loadOrCreateCa(path.join(dir, 'main')))])

    const caCert = new x509.X509Certificate(ca.certPem)
    const signer = { cert: caCert, signingKey: await importSigningKey(readFileSync(ca.keyPath, 'utf8')), fingerprint256: ca.fingerprint256 }
    rows.push(['leaf: issue cold (key + sign)', await timeN(N, (i) => issueLeaf(signer, [`host${i}.test`, '127.0.0.1', '::1']))])
    rows.push(['leaf: cold via ca.issue (+ disk write)', await timeN(N, (i) => ca.issue([`cold${i}.test`, '127.0.0.1']))])
    // A restarted process: the CA loaded anew, the leaf read back from dataDir/ca/leaves/.
    const diskOnly: number[] = []
    for (let i = 0; i < Math.min(N, 20); i++) {
      const fresh = await loadOrCreateCa(path.join(dir, 'main'))
      const t0 = performance.now()
      await fresh.issue([`cold${i}.test`, '127.0.0.1'])
      diskOnly.push(performance.now() - t0)
    }
    rows.push(['leaf: from disk after restart', diskOnly])
    rows.push(['leaf: cached in memory', await timeN(N, () => ca.issue(['cold0.test', '127.0.0.1']))])
    rows.push(['context: cold (new name)', await timeN(N, (i) => ca.contextFor(`ctx${i}.test`, ['127.0.0.1']))])
    rows.push(['context: cached', await timeN(N, () => ca.contextFor('ctx0.test', ['127.0.0.1']))])

    // Full handshakes on loopback: mailtap's acceptTls (warm cache) vs a plain tls.Server.
    const leaf = await ca.issue(['mail.test'])
    const plain = tls.createServer({ key: leaf.key, cert: leaf.cert }, (s) => s.on('error', () => {}))
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r))
    const viaMailtap = net.createServer((s) => {
      s.on('error', () => {})
      acceptTls(s, { ca, fallbackNames: ['mail.test'] }).then(({ tls: t }) => t.on('error', () => {}), () => {})
    })
    await new Promise<void>((r) => viaMailtap.listen(0, '127.0.0.1', r))
    rows.push(['handshake: plain tls.Server', await timeN(N, () => handshake((plain.address() as net.AddressInfo).port))])
    rows.push(['handshake: acceptTls, cached leaf', await timeN(N, () => handshake((viaMailtap.address() as net.AddressInfo).port))])
    plain.close()
    viaMailtap.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  const width = Math.max(...rows.map(([name]) => name.length))
  console.log(`mailtap certificate benchmark, median and p90 in ms (N=${N}, node ${process.version}, ${os.cpus().length} cores)`)
  console.log(`${'what'.padEnd(width)}  ${'median'.padStart(8)}  ${'p90'.padStart(8)}`)
  for (const [name, xs] of rows) console.log(`${name.padEnd(width)}  ${median(xs).toFixed(3).padStart(8)}  ${p90(xs).toFixed(3).padStart(8)}`)
  const hs = rows.filter(([n]) => n.startsWith('handshake'))
  if (hs.length === 2) console.log(`handshake ratio acceptTls / plain tls.Server: ${(median(hs[1]![1]) / median(hs[0]![1])).toFixed(2)}`)
}

await main()
