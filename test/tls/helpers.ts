// Test material for the TLS tests: throwaway data dirs, test CAs and upstream
// certificates made with @peculiar/x509 (self-signed, wrong host, expired), a loopback
// TLS upstream, and a runner for the openssl command line.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { isIP, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { webcrypto } from 'node:crypto'
import tls from 'node:tls'
import { x509 } from '../../proxy/tls/x509.ts'

export async function tempDir(prefix = 'mailtap-tls-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

export interface TestCa {
  keys: CryptoKeyPair
  cert: x509.X509Certificate
  pem: string
}

const EC: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' }
const SIG = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams
const DAY = 86_400_000

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey)
  return x509.PemConverter.encode(der, 'PRIVATE KEY')
}

export async function makeTestCa(cn: string): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${cn}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: SIG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  })
  return { keys, cert, pem: cert.toString('pem') }
}

/** A server certificate for `names`, signed by `issuer` or self-signed when none. */
export async function makeServerCert(opts: { names: string[]; issuer?: TestCa; notBefore?: Date; notAfter?: Date }): Promise<{ key: string; cert: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair
  const san = new x509.SubjectAlternativeNameExtension(opts.names.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value })))
  const common = {
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 30 * DAY),
    signingAlgorithm: SIG,
    extensions: [new x509.BasicConstraintsExtension(false), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]), san],
  }
  const cert = opts.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: `CN=${opts.names[0]}`,
        issuer: opts.issuer.cert.subject,
        publicKey: keys.publicKey,
        signingKey: opts.issuer.keys.privateKey,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: `CN=${opts.names[0]}`, keys })
  return { key: await keyPem(keys.privateKey), cert: cert.toString('pem') }
}

/** An implicit-TLS upstream on 127.0.0.1 that greets, then echoes lines in upper case. */
export async function startTlsUpstream(opts: tls.TlsOptions): Promise<{ server: tls.Server; port: number; close: () => Promise<void> }> {
  const server = tls.createServer(opts, (s) => {
    s.on('error', () => {})
    s.write('* OK upstream ready\r\n')
    s.on('data', (d) => s.write(d.toString().toUpperCase()))
  })
  server.on('tlsClientError', () => {})
  return listen(server)
}

export async function listen<S extends Server>(server: S): Promise<{ server: S; port: number; close: () => Promise<void> }> {
  // Track connections so close() never waits on a socket a failed test left open.
  const sockets = new Set<Socket>()
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Runs openssl with `args`, stdin empty; resolves with its output whatever the exit code. */
export function openssl(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err)
      resolve({ code: child.exitCode ?? 0, stdout, stderr })
    })
    child.stdin?.end(input)
  })
}

/** Reads from `socket` until `pattern` shows up in what it sent; resolves with all of it. */
export function readUntil(socket: NodeJS.ReadableStream, pattern: RegExp | string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const onData = (d: Buffer | string) => {
      text += d.toString()
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) {
        socket.removeListener('data', onData)
        socket.removeListener('error', reject)
        resolve(text)
      }
    }
    socket.on('data', onData)
    socket.on('error', reject)
  })
}
