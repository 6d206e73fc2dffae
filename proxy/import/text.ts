// Parses pasted transcripts into the bytes each side sent: the seed's style (server
// lines start with '>'), C:/S: transcripts (RFC examples), and mailtap's own txt export.
// Obvious elisions are fixed up with a note each; server replies are never invented.
// An accepted STARTTLS needs no marker: recordImport switches when the decoder says so.
import type { Note, Protocol, Side, TlsLeg } from '../../shared/schema.ts'
import { ImportError, type ImportChunk, type ParsedImport } from './types.ts'

export interface ImportTextOptions {
  protocol?: Protocol
  /** Time of the first chunk; each later chunk is 1 ms after the previous one. */
  startAt?: number
  /** How the text becomes bytes again: 'latin1' when the file was Latin-1. Default utf8. */
  encoding?: 'utf8' | 'latin1'
}

/** One transcript line after the side was decided. */
interface Entry {
  side: Side
  text: string
  eol: '\r\n' | '\n' | ''
  /** An elision ('...resto del listado...'): no bytes, becomes a note. */
  elided?: string
  /** What the transcript left out before this line. */
  notesBefore: Note[]
  /** Fix-ups made to this line; they explain it, so they follow it. */
  notesAfter: Note[]
  tlsBefore: TlsLeg[]
  /** Exact bytes (a `C~` line): `text` is only for display and guessing. */
  bytes?: Buffer
}

