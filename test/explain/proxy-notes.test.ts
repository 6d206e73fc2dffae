// Every note code the proxy can raise has an explanation ('note.CODE') in English and
// Spanish, found by reading proxy/ with the TypeScript parser: Note object literals
// (`{ level, code: 'X', text }`), the note builders (`note('warn', 'X', ...)`), TLS errors
// (`new TlsError('X', ...)`, relayed as notes) and the certificate codes of certNoteCode.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { EXPLAIN, explainNote } from '../../shared/explain/index.ts'
import { PROXY_NOTES_EXPLAIN } from '../../shared/explain/proxy-notes.ts'
import { listTs, NOTE_BUILDERS } from './hint-sites.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const CODE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/

/** code → the files that raise it. */
function scanNoteCodes(dir: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>()
  const add = (code: string, file: string) => {
    if (!CODE.test(code)) return
    found.set(code, (found.get(code) ?? new Set()).add(relative(root, file)))
  }
  for (const file of listTs(dir)) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
    const visit = (n: ts.Node, inCertCode: boolean): void => {
      if (ts.isObjectLiteralExpression(n)) {
        const props = new Map<string, ts.Expression>()
        for (const p of n.properties) if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) props.set(p.name.text, p.initializer)
        const code = props.get('code')
        // A Note has a level beside its code; an errno-like `{ code }` or a TlsVerify `{ ok, code, text }` has none.
        if (code && ts.isStringLiteralLike(code) && props.has('level')) add(code.text, file)
      }
      if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && NOTE_BUILDERS.has(n.expression.text)) {
        const arg = n.arguments[1]
        if (arg && ts.isStringLiteralLike(arg)) add(arg.text, file)
      }
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'TlsError') {
        const arg = n.arguments?.[0]
        if (arg && ts.isStringLiteralLike(arg)) add(arg.text, file)
      }
      if (inCertCode && ts.isReturnStatement(n) && n.expression && ts.isStringLiteralLike(n.expression)) add(n.expression.text, file)
      const cert = inCertCode || (ts.isFunctionDeclaration(n) && n.name?.text === 'certNoteCode')
      ts.forEachChild(n, (c) => visit(c, cert))
    }
    visit(sf, false)
  }
  return found
}

const codes = scanNoteCodes(join(root, 'proxy'))

describe('note codes of the proxy in English and Spanish', () => {
  test('the scan finds the codes of the decoders, the relay, TLS, the store, import, replay and mock', () => {
    for (const code of [
      'SMTP_LINE_TOO_LONG',
      'AUTH_CLEARTEXT',
      'UPSTREAM_UNREACHABLE',
      'TLS_CLIENT_REJECTED_CERT',
      'TLS_CERT_EXPIRED',
      'RECORDING_GAP',
      'IMPORT_PLACEHOLDER_ENCODED',
      'REPLAY_AUTH_NOT_RECOMPUTABLE',
      'MOCK_UNEXPECTED_COMMAND',
    ]) {
      assert.ok(codes.has(code), `the scan sees ${code}`)
    }
    assert.ok(!codes.has('STORE_BEHIND') && !codes.has('NO_CERTIFICATE'), 'codes on errors and verify results are not notes')
  })

  test("every note code raised under proxy/ has a 'note.CODE' explanation in both languages", () => {
    const missing: string[] = []
    for (const [code, files] of [...codes].sort(([a], [b]) => a.localeCompare(b))) {
      const en = explainNote(code, 'en')
      const es = explainNote(code, 'es')
      if (!en?.trim() || !es?.trim()) missing.push(`${code} (${[...files].join(', ')})`)
    }
    assert.deepEqual(missing, [], `codes without an EN/ES explanation:\n${missing.join('\n')}`)
  })

  test('the Spanish text of a proxy note is a translation, not the English copied', () => {
    for (const [key, entry] of Object.entries(PROXY_NOTES_EXPLAIN)) {
      assert.notEqual(entry.es, entry.en, `${key} has Spanish text`)
      assert.match(key, /^note\.[A-Z0-9_]+$/, `${key} is a note key`)
    }
  })

  test('every proxy note explanation is raised somewhere, so the table holds no stale codes', () => {
    for (const key of Object.keys(PROXY_NOTES_EXPLAIN)) {
      const code = key.slice('note.'.length)
      assert.ok(codes.has(code), `${code} is explained but nothing under proxy/ raises it`)
    }
  })

  test('the merged table serves the proxy notes in Spanish', () => {
    assert.equal(EXPLAIN['note.MOCK_UNEXPECTED_COMMAND'], PROXY_NOTES_EXPLAIN['note.MOCK_UNEXPECTED_COMMAND'])
    assert.match(explainNote('TLS_CERT_EXPIRED', 'es') ?? '', /caducado/)
  })
})
