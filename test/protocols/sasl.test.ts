// SASL decoding shared by SMTP, POP3 and IMAP: each mechanism's user, masked decoding and
// secrets, and bad input reported as data.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeBase64, describeNtlm, SaslExchange } from '../../proxy/protocols/sasl.ts'

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')

test('base64 is decoded strictly: bad characters and impossible lengths are rejected', () => {
  assert.equal(decodeBase64('YWxpY2U=')?.toString(), 'alice')
  assert.equal(decodeBase64('YWxpY2U')?.toString(), 'alice')
  assert.equal(decodeBase64('YWxp Y2U='), null)
  assert.equal(decodeBase64('YWxpY'), null)
  assert.equal(decodeBase64('Y=Wx'), null)
  assert.equal(decodeBase64('')?.length, 0)
})

test('PLAIN shows the authorization identity and user and keeps the password secret', () => {
  const ex = new SaslExchange('plain')
  const r = ex.initial(b64('boss\0alice\0pa ss'))
  assert.equal(r.user, 'alice')
  assert.equal(r.authzid, 'boss')
  assert.equal(r.decoded, 'authzid=boss user=alice password=•••')
  assert.deepEqual(r.secrets.map((s) => [s.kind, s.value]), [['password', 'pa ss'], ['sasl-response', b64('boss\0alice\0pa ss')]])
})

test('PLAIN without two NUL separators is malformed, not an exception', () => {
  const r = new SaslExchange('PLAIN').response(b64('alice:secret'))
  assert.equal(r.valid, true)
  assert.equal(r.decoded, '•••')
  assert.deepEqual(r.notes.map((n) => n.code), ['AUTH_MALFORMED'])
})

test('LOGIN follows the server prompts, even when the password is asked first', () => {
  const ex = new SaslExchange('LOGIN')
  assert.equal(ex.challenge('UGFzc3dvcmQ6').decoded, 'Password:')
  const pw = ex.response(b64('hunter2'))
  assert.equal(pw.decoded, 'password=•••')
  assert.equal(ex.challenge('VXNlcm5hbWU6').decoded, 'Username:')
  assert.equal(ex.response(b64('alice')).user, 'alice')
})

test('CRAM-MD5 shows the challenge and the user and hides the digest', () => {
  const ex = new SaslExchange('CRAM-MD5')
  assert.equal(ex.challenge(b64('<1.2@host>')).decoded, '<1.2@host>')
  const r = ex.response(b64('alice 0123456789abcdef0123456789abcdef'))
  assert.equal(r.user, 'alice')
  assert.equal(r.decoded, 'user=alice digest=•••')
  assert.equal(r.secrets[0].value, '0123456789abcdef0123456789abcdef')
})

test('XOAUTH2 shows the user, hides the token and decodes the JSON error', () => {
  const ex = new SaslExchange('XOAUTH2')
  const r = ex.initial(b64('user=a@b.example\x01auth=Bearer tok123\x01\x01'))
  assert.equal(r.user, 'a@b.example')
  assert.equal(r.decoded, 'user=a@b.example auth=Bearer •••')
  assert.equal(r.secrets.find((s) => s.kind === 'token')?.value, 'tok123')
  const err = ex.challenge(b64('{"status":"401","schemes":"bearer"}'))
  assert.equal(err.decoded, '{"status":"401","schemes":"bearer"}')
  assert.deepEqual(err.notes.map((n) => n.code), ['OAUTH_ERROR'])
})

test('SCRAM shows every message but masks the client proof', () => {
  const ex = new SaslExchange('SCRAM-SHA-256')
  assert.equal(ex.initial(b64('n,,n=us=2Cer,r=abc')).user, 'us,er')
  ex.challenge(b64('r=abcdef,s=c2FsdA==,i=4096'))
  const fin = ex.response(b64('c=biws,r=abcdef,p=cHJvb2Y='))
  assert.equal(fin.decoded, 'c=biws,r=abcdef,p=•••')
  assert.equal(fin.secrets[0].value, 'cHJvb2Y=')
  assert.deepEqual(ex.challenge(b64('e=invalid-proof')).notes.map((n) => n.code), ['SCRAM_ERROR'])
})

test('NTLM names each message and reads the user of the authenticate message', () => {
  assert.equal(describeNtlm(Buffer.from('TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=', 'base64')).text, 'NTLM type 1 (negotiate)')
  const t3 = Buffer.from('TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAgACABwAAAACgAKAHgAAAAKAAoAggAAAAAAAACMAAAABYIIAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQICAgICAgICAgICAgICAgICAgICAgICAkMATwBSAFAAYQBsAGkAYwBlAFAAQwAtADAAMQA=', 'base64')
  const d = describeNtlm(t3)
  assert.equal(d.user, 'alice')
  assert.match(d.text, /CORP\\alice host=PC-01/)
  assert.equal(describeNtlm(Buffer.from('garbage')).user, undefined)
})

test('a cancel is a cancel, and invalid base64 is invalid with a note and no plain text', () => {
  const ex = new SaslExchange('LOGIN')
  assert.equal(ex.response('*').cancel, true)
  const bad = new SaslExchange('PLAIN').response('%%%')
  assert.equal(bad.valid, false)
  assert.equal(bad.decoded, '•••')
  assert.deepEqual(bad.notes.map((n) => n.code), ['AUTH_INVALID_BASE64'])
})

test('truncated NTLM and binary payloads never throw', () => {
  const ntlmHead = Buffer.from('NTLMSSP\0\x03\0\0\0', 'latin1')
  for (const payload of [ntlmHead, Buffer.concat([ntlmHead, Buffer.alloc(60, 0xff)]), Buffer.from([0, 1, 2, 255])]) {
    for (const mech of ['NTLM', 'PLAIN', 'LOGIN', 'SCRAM-SHA-1', 'GSSAPI', 'DIGEST-MD5', 'OAUTHBEARER']) {
      const ex = new SaslExchange(mech)
      ex.challenge(payload.toString('base64'))
      ex.response(payload.toString('base64'))
      ex.response(payload.toString('base64'))
    }
  }
})

test('an exchange knows when the client has sent every step of a fixed-length mechanism', () => {
  const login = new SaslExchange('LOGIN')
  login.response('YWxpY2U=')
  assert.equal(login.clientDone, false)
  login.response('c2VjcmV0bw==')
  assert.equal(login.clientDone, true)
  const plain = new SaslExchange('plain')
  plain.initial('AGFsaWNlAHNlY3JldG8=')
  assert.equal(plain.clientDone, true)
  const cancelled = new SaslExchange('SCRAM-SHA-256')
  cancelled.response('biwsbj1hbGljZSxyPWFiYw==')
  assert.equal(cancelled.clientDone, false, 'SCRAM has no fixed number of steps')
  cancelled.response('*')
  assert.equal(cancelled.clientDone, true)
})