const CS_LINE = /^([CS]):(?: |$)/
/** `C~ ` / `S~ `: escaped bytes (\r \n \t \\ \xHH), no line ending added (txt export, fixtures). */
const CS_ESCAPED = /^([CS])~(?: |$)/
const ELLIPSIS = /^\s*(?:\.\.\.|…)/
const FENCE = /^\s*```/
const TLS_COMMENT = /^#\s*TLS (client|server) leg\b(.*)$/i
const TXT_HEADER = /^#\s*mailtap session\s+(\S+)/i

export function importText(text: string, opts: ImportTextOptions = {}): ParsedImport {
  if (text.includes('\u0000')) throw new ImportError('the transcript contains NUL bytes; is it a binary file?')
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop()
  const globalNotes: Note[] = []

  const header = readTxtHeader(lines)
  const body = lines.filter((l) => !FENCE.test(l))
  const content = body.filter((l) => l.trim() !== '' && !l.startsWith('#'))
  if (content.length === 0) throw new ImportError('the transcript has no client or server lines')
  const csCount = content.filter((l) => CS_LINE.test(l) || CS_ESCAPED.test(l)).length
  const entries = csCount > 0 && csCount >= content.length / 2 ? parseCs(body, globalNotes) : parseSeed(body, globalNotes)
  if (!entries.some((e) => !e.elided)) throw new ImportError('the transcript has no client or server lines')

  let protocol = opts.protocol ?? header.protocol
  if (!protocol) {
    const guess = guessProtocol(entries)
    if (!guess) {
      throw new ImportError('could not tell the protocol from the transcript; pass protocol=smtp, pop3 or imap')
    }
    protocol = guess.protocol
    globalNotes.push(note('info', 'IMPORT_PROTOCOL_GUESSED', `Protocol guessed as ${protocol.toUpperCase()} from ${guess.why}.`))
  }

  fixPlaceholders(entries)
  if (protocol === 'imap') {
    fixUntagged(entries)
    fixLiterals(entries)
  }

  const startAt = opts.startAt ?? Date.now()
  const { chunks, trailing } = toChunks(entries, startAt, opts.encoding ?? 'utf8')
  return {
    protocol,
    chunks,
    notes: globalNotes,
    trailingNotes: trailing,
    session: header.id ? { id: header.id } : undefined,
  }
}

function note(level: Note['level'], code: string, text: string, hint?: string): Note {
  return hint ? { level, code, text, hint } : { level, code, text }
}

function readTxtHeader(lines: string[]): { id?: string; protocol?: Protocol } {
  let id: string | undefined
  let protocol: Protocol | undefined
  for (const l of lines.slice(0, 20)) {
    const m = TXT_HEADER.exec(l)
    if (m) id = m[1]
    const p = /^#\s*protocol:\s*(smtp|pop3|imap)\b/i.exec(l)
    if (p) protocol = p[1]!.toLowerCase() as Protocol
  }
  return { id, protocol: id ? protocol : undefined }
}

function entry(side: Side, text: string, eol: Entry['eol'] = '\r\n'): Entry {
  return { side, text, eol, notesBefore: [], notesAfter: [], tlsBefore: [] }
}

function elision(side: Side, text: string): Entry {
  return { ...entry(side, '', ''), elided: text.trim() }
}

/** `C: ` / `S: ` lines; `#` lines are comments (mailtap's txt export puts notes there). */
function parseCs(lines: string[], notes: Note[]): Entry[] {
  const out: Entry[] = []
  let side: Side = 'client'
  let unprefixed = 0
  let pending: Note[] = []
  let pendingTls: TlsLeg[] = []
  const push = (e: Entry) => {
    e.notesBefore.push(...pending)
    e.tlsBefore.push(...pendingTls)
    pending = []
    pendingTls = []
    out.push(e)
  }
  for (const line of lines) {
    const esc = CS_ESCAPED.exec(line)
    if (esc) {
      side = esc[1] === 'C' ? 'client' : 'server'
      const bytes = unescapeBytes(line.slice(esc[0].length))
      push({ ...entry(side, bytes.toString('latin1'), ''), bytes })
      continue
    }
    const m = CS_LINE.exec(line)
    if (m) {
      side = m[1] === 'C' ? 'client' : 'server'
      const text = line.slice(m[0].length)
      if (isElision(text)) push(elision(side, text))
      else push(entry(side, text))
      continue
    }
    if (line.startsWith('#')) {
      const last = out[out.length - 1]
      const tls = TLS_COMMENT.exec(line)
      if (tls) pendingTls.push(tlsLegFromComment(tls[1]!.toLowerCase() as Side, tls[2] ?? ''))
      else if (/^#\s*\(no line ending\)/i.test(line) && last) last.eol = ''
      else if (/^#\s*\(line ended with LF only\)/i.test(line) && last) last.eol = '\n'
      else if (/^#\s*…\s*\d+ bytes elided/i.test(line)) {
        pending.push(note('warn', 'IMPORT_ELIDED', `The transcript left bytes out: ${line.replace(/^#\s*/, '')}`))
      }
      continue
    }
    if (line.trim() === '') continue
    // Directives of mailtap's decoder fixtures (test/helpers/transcript.ts).
    if (line === '---' || /^@ \+?\d+(\.\d+)?$/.test(line) || /^== end (client|server)$/.test(line)) continue
    if (line === '== upgraded') {
      pendingTls.push({ leg: 'client', mode: 'intercept', how: 'starttls' }, { leg: 'server', mode: 'intercept', how: 'starttls' })
      continue
    }
    // An unprefixed line continues the previous side (a pasted body, a wrapped line).
    unprefixed++
    if (isElision(line)) push(elision(side, line))
    else push(entry(side, line))
  }
  if (unprefixed > 0) {
    notes.push(note('info', 'IMPORT_UNPREFIXED_LINES', `${unprefixed} line(s) without C: or S: were taken as continuing the side before them.`))
  }
  return out
}

/** '...', '…' or '...resto del listado...': words or nothing between the dots. */
function isElision(text: string): boolean {
  const t = text.trim()
  return ELLIPSIS.test(t) && (/[a-z]/i.test(t) || /^(\.\.\.|…)$/.test(t))
}

/** Undoes the `C~` escaping: \r \n \t \\ \xHH; everything else is UTF-8 text. */
export function unescapeBytes(s: string): Buffer {
  const out: Buffer[] = []
  let run = ''
  const flush = () => {
    if (run) out.push(Buffer.from(run, 'utf8'))
    run = ''
  }
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== '\\' || i + 1 >= s.length) {
      run += c
      continue
    }
    const n = s[++i]!
    const hex = n === 'x' ? /^[0-9a-fA-F]{2}/.exec(s.slice(i + 1, i + 3)) : null
    if (n === 'r') run += '\r'
    else if (n === 'n') run += '\n'
    else if (n === 't') run += '\t'
    else if (n === '\\') run += '\\'
    else if (hex) {
      flush()
      out.push(Buffer.from([parseInt(hex[0], 16)]))
      i += 2
    } else run += '\\' + n
  }
  flush()
  return Buffer.concat(out)
}

