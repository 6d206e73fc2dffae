// The IMAP decoder against transcript fixtures: each replayed whole, byte by byte and
// split at every offset with identical output, compared with its reviewed golden.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Decoded, Item } from '../../shared/schema.ts'
import { createImapDecoder } from '../../proxy/protocols/imap.ts'
import { expectGolden, loadTranscript, replay, replayAllSplits } from '../helpers/transcript.ts'
import { mimeMsg } from '../fixtures/imap/generate-data.ts'

const dir = fileURLToPath(new URL('../fixtures/imap/', import.meta.url))
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()

const items = (decoded: Decoded[], kind: Item['kind']) => decoded.filter((d) => d.item?.kind === kind)
const codes = (decoded: Decoded[]) => decoded.flatMap((d) => d.notes ?? []).map((n) => n.code)
const run = (name: string) => replay(createImapDecoder, loadTranscript(join(dir, name)))

describe('IMAP transcript fixtures', () => {
  for (const file of fixtures) {
    it(`${file} decodes the same whole, byte by byte and split anywhere, and matches its golden`, () => {
      const result = replayAllSplits(createImapDecoder, loadTranscript(join(dir, file)), { maxSplits: 250 })
      expectGolden(join(dir, file.replace(/\.txt$/, '.events.json')), result)
    })
  }
})

