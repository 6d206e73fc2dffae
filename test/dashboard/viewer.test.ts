// The dashboard in real Chromium against the real mailtap process, on imported sessions:
// the message viewer, hostile mail, filters and search, exports, playback, the sequence
// diagram and the Spanish switch.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { readFile } from 'node:fs/promises'
import type { Page } from 'playwright-core'
import type { Session } from '../../shared/schema.ts'
import { explain } from '../../shared/explain/index.ts'
import { apiJson, ensureDashboardBuilt, hasChromium, launchBrowser, startMailtapProcess, startSink, watchSideEffects, type Browser, type MailtapProcess } from '../helpers/browser.ts'
import {
  ATTACHMENT_BODY,
  ATTACHMENT_NAME,
  HOSTILE_SUBJECT,
  REPORT_PASSWORD,
  REPORT_SUBJECT,
  hostileMail,
  imapSession,
  mailWithAttachment,
  pop3Session,
  smtpRejected,
} from './fixtures.ts'

const skip = hasChromium() ? false : 'chromium is not installed (/usr/bin/chromium)'

async function importText(base: string, text: string, protocol?: string): Promise<Session> {
  const res = await apiJson<{ session: Session }>(base, `/api/import${protocol ? `?protocol=${protocol}` : ''}`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: text,
  })
  return res.session
}

