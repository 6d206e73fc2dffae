import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { importText } from '../../proxy/import/text.ts'
import { ImportError } from '../../proxy/import/types.ts'
import type { ImportChunk } from '../../proxy/import/types.ts'

function wire(chunks: ImportChunk[]): string[] {
  return chunks.map((c) => `${c.side === 'client' ? 'C' : 'S'}|${c.bytes.toString('utf8')}`)
}
function codes(chunks: ImportChunk[]): string[] {
  return chunks.flatMap((c) => [...(c.notesBefore ?? []), ...(c.notesAfter ?? [])].map((n) => n.code))
}

describe('seed-style transcripts', () => {
  test('lines starting with > are the server, bare lines the client, each with CRLF', () => {
    const r = importText('EHLO a\n>250 ok\nQUIT\n>221 bye\n', { startAt: 5000 })
    assert.equal(r.protocol, 'smtp')
    assert.deepEqual(wire(r.chunks), ['C|EHLO a\r\n', 'S|250 ok\r\n', 'C|QUIT\r\n', 'S|221 bye\r\n'])
    assert.deepEqual(
      r.chunks.map((c) => c.at),
      [5000, 5001, 5002, 5003],
    )
  })

  test('blank lines between every line are layout, not bytes', () => {
    const r = importText('USER pepe\n\n>+OK\n\nLIST\n\n>+OK 2 messages\n\n>1 10\n\n>2 20\n\n>.\n')
    assert.equal(r.protocol, 'pop3')
    assert.deepEqual(wire(r.chunks), ['C|USER pepe\r\n', 'S|+OK\r\n', 'C|LIST\r\n', 'S|+OK 2 messages\r\n1 10\r\n2 20\r\n.\r\n'])
    assert.ok(r.notes.some((n) => n.code === 'IMPORT_BLANK_LINES_IGNORED'), "r.notes.some((n) => n.code === 'IMPORT_BLANK_LINES_IGNORED')")
  })

  test('inside an SMTP DATA body a blank line and a quoted > line stay client bytes', () => {
    const r = importText('DATA\n>354 go\nSubject: re\n\n> quoted text\n.\n>250 ok\n')
    assert.deepEqual(wire(r.chunks), ['C|DATA\r\n', 'S|354 go\r\n', 'C|Subject: re\r\n\r\n> quoted text\r\n.\r\n', 'S|250 ok\r\n'])
  })

  test('an elision line becomes a note before what follows, never bytes', () => {
    const r = importText('1 list "" "*"\n>* LIST () "/" INBOX\n...resto de listado...\n>1 OK LIST completed.\n')
    assert.deepEqual(wire(r.chunks), ['C|1 list "" "*"\r\n', 'S|* LIST () "/" INBOX\r\n', 'S|1 OK LIST completed.\r\n'])
    const note = r.chunks[2]!.notesBefore![0]!
    assert.equal(note.code, 'IMPORT_ELIDED')
    assert.match(note.text, /resto de listado/)
  })

  test('a [..._base64] placeholder is sent as the base64 of its words, with a note', () => {
    const r = importText('auth login\n[nombre_usuario_base64]\n')
    assert.equal(r.chunks[1]!.bytes.toString(), Buffer.from('nombre_usuario').toString('base64') + '\r\n')
    assert.deepEqual(codes(r.chunks), ['IMPORT_PLACEHOLDER_ENCODED'])
  })

  test("IMAP untagged lines that lost the space after '*' are fixed, with a note each", () => {
    const r = importText('1 select INBOX\n>*1 EXISTS\n>*FLAGS (\\Seen)\n>1 OK done\n')
    assert.equal(r.protocol, 'imap')
    // A line with a note is a chunk of its own, so the note lands right after it.
    assert.deepEqual(wire(r.chunks).slice(1), ['S|* 1 EXISTS\r\n', 'S|* FLAGS (\\Seen)\r\n', 'S|1 OK done\r\n'])
    assert.deepEqual(codes(r.chunks), ['IMPORT_FIXED_UNTAGGED', 'IMPORT_FIXED_UNTAGGED'])
  })

  test('an IMAP literal whose content is elided loses its marker so the next lines still decode', () => {
    const r = importText('1 fetch 1 body\n>* 1 FETCH (BODY[]) }3094}\n...cuerpo del mensaje...\n>1 OK FETCH completed.\n')
    assert.deepEqual(wire(r.chunks), ['C|1 fetch 1 body\r\n', 'S|* 1 FETCH (BODY[])\r\n', 'S|1 OK FETCH completed.\r\n'])
    assert.deepEqual(codes(r.chunks), ['IMPORT_FIXED_LITERAL_BRACE', 'IMPORT_LITERAL_ELIDED', 'IMPORT_ELIDED'])
    assert.deepEqual(
      r.chunks[1]!.notesAfter!.map((n) => n.code),
      ['IMPORT_FIXED_LITERAL_BRACE', 'IMPORT_LITERAL_ELIDED'],
    )
    assert.deepEqual(
      r.chunks[2]!.notesBefore!.map((n) => n.code),
      ['IMPORT_ELIDED'],
    )
  })

  test('an IMAP literal with part of its content elided is resized to the content given', () => {
    const r = importText('C: a FETCH 1 BODY[]\nS: * 1 FETCH (BODY[] {5000}\nS: Subject: x\nS: ...\nS: )\nS: a OK done\n')
    assert.equal(r.chunks[1]!.bytes.toString(), '* 1 FETCH (BODY[] {12}\r\n')
    assert.equal(r.chunks[2]!.bytes.toString(), 'Subject: x\r\n')
    assert.equal(r.chunks[3]!.bytes.toString(), ')\r\na OK done\r\n')
    assert.ok(codes(r.chunks).includes('IMPORT_LITERAL_RESIZED'), "codes(r.chunks).includes('IMPORT_LITERAL_RESIZED')")
  })

  test('an exact IMAP literal is left alone', () => {
    const r = importText('C: a FETCH 1 BODY[]\nS: * 1 FETCH (BODY[] {4}\nS: ab\nS: )\nS: a OK done\n')
    assert.equal(r.chunks[1]!.bytes.toString(), '* 1 FETCH (BODY[] {4}\r\nab\r\n)\r\na OK done\r\n')
    assert.deepEqual(codes(r.chunks), [])
  })
})