function tlsLegFromComment(leg: Side, rest: string): TlsLeg {
  const version = /\b(TLSv[\d.]+|SSLv\d)\b/.exec(rest)?.[1]
  const how = /\bimplicit\b/.test(rest) ? 'implicit' : 'starttls'
  const mode = /\bpassthrough\b/.test(rest) ? 'passthrough' : 'intercept'
  return version ? { leg, mode, how, version } : { leg, mode, how }
}

/**
 * The seed's style: client lines bare, server lines start with '>'. Some notes put a
 * blank line between every line (the POP3 seed): then blank lines are layout, not bytes.
 */
function parseSeed(lines: string[], notes: Note[]): Entry[] {
  const nonBlank = lines.filter((l) => l.trim() !== '').length
  let separators = 0
  for (let i = 1; i < lines.length - 1; i++) {
    if (lines[i]!.trim() === '' && lines[i - 1]!.trim() !== '' && lines[i + 1]!.trim() !== '') separators++
  }
  const doubleSpaced = nonBlank > 2 && separators >= (nonBlank - 1) * 0.6
  if (doubleSpaced) notes.push(note('info', 'IMPORT_BLANK_LINES_IGNORED', 'Blank lines between the transcript lines were taken as layout and ignored.'))

  const out: Entry[] = []
  let lastSide: Side = 'client'
  // RFC 5321 4.1.1.4: after 354 the client sends the body up to a lone '.'; inside it a
  // '>' is quoting in the mail, not a server line.
  let inData = false
  let sawServer = false
  for (const line of lines) {
    if (inData) {
      if (line.trim() === '' && doubleSpaced) continue
      out.push(entry('client', line))
      if (line === '.') inData = false
      continue
    }
    if (line.trim() === '') continue
    if (line.startsWith('#')) continue
    if (ELLIPSIS.test(line)) {
      out.push(elision(lastSide, line))
      continue
    }
    if (line.startsWith('>')) {
      const text = line.slice(1).replace(/^ /, '')
      out.push(entry('server', text))
      lastSide = 'server'
      sawServer = true
      if (/^354\b/.test(text)) inData = true
      continue
    }
    out.push(entry('client', line))
    lastSide = 'client'
  }
  if (!sawServer) {
    notes.push(note('warn', 'IMPORT_NO_SERVER_LINES', 'No server lines found: in this style the server\'s lines start with ">".'))
  }
  return out
}

