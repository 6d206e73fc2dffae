// A session of 100,000 events (made by importing a generated transcript into the real
// mailtap) opens in real Chromium, loads progressively and scrolls end to end with only
// a screenful of rows in the DOM.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Session } from '../../shared/schema.ts'
import { apiJson, ensureDashboardBuilt, hasChromium, launchBrowser, startMailtapProcess, type Browser, type MailtapProcess } from '../helpers/browser.ts'
import { longSession } from './fixtures.ts'

const skip = hasChromium() ? false : 'chromium is not installed (/usr/bin/chromium)'
const EVENTS = 100_000

describe('a 100,000-event session', { skip }, () => {
  let mailtap: MailtapProcess
  let browser: Browser
  let session: Session

  before(async () => {
    ensureDashboardBuilt()
    mailtap = await startMailtapProcess({ routes: ['smtp://127.0.0.1:0=smtp://127.0.0.1:9'] })
    const res = await apiJson<{ session: Session }>(mailtap.url, '/api/import?protocol=smtp', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: longSession(EVENTS),
    })
    session = res.session
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    await mailtap?.stop()
  })

  test('opens, loads every event and scrolls from the first to the last row', async () => {
    assert.ok(session.totals.events >= EVENTS, `the import made ${session.totals.events} events`)
    const total = session.totals.events
    const page = browser.page
    await page.goto(`${mailtap.url}#/s/${session.id}/transcript`)
    const transcript = page.getByTestId('transcript')
    // The first rows show before the rest has loaded.
    await transcript.locator('[data-testid=trow][data-seq="1"]').waitFor()
    await page.waitForFunction((n) => document.querySelector('[data-testid=transcript]')?.getAttribute('data-rows') === String(n), total, { timeout: 60_000 })
    // Virtualized: a screenful of rows in the DOM, not 100,000.
    const inDom = await transcript.getByTestId('trow').count()
    assert.ok(inDom > 10 && inDom < 300, `${inDom} rows in the DOM`)
    // To the middle and to the end.
    await transcript.evaluate((el) => (el.scrollTop = el.scrollHeight / 2))
    await page.waitForFunction(() => {
      const seqs = [...document.querySelectorAll('[data-testid=trow]')].map((r) => Number(r.getAttribute('data-seq')))
      return seqs.some((s) => s > 40_000 && s < 60_000)
    })
    await transcript.evaluate((el) => (el.scrollTop = el.scrollHeight))
    await transcript.locator(`[data-testid=trow][data-seq="${total}"]`).waitFor()
    assert.match((await transcript.locator('[data-testid=trow]').last().textContent())!, /221|close|Bye/)
    assert.ok((await transcript.getByTestId('trow').count()) < 300)
  })
})
