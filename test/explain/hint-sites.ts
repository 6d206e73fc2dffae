// Finds every finding hint the proxy can emit by reading its source with the TypeScript
// parser: calls to the note builders (note/mkNote with a hint argument), object literals
// with a `hint` (a Note, or the options of `new TlsError(code, ...)`), following constants,
// ?: branches, and parameters back to their call sites.
import ts from 'typescript'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

/** One place a hint is produced: the codes it can carry and the hint texts it can have. */
export interface HintSite {
  where: string
  codes: string[]
  /** Fixed English hint texts. */
  texts: string[]
  /** True when a hint is built from a template with dynamic parts. */
  dynamic: boolean
  /** Hint expressions this scanner could not read (e.g. a hint forwarded from an error). */
  unresolved: string[]
}

type Values = { strings: string[]; dynamic: boolean; unresolved: string[] }

/** The functions that build a Note (code, text, hint, ref) in proxy/. */
export const NOTE_BUILDERS = new Set(['note', 'mkNote'])

/** Every .ts file below `dir` (no .d.ts). */
export function listTs(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) return listTs(p)
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : []
  })
}

/** Scans the .ts files under `dir` (the project's proxy/) for hint sites. */
export function scanHintSites(dir: string, root = process.cwd()): HintSite[] {
  const files = listTs(dir).map((f) => ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true))
  // Every const initializer and function declaration by name, project-wide (names are unique enough here).
  const consts = new Map<string, ts.Expression[]>()
  const functions = new Map<string, ts.SignatureDeclaration[]>()
  const calls = new Map<string, ts.CallExpression[]>()
  const add = <T>(m: Map<string, T[]>, k: string, v: T) => m.set(k, [...(m.get(k) ?? []), v])
  for (const sf of files) {
    const visit = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer) {
        const init = n.initializer
        if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) add(functions, n.name.text, init)
        else add(consts, n.name.text, init)
      }
      if (ts.isFunctionDeclaration(n) && n.name) add(functions, n.name.text, n)
      if (ts.isPropertyAssignment(n) && ts.isIdentifier(n.name) && (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer))) {
        add(functions, n.name.text, n.initializer)
      }
      if (ts.isCallExpression(n)) {
        // Plain functions are called by name, functions held in an object (notes.x) as N.x(...).
        if (ts.isIdentifier(n.expression)) add(calls, n.expression.text, n)
        else if (ts.isPropertyAccessExpression(n.expression)) add(calls, `.${n.expression.name.text}`, n)
      }
      ts.forEachChild(n, visit)
    }
    visit(sf)
  }

  /** The string values an expression can take, following constants, branches, parameters and returns. */
  function values(e: ts.Expression | undefined, depth = 0): Values {
    const out: Values = { strings: [], dynamic: false, unresolved: [] }
    if (!e || depth > 8) return out
    const merge = (v: Values) => {
      out.strings.push(...v.strings)
      out.dynamic ||= v.dynamic
      out.unresolved.push(...v.unresolved)
    }
    while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e)) e = e.expression
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) out.strings.push(e.text)
    else if (ts.isTemplateExpression(e)) out.dynamic = true
    else if (ts.isConditionalExpression(e)) {
      merge(values(e.whenTrue, depth + 1))
      merge(values(e.whenFalse, depth + 1))
    } else if (ts.isIdentifier(e)) {
      if (e.text === 'undefined') return out
      const param = enclosingParameter(e)
      if (param) {
        const [fn, index] = param
        const name = functionName(fn)
        for (const call of (name ? calls.get(name) : undefined) ?? []) merge(values(call.arguments[index], depth + 1))
      } else if (consts.has(e.text)) {
        for (const init of consts.get(e.text)!) merge(values(init, depth + 1))
      } else out.unresolved.push(e.getText())
    } else if (ts.isCallExpression(e) && ts.isIdentifier(e.expression) && functions.has(e.expression.text)) {
      // A code computed by a helper (certNoteCode): every string it returns.
      for (const fn of functions.get(e.expression.text)!) {
        const walk = (n: ts.Node): void => {
          if (ts.isReturnStatement(n)) merge(values(n.expression, depth + 1))
          else if (!ts.isFunctionLike(n)) ts.forEachChild(n, walk)
        }
        if ('body' in fn && fn.body) {
          if (ts.isBlock(fn.body as ts.Node)) ts.forEachChild(fn.body as ts.Node, walk)
          else merge(values(fn.body as ts.Expression, depth + 1))
        }
      }
    } else out.unresolved.push(e.getText())
    return out
  }

  /** When `id` names a parameter of the function around it: that function and the parameter's index. */
  function enclosingParameter(id: ts.Identifier): [ts.SignatureDeclaration, number] | undefined {
    for (let n: ts.Node | undefined = id.parent; n; n = n.parent) {
      if (ts.isFunctionLike(n)) {
        const i = n.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === id.text)
        if (i >= 0) return [n, i]
      }
    }
    return undefined
  }

  /** A function's name as its callers spell it: 'name', or '.name' for a function held in an object. */
  function functionName(fn: ts.SignatureDeclaration): string | undefined {
    if (fn.name && ts.isIdentifier(fn.name)) return ts.isMethodDeclaration(fn) ? `.${fn.name.text}` : fn.name.text
    const p = fn.parent
    if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text
    if (p && ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) return `.${p.name.text}`
    return undefined
  }

  const sites: HintSite[] = []
  const record = (sf: ts.SourceFile, at: ts.Node, code: ts.Expression | undefined, hint: ts.Expression) => {
    const h = values(hint)
    if (h.strings.length === 0 && !h.dynamic && h.unresolved.length === 0) return // always undefined
    const c = values(code)
    const line = sf.getLineAndCharacterOfPosition(at.getStart()).line + 1
    sites.push({
      where: `${relative(root, sf.fileName)}:${line}`,
      codes: [...new Set(c.strings)],
      texts: [...new Set(h.strings)],
      dynamic: h.dynamic,
      unresolved: [...h.unresolved, ...c.unresolved.map((u) => `code ${u}`)],
    })
  }
  for (const sf of files) {
    const visit = (n: ts.Node): void => {
      // note(level, code, text, hint, ref) / mkNote(...): the builders every decoder uses.
      if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && NOTE_BUILDERS.has(n.expression.text) && n.arguments.length >= 4) {
        record(sf, n, n.arguments[1], n.arguments[3])
      }
      if (ts.isObjectLiteralExpression(n)) {
        const prop = (name: string): ts.Expression | undefined => {
          for (const p of n.properties) {
            if (ts.isPropertyAssignment(p) && p.name.getText() === name) return p.initializer
            if (ts.isShorthandPropertyAssignment(p) && p.name.text === name) return p.name
          }
          return undefined
        }
        const hint = prop('hint')
        const inBuilder = (() => {
          for (let f: ts.Node | undefined = n.parent; f; f = f.parent) {
            if (ts.isFunctionLike(f)) return NOTE_BUILDERS.has(functionName(f) ?? '')
          }
          return false
        })()
        if (hint && !inBuilder) {
          let code = prop('code')
          // new TlsError(code, message, { hint }): the code is the first argument.
          const parent = n.parent
          if (!code && parent && ts.isNewExpression(parent) && parent.arguments?.[2] === n) code = parent.arguments[0]
          record(sf, n, code, hint)
        }
      }
      ts.forEachChild(n, visit)
    }
    visit(sf)
  }
  return sites
}