describe('the dashboard on imported sessions', { skip }, () => {
  let mailtap: MailtapProcess
  let browser: Browser
  let page: Page
  let report: Session
  let hostile: Session
  let sink: Awaited<ReturnType<typeof startSink>>
  const others: Session[] = []

  before(async () => {
    ensureDashboardBuilt()
    // A route to a closed port: mailtap runs as a proxy (not lab mode), nothing connects.
    mailtap = await startMailtapProcess({ routes: ['smtp://127.0.0.1:0=smtp://127.0.0.1:9'] })
    report = await importText(mailtap.url, mailWithAttachment(), 'smtp')
    sink = await startSink()
    hostile = await importText(mailtap.url, hostileMail(sink.url), 'smtp')
    others.push(await importText(mailtap.url, pop3Session('pablo'), 'pop3'))
    others.push(await importText(mailtap.url, imapSession('irene'), 'imap'))
    others.push(await importText(mailtap.url, smtpRejected('sergio'), 'smtp'))
    browser = await launchBrowser()
    page = browser.page
  })

  after(async () => {
    await browser?.close()
    await mailtap?.stop()
    await sink?.close()
  })

  let loads = 0
  // A fresh page load each time (a hash-only change would keep the old page's state).
  async function open(hash: string): Promise<void> {
    await page.goto(`${mailtap.url}?load=${++loads}${hash}`)
    await page.getByTestId('conn-state').and(page.locator('.conn-open')).waitFor()
  }

  test('the transcript shows commands with annotations, and the AUTH password is masked until revealed', async () => {
    await open(`#/s/${report.id}/transcript`)
    const transcript = page.getByTestId('transcript')
    await transcript.getByText('MAIL FROM:<olivia@mail.test>').waitFor()
    const rows = transcript.getByTestId('trow')
    assert.ok((await rows.count()) > 10, 'the session has more than ten rows')
    // Client and server rows are told apart by the gutter letter, not only by colour.
    assert.equal(await transcript.locator('[data-side="client"] .gutter').first().textContent(), 'C')
    assert.equal(await transcript.locator('[data-side="server"] .gutter').first().textContent(), 'S')
    // Every reply that answers a command shows its latency.
    assert.ok((await transcript.getByTestId('latency').count()) >= 5)
    // Annotations from shared/explain, with an RFC reference.
    const ann = transcript.getByTestId('annotation')
    assert.ok((await ann.count()) > 3, 'commands and replies carry annotations')
    assert.match((await ann.allTextContents()).join(' '), /RFC/)
    // The AUTH: the user is shown, the password is not, until "reveal".
    await transcript.getByTestId('auth-user').filter({ hasText: 'olivia' }).first().waitFor()
    const secretTexts = await transcript.getByTestId('secret-value').allTextContents()
    assert.ok(secretTexts.length > 0)
    assert.ok(!(await transcript.textContent())!.includes(REPORT_PASSWORD), 'the password is not on screen')
    await transcript.getByTestId('reveal').first().click()
    await transcript.getByTestId('secret-value').filter({ hasText: REPORT_PASSWORD }).first().waitFor()
    await transcript.getByTestId('reveal').first().click()
    await page.waitForFunction((pw) => !document.querySelector('[data-testid=transcript]')!.textContent!.includes(pw), REPORT_PASSWORD)
  })

  test('the message viewer shows the subject, the text part and the attachment as a download', async () => {
    await open(`#/s/${report.id}/messages`)
    await page.getByTestId('message-link').first().click()
    const viewer = page.getByTestId('message-viewer')
    await viewer.waitFor()
    await viewer.getByTestId('message-subject').filter({ hasText: REPORT_SUBJECT }).waitFor()
    await viewer.getByTestId('headers-table').getByText('Message-ID', { exact: false }).first().waitFor()
    assert.match((await viewer.getByTestId('message-text').textContent())!, /figures are attached/)
    const link = viewer.getByTestId('attachment')
    assert.match((await link.textContent())!, new RegExp(ATTACHMENT_NAME.replace('.', '\\.')))
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
    const path = await download.path()
    assert.equal(await readFile(path, 'utf8'), ATTACHMENT_BODY)
    await viewer.getByTestId('pane-source').click()
    await viewer.getByTestId('message-source').getByText(`Subject: ${REPORT_SUBJECT}`, { exact: false }).waitFor()
    await viewer.getByTestId('close-message').click()
    await viewer.waitFor({ state: 'detached' })
  })

  test('a hostile mail renders inert: no script runs, no dialog opens, nothing is fetched', async () => {
    const fx = watchSideEffects(page, new URL(mailtap.url).origin)
    await open(`#/s/${hostile.id}/transcript`)
    await page.getByTestId('open-message').first().click()
    const viewer = page.getByTestId('message-viewer')
    // The subject is shown as text, exactly as sent.
    await viewer.getByTestId('message-subject').filter({ hasText: HOSTILE_SUBJECT }).waitFor()
    assert.equal(await viewer.locator('script').count(), 0)
    assert.equal(await page.locator('#root img[src="x"]').count(), 0)
    // The text part is text.
    assert.match((await viewer.getByTestId('message-text').textContent())!, /<script>alert\('text'\)<\/script>/)
    // The HTML part, in its sandbox.
    await viewer.getByTestId('pane-html').click()
    const iframe = viewer.getByTestId('message-html')
    await iframe.waitFor()
    assert.equal(await iframe.getAttribute('sandbox'), '')
    const frame = page.frameLocator('[data-testid=message-html]')
    await frame.locator('#js').waitFor()
    // Try the links: a javascript: URL and an off-site one.
    await frame.locator('#js').click()
    await frame.locator('#ext').click()
    await frame.locator('#submit').click().catch(() => undefined)
    await page.waitForTimeout(500) // let any (wrongly) allowed effect happen before checking
    const handle = await iframe.elementHandle()
    const inner = await handle!.contentFrame()
    const pwned = inner ? await inner.evaluate(() => document.body?.getAttribute('data-pwned') ?? null).catch(() => null) : null
    assert.equal(pwned, null, 'no script or event handler ran inside the frame')
    assert.deepEqual(fx.dialogs, [])
    assert.deepEqual(fx.pageErrors, [])
    // Chromium announces some requests that CSP then blocks; none may get through.
    assert.deepEqual(fx.foreignResponses, [])
    assert.deepEqual(sink.hits, [], 'nothing reached the exfiltration sink')
    assert.deepEqual(await page.evaluate(() => (window as unknown as { pwned?: unknown }).pwned ?? null), null)
  })

  test('the filters and the text search narrow the session list', async () => {
    await open('#/')
    const list = page.getByTestId('session-list')
    const count = page.getByTestId('session-count')
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=session-row]').length === 5)
    const onlyUser = (user: string) =>
      page.waitForFunction((u) => {
        const users = [...document.querySelectorAll('[data-testid=session-row] [data-testid=session-user]')].map((e) => e.textContent)
        return users.length === 1 && users[0] === u
      }, user)
    await page.getByTestId('filter-protocol').selectOption('pop3')
    await onlyUser('pablo')
    await page.getByTestId('filter-protocol').selectOption('')
    await page.getByTestId('filter-user').fill('irene')
    await onlyUser('irene')
    await page.getByTestId('filter-user').fill('')
    await page.getByTestId('filter-errors').check()
    await onlyUser('sergio')
    await page.getByTestId('filter-errors').uncheck()
    await page.getByTestId('filter-q').fill('Relay access denied')
    await onlyUser('sergio')
    await page.getByTestId('filter-status').selectOption('failed')
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=session-row]').length === 0)
    await page.getByTestId('filter-status').selectOption('')
    await page.getByTestId('filter-q').fill('')
    await page.waitForFunction(() => document.querySelector('[data-testid=session-count]')?.textContent === '5')
    assert.equal(await count.textContent(), '5')
  })

  test('the keyboard moves through the session list and opens a session', async () => {
    await open('#/')
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=session-row]').length === 5)
    await page.keyboard.press('j')
    await page.keyboard.press('j')
    const cursor = await page.locator('.session-row.cursor').getAttribute('data-session-id')
    assert.ok(cursor)
    await page.keyboard.press('Enter')
    await page.waitForFunction((id) => location.hash.startsWith(`#/s/${id}`), cursor)
    await page.getByTestId('session-view').waitFor()
  })

  test('each export downloads a valid file', async () => {
    await open(`#/s/${report.id}/transcript`)
    const get = async (format: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`export-${format}`).click()])
      return readFile(await download.path())
    }
    const txt = (await get('txt')).toString('utf8')
    assert.match(txt, /MAIL FROM:<olivia@mail\.test>/)
    assert.ok(!txt.includes(REPORT_PASSWORD), 'the txt export is redacted by default')
    assert.ok(!txt.includes(Buffer.from(`\u0000olivia\u0000${REPORT_PASSWORD}`).toString('base64')), 'the base64 credentials are redacted too')
    const json = JSON.parse((await get('json')).toString('utf8')) as { format?: string; session?: { id: string }; events?: unknown[] }
    assert.equal(json.format, 'mailtap')
    assert.ok(Array.isArray(json.events) && json.events.length > 10)
    const pcap = await get('pcapng')
    assert.equal(pcap.readUInt32LE(0), 0x0a0d0d0a, 'pcapng starts with a Section Header Block')
    assert.ok([0x1a2b3c4d, 0x4d3c2b1a].includes(pcap.readUInt32LE(8)), 'with the byte-order magic')
    const eml = (await get('eml')).toString('latin1')
    assert.ok(eml.startsWith('PK') || eml.includes(`Subject: ${REPORT_SUBJECT}`), 'the eml export is the message (or a zip of them)')
    // With "include secrets" the txt export has the password.
    await page.getByTestId('export-secrets').check()
    const full = (await get('txt')).toString('utf8')
    assert.ok(full.includes(REPORT_PASSWORD) || full.includes(Buffer.from(`\u0000olivia\u0000${REPORT_PASSWORD}`).toString('base64')))
  })

  test('playback steps through the session one exchange at a time, and the diagram shows the exchanges in order', async () => {
    await open(`#/s/${report.id}/diagram`)
    const shapes = page.getByTestId('diagram').getByTestId('diagram-exchange')
    await shapes.first().waitFor()
    const labels = (await shapes.evaluateAll((els) => els.map((e) => e.getAttribute('data-label') ?? ''))).filter(Boolean)
    const order = ['220', 'EHLO', 'AUTH PLAIN', 'MAIL FROM', 'RCPT TO', 'DATA', 'QUIT']
    let at = -1
    for (const word of order) {
      const i = labels.findIndex((l, k) => k > at && l.includes(word))
      assert.ok(i > at, `${word} comes after the previous exchange in the diagram (labels: ${labels.join(' | ')})`)
      at = i
    }
    // Exported as SVG and PNG files.
    const [svgDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-svg').click()])
    const svg = await readFile(await svgDownload.path(), 'utf8')
    assert.match(svg, /^<\?xml[^>]*>\s*<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    assert.match(svg, /MAIL FROM:&lt;olivia@mail\.test&gt;/)
    const [pngDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-png').click()])
    const png = await readFile(await pngDownload.path())
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file')
    assert.ok(png.length > 5000)
    // A failed exchange is drawn in red: the rejected session has one.
    await open(`#/s/${others[2].id}/diagram`)
    await page.locator('[data-testid=diagram-exchange][data-failed=true]').first().waitFor()

    await open(`#/s/${report.id}/playback`)
    const position = page.getByTestId('pb-position')
    const current = page.getByTestId('pb-current')
    await position.waitFor()
    assert.match((await position.textContent())!, /^exchange 1 of \d+/)
    assert.match((await current.textContent())!, /220/)
    await page.getByTestId('pb-step').click()
    assert.match((await position.textContent())!, /^exchange 2 of/)
    assert.match((await current.textContent())!, /EHLO/i)
    await page.getByTestId('pb-step').click()
    assert.match((await current.textContent())!, /AUTH/i)
    await page.getByTestId('pb-back').click()
    assert.match((await current.textContent())!, /EHLO/i)
    // The diagram grows with playback: two exchanges shown at step 2.
    assert.equal(await page.getByTestId('diagram').getByTestId('diagram-exchange').count(), 2)
    // Playing at 10x reaches the end by itself.
    await page.getByTestId('pb-speed-10').click()
    await page.getByTestId('pb-play').click()
    const total = Number(/of (\d+)/.exec((await position.textContent())!)![1])
    await page.waitForFunction((n) => document.querySelector('[data-testid=pb-position]')?.textContent?.startsWith(`exchange ${n} of`), total, { timeout: 20_000 })
  })

  test('the Spanish switch changes the UI text and the annotations', async () => {
    await open(`#/s/${report.id}/transcript`)
    await page.getByTestId('lang-en').click()
    const ann = page.getByTestId('transcript').getByTestId('annotation')
    await ann.first().waitFor()
    const english = await ann.allTextContents()
    assert.equal(await page.getByTestId('tab-transcript').textContent(), 'Transcript')
    await page.getByTestId('lang-es').click()
    await page.getByTestId('tab-transcript').filter({ hasText: 'Transcripción' }).waitFor()
    const spanish = await page.getByTestId('transcript').getByTestId('annotation').allTextContents()
    assert.equal(spanish.length, english.length)
    assert.notDeepEqual(spanish, english, 'the annotations changed language')
    // A finding's hint follows the language too: the relay refusal's hint, from the decoder in English, from the table in Spanish.
    const rejected = others.find((s) => s.protocol === 'smtp')!
    await open(`#/s/${rejected.id}/transcript`)
    const hint = page.getByTestId('transcript').locator('[data-testid=finding][data-code=SMTP_RELAY_DENIED] .note-hint')
    await hint.filter({ hasText: 'Pista:' }).waitFor()
    assert.equal(await hint.textContent(), `Pista: ${explain('hint.SMTP_RELAY_DENIED', 'es')}`)
    await page.getByTestId('lang-en').click()
    await hint.filter({ hasText: 'Hint:' }).waitFor()
    assert.equal(await hint.textContent(), 'Hint: The client is not authenticated (or not in mynetworks): AUTH first, or send to a local domain.')
  })

  test('the routes panel tells how to point a client at each route, and offers the CA certificate', async () => {
    await open('#/routes')
    const howto = page.getByTestId('route-howto').first()
    await howto.waitFor()
    assert.equal(await howto.textContent(), `Set your SMTP server to 127.0.0.1, port ${mailtap.routePorts[0]}, no TLS.`)
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('ca-download').click()])
    assert.match(await readFile(await download.path(), 'utf8'), /^-----BEGIN CERTIFICATE-----/)
  })

  test('a transcript pasted into the import dialog becomes a session', async () => {
    await open('#/')
    await page.getByTestId('open-import').click()
    await page.getByTestId('import-text').fill(pop3Session('paula'))
    await page.getByTestId('import-go').click()
    await page.getByTestId('session-view').waitFor()
    await page.getByTestId('head-user').filter({ hasText: 'paula' }).waitFor()
    await page.getByTestId('transcript').getByText('STAT').first().waitFor()
    await page.locator('[data-testid=session-row]').filter({ hasText: 'paula' }).waitFor()
  })
})
