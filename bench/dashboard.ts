// Dashboard benchmark in headless Chromium against the real mailtap process:
//   - byte on the wire to line on screen: a client writes `NOOP n`, the page notes when
//     the row appears in the live transcript (MutationObserver), over 100 samples;
//   - opening a 100,000-event session (made by import): first row, and every event loaded;
//   - page memory after 1,000 live sessions arrived in the list (JS heap after GC, DOM nodes).
// Run: node --import tsx bench/dashboard.ts   (BENCH_SAMPLES, BENCH_EVENTS, BENCH_SESSIONS)
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Session } from '../shared/schema.ts'
import { apiJson, ensureDashboardBuilt, launchBrowser, startMailtapProcess } from '../test/helpers/browser.ts'
import { longSession } from '../test/dashboard/fixtures.ts'

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100)
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000)
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000)

const now = () => performance.timeOrigin + performance.now()

/** A tiny SMTP-like upstream: greets, answers every line with 250 (221 to QUIT). */
function upstream(): net.Server {
  return net.createServer((s) => {
    s.setNoDelay(true)
    s.write('220 bench ESMTP\r\n')
    let buf = ''
    s.on('data', (d) => {
      buf += d.toString('latin1')
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (/^QUIT/i.test(line)) s.end('221 bye\r\n')
        else s.write('250 ok\r\n')
      }
    })
    s.on('error', () => {})
  })
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s))
    s.setNoDelay(true)
    s.once('error', reject)
  })
}

function readUntil(s: net.Socket, re: RegExp): Promise<void> {
  return new Promise((resolve) => {
    let got = ''
    const on = (d: Buffer) => {
      got += d.toString('latin1')
      if (re.test(got)) {
        s.off('data', on)
        resolve()
      }
    }
    s.on('data', on)
  })
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0)) + ' ms'

async function main(): Promise<void> {
  ensureDashboardBuilt()
  const up = upstream()
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r))
  const upPort = (up.address() as net.AddressInfo).port
  const mailtap = await startMailtapProcess({ routes: [`smtp://127.0.0.1:0=smtp://127.0.0.1:${upPort}`], args: ['--max-sessions', String(SESSIONS * 2)] })
  const browser = await launchBrowser()
  const page = browser.page
  const rows: [string, string][] = []
  try {
    // 1. Byte on the wire to line on screen.
    await page.goto(mailtap.url)
    await page.locator('.conn-open').waitFor()
    const client = await connect(mailtap.routePorts[0])
    await readUntil(client, /220/)
    const ehloReply = readUntil(client, /250/)
    client.write('EHLO bench\r\n')
    await ehloReply
    const row = page.locator('[data-testid=session-row][data-status=live]').first()
    await row.waitFor()
    await row.click()
    await page.getByTestId('transcript').getByText('EHLO bench').waitFor()
    await page.evaluate(() => {
      const w = window as unknown as { seen: Record<string, number> }
      w.seen = {}
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid=transcript]')
        if (!el) return
        for (const m of el.textContent!.matchAll(/NOOP (\d+)(?!\d)/g)) w.seen[m[1]] ??= performance.timeOrigin + performance.now()
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })
    const latencies: number[] = []
    for (let i = 1; i <= SAMPLES; i++) {
      // Listen for the reply before writing: it may arrive before the page sees the line.
      const replied = readUntil(client, /250/)
      const t0 = now()
      client.write(`NOOP ${i}\r\n`)
      const seen = (await (await page.waitForFunction((n) => (window as unknown as { seen: Record<string, number> }).seen[n], String(i), { polling: 5 })).jsonValue()) as number
      latencies.push(seen - t0)
      await replied
    }
    client.end('QUIT\r\n')
    process.stderr.write('latency done\n')
    rows.push([`wire → screen, ${SAMPLES} samples, p50`, fmt(percentile(latencies, 50))])
    rows.push([`wire → screen, p90`, fmt(percentile(latencies, 90))])
    rows.push([`wire → screen, max`, fmt(Math.max(...latencies))])

    // 2. Opening a 100,000-event session.
    const t0 = Date.now()
    const big = (
      await apiJson<{ session: Session }>(mailtap.url, '/api/import?protocol=smtp', {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: longSession(EVENTS),
      })
    ).session
    const importMs = Date.now() - t0
    await page.goto(`${mailtap.url}?bench=open`)
    await page.locator('.conn-open').waitFor()
    const open0 = now()
    await page.evaluate((id) => (location.hash = `#/s/${id}/transcript`), big.id)
    await page.locator('[data-testid=trow][data-seq="1"]').waitFor({ timeout: 60_000 })
    const first = now() - open0
    await page.waitForFunction((n) => document.querySelector('[data-testid=transcript]')?.getAttribute('data-rows') === String(n), big.totals.events, { timeout: 120_000, polling: 20 })
    const all = now() - open0
    const scroll0 = now()
    await page.getByTestId('transcript').evaluate((el) => (el.scrollTop = el.scrollHeight))
    await page.locator(`[data-testid=trow][data-seq="${big.totals.events}"]`).waitFor()
    const scrollEnd = now() - scroll0
    rows.push([`import of ${big.totals.events.toLocaleString()} events (server side, for scale)`, fmt(importMs)])
    rows.push([`open ${big.totals.events.toLocaleString()}-event session: first row`, fmt(first)])
    rows.push([`open ${big.totals.events.toLocaleString()}-event session: every event loaded`, fmt(all)])
    rows.push(['jump to its last row', fmt(scrollEnd)])

    process.stderr.write('open done\n')
    // 3. Page memory after 1,000 live sessions.
    await page.goto(`${mailtap.url}?bench=memory`)
    await page.locator('.conn-open').waitFor()
    const cdp = await page.context().newCDPSession(page)
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage')
      return (await cdp.send('Runtime.getHeapUsage')).usedSize
    }
    const baseline = await heap()
    const before = await page.getByTestId('session-row').count()
    const BATCH = 50
    for (let done = 0; done < SESSIONS; done += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, SESSIONS - done) }, async (_, k) => {
          const s = await connect(mailtap.routePorts[0])
          await readUntil(s, /220/)
          s.write(`EHLO bench-${done + k}\r\nQUIT\r\n`)
          await new Promise((r) => s.once('close', r))
        }),
      )
    }
    const listed = await apiJson<{ total: number }>(mailtap.url, '/api/sessions?limit=1')
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=session-count]')?.textContent) >= n, Math.min(1000, listed.total), { timeout: 60_000 })
    const after = await heap()
    const dom = await page.evaluate(() => document.getElementsByTagName('*').length)
    rows.push([`JS heap before (${before} sessions listed)`, `${(baseline / 1024 / 1024).toFixed(1)} MB`])
    rows.push([`JS heap after ${SESSIONS.toLocaleString()} live sessions (after GC)`, `${(after / 1024 / 1024).toFixed(1)} MB`])
    rows.push(['DOM elements with the list full', dom.toLocaleString()])
  } catch (err) {
    if (process.env.BENCH_DEBUG) await page.screenshot({ path: '/tmp/bench-dashboard-failure.png' })
    throw err
  } finally {
    await browser.close()
    await mailtap.stop()
    up.close()
  }
  console.log('\n| dashboard, headless Chromium | result |\n|---|---|')
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`)
}

await main()
