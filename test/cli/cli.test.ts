// The command line: bad input gets one clear line and exit code 2; routes print at start.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import net from 'node:net'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseRoute } from '../../proxy/config.ts'

const BIN = path.resolve(import.meta.dirname, '../../bin/mailtap.mjs')

function mailtap(args: string[], opts: { untilLine?: RegExp } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
      if (opts.untilLine?.test(stdout)) child.kill('SIGTERM')
    })
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const bad: [string, string[], RegExp][] = [
  ['an unknown flag', ['--frobnicate'], /unknown option --frobnicate/],
  ['a route without an upstream', ['--route', 'imap://127.0.0.1:1143'], /malformed route 'imap:\/\/127.0.0.1:1143'/],
  ['a route with an unknown scheme', ['--route', 'http://127.0.0.1:1143=imap://x:143'], /malformed route/],
  ['a route mixing protocols', ['--route', 'imap://:1143=smtp://x:25'], /client speaks imap but the upstream smtp/],
  ['a bad --http', ['--http', 'nope', '--route', 'smtp://:0=smtp://x:25'], /bad value for --http/],
  ['a flag without its value', ['--route'], /option --route needs a value/],
  ['a bad --upstream-verify', ['--upstream-verify', 'maybe', '--route', 'smtp://:0=smtp://x:25'], /--upstream-verify/],
  ['an unknown command', ['frob'], /unknown command 'frob'/],
  ['a malformed replay --rule', ['replay', 'x', '--rule', 'nope'], /bad normalisation rule 'nope'/],
  ['a missing config file', ['--config', '/nonexistent/mailtap.json'], /cannot read config file/],
]

for (const [what, args, message] of bad) {
  test(`${what} gets one clear line and exit code 2`, async () => {
    const r = await mailtap(args)
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, message)
    assert.equal(r.stderr.trim().split('\n').length, 1, `expected one line, got: ${r.stderr}`)
    assert.match(r.stderr, /^mailtap: /)
  })
}

test('a port already in use gets one clear line naming it and exit code 2', async () => {
  const blocker = net.createServer().listen(0, '127.0.0.1')
  await new Promise((r) => blocker.once('listening', r))
  const port = (blocker.address() as net.AddressInfo).port
  try {
    const data = mkdtempSync(path.join(os.tmpdir(), 'mailtap-cli-'))
    const r = await mailtap(['--data', data, '--http', '127.0.0.1:0', '--route', `smtp://127.0.0.1:${port}=smtp://127.0.0.1:25`])
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`port 127.0.0.1:${port} is already in use`))
    assert.equal(r.stderr.trim().split('\n').length, 1)
  } finally {
    blocker.close()
  }
})

test('--help and --version print and exit 0', async () => {
  const help = await mailtap(['--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /--route CLIENT_URL=UPSTREAM_URL/)
  const version = await mailtap(['--version'])
  assert.equal(version.code, 0)
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/)
})

test('at start mailtap prints each route and the dashboard URL', async () => {
  const data = mkdtempSync(path.join(os.tmpdir(), 'mailtap-cli-'))
  const r = await mailtap(
    ['--data', data, '--http', '127.0.0.1:0', '--route', 'smtp://127.0.0.1:0=smtp://127.0.0.1:25', '--route', 'imap://:0=imap://mail.example.com'],
    { untilLine: /dashboard: http:\/\/127\.0\.0\.1:\d+\//m },
  )
  assert.match(r.stdout, /route: smtp:\/\/127\.0\.0\.1:\d+ → smtp:\/\/127\.0\.0\.1:25/)
  assert.match(r.stdout, /route: imap:\/\/127\.0\.0\.1:\d+ → imap:\/\/mail\.example\.com:143/)
  assert.match(r.stdout, /dashboard: http:\/\/127\.0\.0\.1:\d+\//)
})

test('a config file gives the same settings as flags, and flags add to it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mailtap-cli-'))
  const file = path.join(dir, 'mailtap.json')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(file, JSON.stringify({ routes: ['pop3://:0=pop3://127.0.0.1:110'], http: '127.0.0.1:0', data: dir }))
  const r = await mailtap(['--config', file, '--route', 'smtp://:0=smtp://127.0.0.1:25'], { untilLine: /dashboard: / })
  assert.match(r.stdout, /route: pop3:\/\/127\.0\.0\.1:\d+ → pop3:\/\/127\.0\.0\.1:110/)
  assert.match(r.stdout, /route: smtp:\/\/127\.0\.0\.1:\d+ → smtp:\/\/127\.0\.0\.1:25/)
})

test('route URLs carry the protocol, TLS legs, default ports and the TLS mode', () => {
  const r = parseRoute('imap://127.0.0.1:1143=imaps://imap.example.com?tls=passthrough')
  assert.equal(r.protocol, 'imap')
  assert.deepEqual(r.listen, { host: '127.0.0.1', port: 1143, tls: false })
  assert.deepEqual(r.upstream, { host: 'imap.example.com', port: 993, tls: true })
  assert.equal(r.tlsMode, 'passthrough')
  const v6 = parseRoute('smtps://[::1]:4650=smtp://mail.example.com')
  assert.deepEqual(v6.listen, { host: '::1', port: 4650, tls: true })
  assert.equal(v6.upstream.port, 25)
  assert.equal(v6.listenUrl, 'smtps://[::1]:4650')
})

test('a second mailtap on the same data directory, or an export beside a running one, is refused with one line', async () => {
  const data = mkdtempSync(path.join(os.tmpdir(), 'mailtap-cli-'))
  const first = spawn(process.execPath, [BIN, '--data', data, '--http', '127.0.0.1:0', '--route', 'smtp://127.0.0.1:0=smtp://127.0.0.1:25'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      first.stdout.on('data', (d) => (out += d) && /dashboard: /.test(out) && resolve())
      first.once('exit', (code) => reject(new Error(`first mailtap exited with ${code}`)))
    })
    const second = await mailtap(['--data', data, '--http', '127.0.0.1:0', '--route', 'smtp://127.0.0.1:0=smtp://127.0.0.1:25'])
    assert.equal(second.code, 2)
    assert.match(second.stderr, new RegExp(`^mailtap: another mailtap \\(pid ${first.pid}\\) is using `))
    const exported = await mailtap(['export', 'whatever', '--format', 'txt', '--data', data])
    assert.equal(exported.code, 2)
    assert.match(exported.stderr, new RegExp(`mailtap \\(pid ${first.pid}\\) is running on .*: use its dashboard or HTTP API, or stop it first`))
    assert.equal(exported.stderr.trim().split('\n').length, 1)
  } finally {
    first.kill('SIGKILL')
  }
  // A pid file left by a killed mailtap is stale: the next one starts.
  await new Promise((r) => first.once('exit', r))
  const again = await mailtap(['--data', data, '--http', '127.0.0.1:0', '--route', 'smtp://127.0.0.1:0=smtp://127.0.0.1:25'], { untilLine: /dashboard: / })
  assert.match(again.stdout, /dashboard: /)
})