/** Scores each protocol by the lines it explains; the best one wins. */
export function guessProtocol(entries: { side: Side; text: string; elided?: string }[]): { protocol: Protocol; why: string } | undefined {
  const score: Record<Protocol, number> = { smtp: 0, pop3: 0, imap: 0 }
  const why: Partial<Record<Protocol, string>> = {}
  const hit = (p: Protocol, n: number, reason: string) => {
    score[p] += n
    why[p] ??= reason
  }
  for (const e of entries.slice(0, 200)) {
    if (e.elided) continue
    const t = e.text.trim()
    if (e.side === 'client') {
      const verb = /^([A-Za-z]+)/.exec(t)?.[1]?.toUpperCase()
      if (verb && ['EHLO', 'HELO', 'LHLO', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'VRFY', 'EXPN'].includes(verb)) hit('smtp', 3, `the ${verb} command`)
      if (verb && ['USER', 'PASS', 'STAT', 'RETR', 'DELE', 'APOP', 'UIDL', 'TOP', 'CAPA', 'STLS'].includes(verb)) hit('pop3', 3, `the ${verb} command`)
      const tagged = /^[^\s*+]+ ([A-Za-z]+)\b/.exec(t)?.[1]?.toUpperCase()
      if (tagged && ['LOGIN', 'SELECT', 'EXAMINE', 'FETCH', 'LIST', 'LSUB', 'CAPABILITY', 'LOGOUT', 'STORE', 'EXPUNGE', 'SEARCH', 'UID', 'AUTHENTICATE', 'APPEND', 'IDLE', 'STATUS', 'NOOP', 'CREATE', 'NAMESPACE', 'ENABLE', 'ID', 'STARTTLS', 'CLOSE', 'COPY', 'MOVE'].includes(tagged)) {
        hit('imap', 3, `the tagged ${tagged} command`)
      }
    } else {
      if (/^\d{3}([ -]|$)/.test(t)) hit('smtp', 2, `the reply code ${t.slice(0, 3)}`)
      if (/^(\+OK|-ERR)\b/i.test(t)) hit('pop3', 3, `the ${t.startsWith('+') ? '+OK' : '-ERR'} reply`)
      if (/^\*\s?\S/.test(t)) hit('imap', 2, 'the untagged "*" lines')
      if (/^[^\s*+]+ (OK|NO|BAD)\b/i.test(t)) hit('imap', 2, 'the tagged OK/NO/BAD replies')
    }
  }
  const best = (Object.keys(score) as Protocol[]).sort((a, b) => score[b] - score[a])[0]!
  if (score[best] === 0) return undefined
  return { protocol: best, why: why[best]! }
}

/**
 * '[nombre_usuario_base64]' stands for a base64 AUTH answer the author left out: encode
 * the words so the AUTH step decodes to something readable.
 */
function fixPlaceholders(entries: Entry[]): void {
  for (const e of entries) {
    if (e.side !== 'client' || e.elided || e.bytes) continue
    const m = /^\[([^\]]*base64[^\]]*)\]$/i.exec(e.text.trim())
    if (!m) continue
    const words = m[1]!.replace(/base64/gi, ' ').replace(/^[\s_-]+|[\s_-]+$/g, '').replace(/\s+/g, '_') || 'placeholder'
    e.text = Buffer.from(words).toString('base64')
    e.notesAfter.push(
      note('info', 'IMPORT_PLACEHOLDER_ENCODED', `The placeholder "${m[0]}" was sent as the base64 of "${words}".`, 'The transcript did not give the real value.'),
    )
  }
}

/** '*1 EXISTS' and '*FLAGS (...)' lost their space after '*' (RFC 9051 7: "* " SP). */
function fixUntagged(entries: Entry[]): void {
  for (const e of entries) {
    if (e.side !== 'server' || e.elided || e.bytes) continue
    const m = /^\*(?=[^\s])/.exec(e.text)
    if (m) {
      const fixed = `* ${e.text.slice(1)}`
      e.notesAfter.push(note('info', 'IMPORT_FIXED_UNTAGGED', `"${e.text}" was read as "${fixed}".`))
      e.text = fixed
    }
  }
}

function byteLength(e: Entry): number {
  return e.bytes ? e.bytes.length : Buffer.byteLength(e.text + e.eol)
}

function isServerClosing(text: string): boolean {
  return /^\)/.test(text) || /^\* /.test(text) || /^[^\s*+]+ (OK|NO|BAD|BYE)\b/i.test(text)
}

/**
 * A literal `{N}` whose content the transcript elided or miscounted would swallow the
 * lines after it. Resize it to the content given, or drop the marker when none is.
 */
