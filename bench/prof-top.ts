// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. BENCH_PROF=DIR bench/relay.ts):
// the functions and files with the most self time. Run: node --import tsx bench/prof-top.ts FILE [N]
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
const [file, n = '25'] = process.argv.slice(2)
if (!file) throw new Error('usage: prof-top.ts FILE.cpuprofile [N]')
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] }
const hits = new Map<number, number>()
for (const s of prof.samples) hits.set(s, (hits.get(s) ?? 0) + 1)
const total = prof.samples.length
const byFn = new Map<string, number>()
const byFile = new Map<string, number>()
for (const node of prof.nodes) {
  const h = hits.get(node.id) ?? 0
  if (!h) continue
  const { functionName, url, lineNumber } = node.callFrame
  const short = url.replace(/^.*\/(node_modules|main)\//, '$1/').replace(/^file:\/\//, '')
  const fn = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`
  byFn.set(fn, (byFn.get(fn) ?? 0) + h)
  byFile.set(short || functionName, (byFile.get(short || functionName) ?? 0) + h)
}
const top = (m: Map<string, number>) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(n)).map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n')
console.log(`${total} samples\n\nby function (self):\n${top(byFn)}\n\nby file (self):\n${top(byFile)}`)

// Inclusive time (self plus callees) of our own functions: which entry points cost most.
const parent = new Map<number, number>()
for (const node of prof.nodes as (Node & { children?: number[] })[]) for (const c of node.children ?? []) parent.set(c, node.id)
const byId = new Map(prof.nodes.map((x) => [x.id, x]))
const incl = new Map<string, number>()
for (const [id, h] of hits) {
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const { functionName, url, lineNumber } = byId.get(cur)!.callFrame
    if (!url.includes('/main/')) continue
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/main\//, '')}:${lineNumber + 1}`
    if (seen.has(key)) continue
    seen.add(key)
    incl.set(key, (incl.get(key) ?? 0) + h)
  }
}
console.log(`\nour functions, inclusive:\n${top(incl)}`)