describe('the IMAP decoder', () => {
  it("decodes the seed's session: the login user, the fetched message, the silent STORE and the EXPUNGE", () => {
    const { decoded, messages } = run('seed.txt')
    const login = items(decoded, 'auth').find((d) => d.item?.kind === 'auth' && d.item.step === 'start')
    assert.equal(login?.item?.kind === 'auth' && login.item.user, 'usuario')
    const secrets = decoded.flatMap((d) => d.secrets ?? [])
    assert.deepEqual(secrets, [{ kind: 'password', value: 'contraseña' }])
    for (const d of decoded) assert.ok(!JSON.stringify(d.item ?? {}).includes('contraseña'), 'the password never shows in an item')
    assert.equal(messages.length, 1)
    assert.match(messages[0].bytes.toString(), /^Return-Path: <pepe@pepito\.es>\r\n[\s\S]*Subject: Asunto\r\n[\s\S]*Probamos el protocolo SMTP\.\r\n$/)
    const store = items(decoded, 'command').find((d) => d.item?.kind === 'command' && d.item.verb === 'STORE')
    assert.ok(store?.item?.kind === 'command')
    assert.deepEqual(store.item.params, { set: '1', action: '+FLAGS.SILENT', op: 'add', silent: true, flags: ['\\Deleted'] })
    assert.ok(store.item.explain?.includes('imap.store.+FLAGS.SILENT'))
    const expunge = items(decoded, 'untagged').find((d) => d.item?.kind === 'untagged' && d.item.name === 'EXPUNGE')
    assert.equal(expunge?.item?.kind === 'untagged' && expunge.item.number, 1)
  })

  it('pairs every tagged completion with its command by tag, even out of order', () => {
    const { decoded } = run('pipelined.txt')
    const byRef = new Map(decoded.filter((d) => d.ref !== undefined).map((d) => [d.ref, d]))
    for (const d of items(decoded, 'reply')) {
      const cmd = byRef.get(d.replyToRef)
      assert.ok(cmd?.item?.kind === 'command' && d.item?.kind === 'reply')
      assert.equal(cmd.item.tag, d.item.tag)
    }
    const pipelined = items(decoded, 'command').filter((d) => d.item?.kind === 'command' && d.item.pipelined)
    assert.deepEqual(pipelined.map((d) => (d.item as { tag?: string }).tag), ['p3', 'p4', 'p5'])
  })

  it('streams a fetched MIME message with its attachment byte for byte to the sink', () => {
    const { decoded, messages } = run('fetch-mime.txt')
    assert.equal(messages.length, 1, 'header sections are not messages; BODY[] is')
    assert.equal(messages[0].bytes.toString('utf8'), mimeMsg)
    assert.equal(messages[0].complete, true)
    const fetch = items(decoded, 'untagged').find((d) => d.item?.kind === 'untagged' && d.item.name === 'FETCH')
    assert.ok(fetch?.item?.kind === 'untagged')
    const parsed = fetch.item.parsed as Record<string, any>
    assert.equal(parsed.ENVELOPE.subject, 'Informe mensual')
    assert.deepEqual(parsed.ENVELOPE.from, ['José Pérez <jose@example.org>'])
    assert.equal(parsed.BODYSTRUCTURE.contentType, 'multipart/mixed')
    assert.equal(parsed.BODYSTRUCTURE.children[1].filename, 'informe.pdf')
    assert.equal(parsed.BODYSTRUCTURE.children[1].disposition, 'attachment')
  })

  it('keeps APPEND messages sent with {n} and {n+}, and a refused literal is no message', () => {
    const { decoded, messages } = run('append.txt')
    assert.deepEqual(messages.map((m) => [m.source, m.bytes.toString().split('\r\n')[2]]), [
      ['imap-append', 'Subject: Borrador'],
      ['imap-append', 'Subject: Enviado'],
    ])
    assert.ok(codes(decoded).includes('IMAP_LITERAL_REFUSED'))
    assert.ok(codes(decoded).includes('IMAP_OVERQUOTA'))
  })

  it('inflates a COMPRESS=DEFLATE session and keeps decoding it', () => {
    const { decoded, messages } = run('compress.txt')
    const verbs = items(decoded, 'command').map((d) => (d.item as { verb: string }).verb)
    assert.deepEqual(verbs, ['AUTHENTICATE', 'COMPRESS', 'SELECT', 'FETCH', 'LOGOUT'])
    assert.match(messages[0].bytes.toString(), /^From: a@example\.com\r\nSubject: compressed/)
    assert.ok(!codes(decoded).includes('IMAP_COMPRESS_ERROR'))
  })

  it('reports the STARTTLS go-ahead, flags the injected command and forgets capabilities after the upgrade', () => {
    const { decoded } = run('starttls.txt')
    assert.equal(items(decoded, 'tls').length, 1)
    assert.ok(codes(decoded).includes('STARTTLS_INJECTION'))
    assert.ok(codes(decoded).includes('IMAP_LOGIN_DISABLED'))
    const verbs = items(decoded, 'command').map((d) => (d.item as { verb: string }).verb)
    assert.ok(!verbs.includes('LOGIN') || verbs.filter((v) => v === 'LOGIN').length === 2, 'the injected LOGIN is not decoded as a command')
  })

  it('notes FETCH before SELECT, credentials in clear, NO/BAD hints and an unexpected BYE', () => {
    const found = codes(run('errors.txt').decoded)
    for (const code of ['IMAP_OUT_OF_SEQUENCE', 'AUTH_CLEARTEXT', 'IMAP_UNAVAILABLE', 'IMAP_ALERT', 'IMAP_TRYCREATE', 'IMAP_BAD', 'IMAP_UNKNOWN_TAG', 'IMAP_BYE']) {
      assert.ok(found.includes(code), `${code} expected in ${found.join(', ')}`)
    }
  })

  it('notes a literal of the wrong size and carries on', () => {
    const { decoded } = run('malformed.txt')
    assert.ok(codes(decoded).includes('IMAP_LITERAL_MISMATCH'))
    assert.ok(codes(decoded).includes('IMAP_LITERAL_INVALID'))
    assert.ok(codes(decoded).includes('IMAP_TRUNCATED'))
  })

  it('treats a TLS ClientHello on the plaintext port as opaque', () => {
    const { decoded } = run('tls-on-plaintext.txt')
    assert.ok(codes(decoded).includes('TLS_ON_PLAINTEXT_PORT'))
    assert.equal(items(decoded, 'command').length, 0)
    assert.equal(items(decoded, 'opaque').length, 1)
  })

  it('caps a 100 MB line without buffering it and resyncs at its CRLF', () => {
    const dec = createImapDecoder({ maxLineBytes: 4096 })
    const chunk = Buffer.alloc(1024 * 1024, 0x41)
    const out: Decoded[] = []
    out.push(...dec.feed('server', Buffer.from('* OK hi\r\n'), 1))
    out.push(...dec.feed('client', Buffer.from('a1 SEARCH '), 2))
    for (let i = 0; i < 100; i++) out.push(...dec.feed('client', chunk, 3))
    out.push(...dec.feed('client', Buffer.from('\r\na2 NOOP\r\n'), 4))
    const tooLong = out.find((d) => d.notes?.some((n) => n.code === 'IMAP_LINE_TOO_LONG'))
    assert.equal(tooLong?.raw?.length, 10 + 100 * 1024 * 1024 + 2)
    const noop = items(out, 'command').at(-1)
    assert.equal(noop?.item?.kind === 'command' && noop.item.verb, 'NOOP')
  })
})

