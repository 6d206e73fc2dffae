// The local CA and its leaves: created once, kept across restarts, key file private,
// leaves that openssl and Node accept for DNS names and IP addresses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadOrCreateCa } from '../../proxy/tls/ca.ts'
import { normalizeNames, isHostName } from '../../proxy/tls/certs.ts'
import { x509 } from '../../proxy/tls/x509.ts'
import { openssl, tempDir } from './helpers.ts'

test('the CA is created on first run and the same CA is loaded after a restart', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const first = await loadOrCreateCa(dir, { hostname: 'box' })
  const second = await loadOrCreateCa(dir, { hostname: 'other' })
  assert.equal(second.fingerprint256, first.fingerprint256)
  assert.equal(second.certPem, first.certPem)
  assert.equal(first.certPath, join(dir, 'ca', 'ca.pem'))
  assert.equal(first.keyPath, join(dir, 'ca', 'ca-key.pem'))
  assert.equal(second.commonName, 'mailtap local CA (box)')
})

test('the CA key file is mode 0600 in a 0700 directory', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir)
  assert.equal((await stat(ca.keyPath)).mode & 0o777, 0o600)
  assert.equal((await stat(join(dir, 'ca'))).mode & 0o777, 0o700)
  // No temporary files are left beside them.
  assert.deepEqual((await readdir(join(dir, 'ca'))).filter((f) => f.endsWith('.tmp')), [])
})

test('two processes starting at once on an empty data dir end up with one CA', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const [a, b, c] = await Promise.all([loadOrCreateCa(dir), loadOrCreateCa(dir), loadOrCreateCa(dir)])
  assert.equal(a.fingerprint256, b.fingerprint256)
  assert.equal(b.fingerprint256, c.fingerprint256)
})

test('the CA certificate is a ten-year CA limited to signing certificates and CRLs', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir, { hostname: 'box' })
  const cert = new x509.X509Certificate(ca.certPem)
  const bc = cert.getExtension(x509.BasicConstraintsExtension)
  assert.equal(bc?.ca, true)
  assert.equal(bc?.critical, true)
  const ku = cert.getExtension(x509.KeyUsagesExtension)
  assert.ok(ku && ku.usages & x509.KeyUsageFlags.keyCertSign && ku.usages & x509.KeyUsageFlags.cRLSign)
  const years = (cert.notAfter.getTime() - Date.now()) / (365.25 * 86_400_000)
  assert.ok(years > 9.9 && years < 10.1, `validity ${years} years`)
  assert.equal(cert.subjectName.getField('CN')[0], 'mailtap local CA (box)')
  // openssl agrees it is a CA that can sign for TLS servers.
  const r = await openssl(['x509', '-in', ca.certPath, '-noout', '-purpose'])
  assert.match(r.stdout, /SSL server CA : Yes/)
})

test('a CA key that does not belong to the certificate is refused, not replaced', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir)
  const { dir: other, cleanup: cleanupOther } = await tempDir()
  t.after(cleanupOther)
  const stranger = await loadOrCreateCa(other)
  await writeFile(ca.keyPath, await (await import('node:fs/promises')).readFile(stranger.keyPath))
  await assert.rejects(loadOrCreateCa(dir), /is not the key of the CA certificate/)
})

test('a leaf for a DNS name and one for 127.0.0.1 verify against the CA with openssl verify', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir)
  for (const names of [['mail.test'], ['127.0.0.1', '::1']]) {
    const leaf = await ca.issue(names)
    const path = join(dir, `${names[0]}.pem`)
    await writeFile(path, leaf.cert)
    const args = ['verify', '-CAfile', ca.certPath, '-purpose', 'sslserver']
    const r = await openssl([...args, ...(names[0] === 'mail.test' ? ['-verify_hostname', 'mail.test'] : ['-verify_ip', '127.0.0.1']), path])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /: OK/)
    // The wrong name is refused by the same check, so the check above means something.
    const wrong = await openssl([...args, '-verify_hostname', 'other.test', path])
    assert.notEqual(wrong.code, 0)
  }
})

test('a leaf carries typed SANs, the first name as CN, EKU serverAuth and at most 397 days', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir)
  const leaf = await ca.issue(['Mail.Test.', '[::1]', '127.0.0.1', 'not a name!', 'mail.test'])
  const cert = new X509Certificate(leaf.cert)
  assert.equal(cert.subject.split('\n')[0], 'CN=mail.test')
  assert.equal(cert.subjectAltName, 'DNS:mail.test, IP Address:0:0:0:0:0:0:0:1, IP Address:127.0.0.1')
  assert.ok(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'))
  assert.equal(cert.ca, false)
  assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)))
  const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000
  assert.ok(days > 300 && days <= 397, `validity ${days} days`)
  assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(leaf.key)))
  // Key identifiers link the leaf to its CA (clients build chains with them).
  const parsed = new x509.X509Certificate(leaf.cert)
  const caSki = new x509.X509Certificate(ca.certPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId
  assert.ok(caSki)
  assert.equal(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, caSki)
  assert.equal(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, await parsed.publicKey.getKeyIdentifier('SHA-1').then((b) => Buffer.from(b).toString('hex')))
})

test('concurrent requests for the same names share one issuance and later ones hit the cache', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir, { persistLeaves: false })
  const [a, b] = await Promise.all([ca.issue(['mail.test', '127.0.0.1']), ca.issue(['127.0.0.1', 'mail.test'])])
  assert.equal(a.cert, b.cert)
  assert.equal((await ca.issue(['mail.test', '127.0.0.1'])).cert, a.cert)
  assert.notEqual((await ca.issue(['other.test'])).cert, a.cert)
  const [c1, c2] = await Promise.all([ca.contextFor('mail.test', ['127.0.0.1']), ca.contextFor('MAIL.TEST', ['127.0.0.1'])])
  assert.equal(c1, c2)
})

test('issued leaves are kept on disk and reused after a restart', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const first = await (await loadOrCreateCa(dir)).issue(['mail.test'])
  const files = await readdir(join(dir, 'ca', 'leaves'))
  assert.equal(files.length, 1)
  assert.equal((await stat(join(dir, 'ca', 'leaves', files[0]!))).mode & 0o777, 0o600)
  const again = await (await loadOrCreateCa(dir)).issue(['mail.test'])
  assert.equal(again.cert, first.cert)
  assert.equal(again.key, first.key)
})

test('names are cleaned before they reach a certificate', () => {
  assert.deepEqual(normalizeNames([' IMAP.Example.COM. ', '[::1]', '::ffff:127.0.0.1', 'fe80::1%eth0', 'bad name', '', undefined, 'imap.example.com']), [
    'imap.example.com',
    '::1',
    '127.0.0.1',
    'fe80::1',
  ])
  assert.equal(isHostName('a'.repeat(64) + '.test'), false)
  assert.equal(isHostName('*.example.com'), true)
  assert.equal(isHostName('-bad.example.com'), false)
})

test('a CA key file left readable by others is tightened back to 0600 on load', async (t) => {
  const { dir, cleanup } = await tempDir()
  t.after(cleanup)
  const ca = await loadOrCreateCa(dir)
  const { chmod } = await import('node:fs/promises')
  await chmod(ca.keyPath, 0o644)
  await loadOrCreateCa(dir)
  assert.equal((await stat(ca.keyPath)).mode & 0o777, 0o600)
})