function fixLiterals(entries: Entry[]): void {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    // Exact bytes (`C~` lines) are what was on the wire: never touched.
    if (e.elided || e.bytes) continue
    const typo = /\}(\d+)\}\s*$/.exec(e.text)
    if (typo) {
      const fixed = e.text.slice(0, typo.index) + `{${typo[1]}}`
      e.notesAfter.push(note('info', 'IMPORT_FIXED_LITERAL_BRACE', `The literal marker "${typo[0].trim()}" was read as "{${typo[1]}}".`))
      e.text = fixed
    }
    const lit = /\s?\{(\d+)(\+?)\}$/.exec(e.text)
    if (!lit) continue
    const announced = Number(lit[1])
    let bytes = 0
    let elided = false
    const content: number[] = []
    for (let j = i + 1; j < entries.length; j++) {
      const c = entries[j]!
      if (c.side !== e.side) {
        // A client literal waits for the server's '+' go-ahead: skip it.
        if (e.side === 'client' && c.text.startsWith('+') && content.length === 0) continue
        break
      }
      if (c.elided) {
        elided = true
        continue
      }
      if (bytes >= announced && !elided) break
      if (e.side === 'server' && isServerClosing(c.text) && (content.length > 0 || elided || announced > 0)) break
      content.push(j)
      bytes += byteLength(c)
    }
    if (!elided && bytes >= announced) continue
    if (content.length === 0) {
      const fixed = e.text.slice(0, lit.index).trimEnd()
      e.notesAfter.push(
        note('warn', 'IMPORT_LITERAL_ELIDED', `The transcript announced a ${announced}-byte literal but left its content out; the marker was removed so the lines after it decode.`),
      )
      e.text = fixed
    } else {
      e.text = e.text.slice(0, lit.index) + `${lit[0].startsWith(' ') ? ' ' : ''}{${bytes}${lit[2]}}`
      e.notesAfter.push(
        note('warn', 'IMPORT_LITERAL_RESIZED', `The transcript announced a ${announced}-byte literal but gives ${bytes} bytes${elided ? ' (the rest is elided)' : ''}; it was resized to what is there.`),
      )
    }
  }
}

function toChunks(entries: Entry[], startAt: number, encoding: 'utf8' | 'latin1'): { chunks: ImportChunk[]; trailing: Note[] } {
  const chunks: ImportChunk[] = []
  // Bytes are gathered per chunk and joined once: a long body must not be copied per line.
  const parts: Buffer[][] = []
  let carry: Note[] = []
  let carryTls: TlsLeg[] = []
  let at = startAt
  for (const e of entries) {
    if (e.elided) {
      carry.push(...e.notesBefore, note('info', 'IMPORT_ELIDED', `The transcript elides ${e.side} lines here: "${e.elided}".`))
      carryTls.push(...e.tlsBefore)
      continue
    }
    const notesBefore = [...carry, ...e.notesBefore]
    const tlsBefore = [...carryTls, ...e.tlsBefore]
    carry = []
    carryTls = []
    const bytes = e.bytes ?? Buffer.from(e.text + e.eol, encoding)
    const last = chunks[chunks.length - 1]
    // Consecutive lines of one side travel as one chunk, as they would over TCP; a line
    // with notes gets its own, so each note lands next to its line.
    if (last && last.side === e.side && !last.notesAfter && notesBefore.length === 0 && tlsBefore.length === 0 && e.notesAfter.length === 0) {
      parts[parts.length - 1]!.push(bytes)
      continue
    }
    const chunk: ImportChunk = { side: e.side, bytes, at }
    if (notesBefore.length) chunk.notesBefore = notesBefore
    if (e.notesAfter.length) chunk.notesAfter = [...e.notesAfter]
    if (tlsBefore.length) chunk.tlsBefore = tlsBefore
    chunks.push(chunk)
    parts.push([bytes])
    at += 1
  }
  chunks.forEach((c, i) => {
    if (parts[i]!.length > 1) c.bytes = Buffer.concat(parts[i]!)
  })
  return { chunks, trailing: carry }
}