describe('the IMAP decoder at the edges', () => {
  it('notes a {n+} literal over 4096 bytes when the server only offers LITERAL-', () => {
    const dec = createImapDecoder({})
    const out: Decoded[] = []
    out.push(...dec.feed('server', Buffer.from('* PREAUTH [CAPABILITY IMAP4rev1 LITERAL-] ready\r\n'), 1))
    out.push(...dec.feed('client', Buffer.concat([Buffer.from('q7 CREATE {5000+}\r\n'), Buffer.alloc(5000, 0x78), Buffer.from('\r\n')]), 2))
    out.push(...dec.feed('server', Buffer.from('q7 BAD Literal too big\r\n'), 3))
    assert.ok(codes(out).includes('IMAP_LITERAL_MINUS_LIMIT'))
    const reply = items(out, 'reply')[0]
    assert.ok(reply?.item?.kind === 'reply' && reply.item.tag === 'q7' && reply.replyToRef !== undefined)
  })

  it('notes a deflate stream that cannot be inflated and counts the rest as opaque', () => {
    const dec = createImapDecoder({})
    const out: Decoded[] = []
    out.push(...dec.feed('server', Buffer.from('* PREAUTH ready\r\n'), 1))
    out.push(...dec.feed('client', Buffer.from('z1 COMPRESS DEFLATE\r\n'), 2))
    out.push(...dec.feed('server', Buffer.from('z1 OK DEFLATE active\r\n'), 3))
    // 0xff starts a deflate block of reserved type 3: invalid.
    out.push(...dec.feed('server', Buffer.from([0xff, 0xff, 0x00, 0x00, 0xff, 0xff]), 4))
    out.push(...dec.end('server', 5))
    assert.ok(codes(out).includes('IMAP_COMPRESS_ERROR'))
    const opaque = items(out, 'opaque')
    assert.equal(opaque.length, 1)
    assert.equal(opaque[0].raw?.length, 6)
  })

  it('closes a fetched message as incomplete when the connection drops inside its literal', () => {
    const messages: { complete?: boolean; bytes: number }[] = []
    const dec = createImapDecoder({
      messages: {
        open() {
          const m: { complete?: boolean; bytes: number } = { bytes: 0 }
          messages.push(m)
          return { write: (b) => void (m.bytes += b.length), close: (c) => void (m.complete = c) }
        },
      },
    })
    dec.feed('server', Buffer.from('* PREAUTH ready\r\n'), 1)
    dec.feed('client', Buffer.from('f1 SELECT INBOX\r\n'), 2)
    dec.feed('server', Buffer.from('f1 OK done\r\n'), 3)
    dec.feed('client', Buffer.from('f2 FETCH 1 RFC822\r\n'), 4)
    dec.feed('server', Buffer.from('* 1 FETCH (RFC822 {1000}\r\nFrom: a@b\r\n'), 5)
    const out = dec.end('server', 6)
    assert.deepEqual(messages, [{ bytes: 11, complete: false }])
    const msg = items(out, 'message')[0]
    assert.ok(msg?.item?.kind === 'message' && msg.item.complete === false && msg.item.size === 11)
    assert.ok(codes(out).includes('IMAP_TRUNCATED'))
  })
})