describe('C:/S: transcripts', () => {
  test('C: and S: lines give the sides; comments and blank lines are not bytes', () => {
    const r = importText('# a comment\nS: +OK hi\n\nC: USER a\nS: +OK\nC: QUIT\n')
    assert.equal(r.protocol, 'pop3')
    assert.deepEqual(wire(r.chunks), ['S|+OK hi\r\n', 'C|USER a\r\n', 'S|+OK\r\n', 'C|QUIT\r\n'])
  })

  test('an unprefixed line continues the side before it, with a note', () => {
    const r = importText('S: 220 hi\nC: DATA\nS: 354 go\nC: Subject: x\nbody line\nC: .\n')
    assert.equal(r.chunks[3]!.bytes.toString(), 'Subject: x\r\nbody line\r\n.\r\n')
    assert.ok(r.notes.some((n) => n.code === 'IMPORT_UNPREFIXED_LINES'), "r.notes.some((n) => n.code === 'IMPORT_UNPREFIXED_LINES')")
  })

  test('line-ending comments of a txt export are honoured', () => {
    const r = importText('# mailtap session x1\n# protocol: smtp\nC: EHLO a\n# (line ended with LF only)\nS: 250 ok\nC: QUI\n# (no line ending)\n')
    assert.equal(r.protocol, 'smtp')
    assert.equal(r.session?.id, 'x1')
    assert.deepEqual(wire(r.chunks), ['C|EHLO a\n', 'S|250 ok\r\n', 'C|QUI'])
  })

  test('a TLS comment of a txt export becomes a TLS switch before the next line', () => {
    const r = importText('C: STARTTLS\nS: 220 go\n# TLS client leg: TLSv1.3 (intercept, starttls)\n# TLS server leg: TLSv1.2 (intercept, starttls)\nC: EHLO a\n')
    assert.deepEqual(
      r.chunks[2]!.tlsBefore!.map((l) => [l.leg, l.version, l.how, l.mode]),
      [
        ['client', 'TLSv1.3', 'starttls', 'intercept'],
        ['server', 'TLSv1.2', 'starttls', 'intercept'],
      ],
    )
  })

  test("the directives of mailtap's decoder fixtures are understood, not sent", () => {
    const r = importText('S: 220 hi\n@ +20\nC: STARTTLS\n---\nS: 220 go\n== upgraded\nC: EHLO a\n== end client\n')
    assert.deepEqual(wire(r.chunks), ['S|220 hi\r\n', 'C|STARTTLS\r\n', 'S|220 go\r\n', 'C|EHLO a\r\n'])
    assert.deepEqual(
      r.chunks[3]!.tlsBefore!.map((l) => l.leg),
      ['client', 'server'],
    )
    assert.deepEqual(
      r.notes.map((n) => n.code),
      ['IMPORT_PROTOCOL_GUESSED'],
    )
  })
})

describe('protocol guessing and bad input', () => {
  test('the protocol is guessed from commands and replies, and said so', () => {
    assert.equal(importText('HELO x\n>250 ok\n').protocol, 'smtp')
    assert.equal(importText('C: USER x\nS: +OK\n').protocol, 'pop3')
    assert.equal(importText('a1 CAPABILITY\n>* CAPABILITY IMAP4rev1\n>a1 OK\n').protocol, 'imap')
    const r = importText('a1 CAPABILITY\n>a1 OK\n')
    assert.match(r.notes.find((n) => n.code === 'IMPORT_PROTOCOL_GUESSED')!.text, /IMAP from the tagged CAPABILITY command/)
  })

  test('a given protocol wins over the guess', () => {
    assert.equal(importText('HELO x\n>250 ok\n', { protocol: 'pop3' }).protocol, 'pop3')
  })

  test('text with no recognisable protocol asks for one', () => {
    assert.throws(() => importText('hello there\n>general kenobi\n'), (e: unknown) => e instanceof ImportError && /pass protocol=/.test(e.message))
  })

  test('an empty or binary transcript is refused with a reason', () => {
    assert.throws(() => importText('\n\n# only comments\n'), /no client or server lines/)
    assert.throws(() => importText('EHLO\u0000x'), /NUL bytes/)
  })
})