describe('IMAP explanations', () => {
  it('has an English and a Spanish text for every explain key and IMAP note code the fixtures produce', async () => {
    const { imapExplain } = await import('../../shared/explain/imap.ts')
    for (const file of fixtures) {
      const { decoded } = run(file)
      for (const d of decoded) {
        const keys = d.item && 'explain' in d.item ? (d.item.explain ?? []) : []
        for (const k of keys) assert.ok(imapExplain[k], `${file}: no explanation for ${k}`)
        for (const n of d.notes ?? []) {
          if (!/^(IMAP_|TLS_|STARTTLS_|AUTH_CLEARTEXT)/.test(n.code)) continue
          const e = imapExplain[`note.${n.code}`]
          assert.ok(e && e.en && e.es && e.es !== e.en, `${file}: no en/es explanation for note ${n.code}`)
        }
      }
    }
  })
})

describe('the IMAP decoder and STARTTLS', () => {
  it('flags plaintext the server sends after its STARTTLS OK, and decodes again after the upgrade', () => {
    const dec = createImapDecoder({})
    const out: Decoded[] = []
    out.push(...dec.feed('server', Buffer.from('* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n'), 1))
    out.push(...dec.feed('client', Buffer.from('t1 STARTTLS\r\n'), 2))
    const fake = '* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake\r\n'
    out.push(...dec.feed('server', Buffer.from(`t1 OK go\r\n${fake}`), 3))
    const injected = out.find((d) => d.from === 'server' && d.notes?.some((n) => n.code === 'STARTTLS_INJECTION'))
    assert.deepEqual(injected?.raw, { side: 'server', offset: 41 + 10, length: fake.length })
    assert.equal(items(out, 'tls').length, 1)
    out.push(...dec.upgraded!(4))
    out.push(...dec.feed('client', Buffer.from('t2 LOGIN u p\r\n'), 5))
    const login = items(out, 'command').at(-1)
    assert.equal(login?.item?.kind === 'command' && login.item.verb, 'LOGIN')
    assert.ok(!login?.notes?.some((n) => n.code === 'AUTH_CLEARTEXT'), 'after TLS, LOGIN is not cleartext')
  })
})

describe('the IMAP decoder and reused tags', () => {
  it("pairs the pasted seed's completions in order per tag: duplicate tags are flagged, no completion is unknown", () => {
    const { decoded, messages } = run('pasted-seed.txt')
    const found = codes(decoded)
    assert.equal(found.filter((c) => c === 'IMAP_DUPLICATE_TAG').length, 6)
    assert.ok(!found.includes('IMAP_UNKNOWN_TAG'), found.join(', '))
    const replies = items(decoded, 'reply')
    const commands = items(decoded, 'command')
    assert.equal(replies.length, 7)
    const verbOf = new Map(commands.map((d) => [d.ref, d.item?.kind === 'command' ? d.item.verb : '']))
    assert.deepEqual(replies.map((d) => verbOf.get(d.replyToRef)), ['LOGIN', 'LIST', 'SELECT', 'FETCH', 'STORE', 'EXPUNGE', 'LOGOUT'])
    assert.equal(messages.length, 1)
  })

  it('reads a BYE after the client sent LOGOUT as the expected answer, not a warning', () => {
    const { decoded } = run('pasted-seed.txt')
    const bye = items(decoded, 'untagged').find((d) => d.item?.kind === 'untagged' && d.item.name === 'BYE')
    assert.ok(bye?.item?.kind === 'untagged')
    assert.ok(bye.item.explain?.includes('imap.bye.logout'))
    assert.ok(!codes(decoded).includes('IMAP_BYE'))
  })

  it('still warns about a BYE the client did not ask for', () => {
    const d = createImapDecoder()
    d.feed('server', Buffer.from('* OK ready\r\n'), 1)
    d.feed('client', Buffer.from('a1 NOOP\r\n'), 2)
    const out = d.feed('server', Buffer.from('* BYE Autologout; idle for too long\r\n'), 3)
    assert.ok(codes(out).includes('IMAP_BYE'))
  })
})
