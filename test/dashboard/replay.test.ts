// Replay and mock from the dashboard, in real Chromium against the real mailtap process:
// python3's smtplib sends a message through mailtap to the real Postfix (no AUTH: Postfix
// takes any @mail.test recipient from 127.0.0.1), Replay… sends it again and shows the
// verdict and the diff; Mock… serves the recording to a client that departs from it.
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import type { Session, SessionEvent } from '../../shared/schema.ts'
import { apiJson, ensureDashboardBuilt, hasChromium, launchBrowser, startMailtapProcess, watchSideEffects, type Browser, type MailtapProcess, type SideEffects } from '../helpers/browser.ts'
import { realServers } from '../helpers/real-servers.ts'

const skip = hasChromium() ? false : 'chromium is not installed (/usr/bin/chromium)'
// No mailbox of the shared test users: the message goes to nobody@mail.test, unauthenticated.
const SENDER = 'replay-dashboard@mail.test'
const RECIPIENT = 'nobody@mail.test'

const SEND_MAIL = `
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=20)
s.sendmail(sys.argv[3], [sys.argv[4]], 'From: <%s>\\r\\nTo: <%s>\\r\\nSubject: replay from the dashboard\\r\\n\\r\\nHello again.\\r\\n' % (sys.argv[3], sys.argv[4]))
s.quit()
print('sent', flush=True)
`

/** A client that does not follow the recording: EHLO, then VRFY (never recorded), then waits. */
const DEVIATING_CLIENT = `
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=20)
s.ehlo('mock-client')
print('vrfy', s.verify('nobody'), flush=True)
print('ready', flush=True)
sys.stdin.readline()
s.quit()
print('done', flush=True)
`

function python(script: string, args: (string | number)[]): ChildProcessWithoutNullStreams {
  return spawn('python3', ['-u', '-c', script, ...args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] })
}

async function waitForLine(child: ChildProcessWithoutNullStreams, word: string): Promise<string> {
  let out = ''
  let err = ''
  child.stderr.on('data', (b: Buffer) => (err += b))
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client did not say ${word}: ${out} ${err}`)), 20_000)
    child.stdout.on('data', (b: Buffer) => {
      out += b
      if (out.includes(word)) {
        clearTimeout(timer)
        resolve(out)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (!out.includes(word)) reject(new Error(`client exited (${code}) before ${word}: ${out} ${err}`))
    })
  })
}

/** Resolves with the error code of a TCP connection attempt, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    sock.once('connect', () => {
      sock.destroy()
      resolve('connected')
    })
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
  })
}

describe('replay and mock from the dashboard', { skip }, () => {
  let mailtap: MailtapProcess
  let browser: Browser
  let page: Page
  let fx: SideEffects
  let skipReason: string | undefined
  let smtpPort = 0
  let recordedId = ''

  before(async () => {
    const servers = await realServers()
    if (!servers) {
      skipReason = 'real servers unavailable (bash test/servers/servers.sh start)'
      return
    }
    smtpPort = servers.smtp
    ensureDashboardBuilt()
    mailtap = await startMailtapProcess({ routes: [`smtp://127.0.0.1:0=smtp://127.0.0.1:${smtpPort}`] })
    browser = await launchBrowser()
    page = browser.page
    fx = watchSideEffects(page, new URL(mailtap.url).origin)
    // The recording: one message through mailtap to Postfix.
    const client = python(SEND_MAIL, ['127.0.0.1', mailtap.routePorts[0]!, SENDER, RECIPIENT])
    await waitForLine(client, 'sent')
    const deadline = Date.now() + 15_000
    while (!recordedId) {
      if (Date.now() > deadline) throw new Error('the recorded session did not close')
      const { sessions } = await apiJson<{ sessions: Session[] }>(mailtap.url, '/api/sessions?protocol=smtp')
      const done = sessions.find((s) => s.origin?.kind !== 'replay' && s.origin?.kind !== 'mock' && s.status !== 'live')
      if (done) recordedId = done.id
      else await new Promise((r) => setTimeout(r, 50))
    }
  })

  after(async () => {
    await browser?.close()
    await mailtap?.stop()
  })

  test('Replay… against the same Postfix says equivalent and shows recorded and new replies side by side', async (t) => {
    if (skipReason) return t.skip(skipReason)
    await page.goto(`${mailtap.url}#/s/${recordedId}/transcript`)
    await page.locator('.conn-open').waitFor()
    await page.getByTestId('open-replay').click()
    const dialog = page.getByTestId('replay-dialog')
    // The target defaults to the session's own upstream.
    assert.equal(await dialog.getByTestId('replay-to').inputValue(), `smtp://127.0.0.1:${smtpPort}`)
    assert.ok(await dialog.getByTestId('replay-lockstep').isChecked(), 'lockstep is the default pacing')
    await dialog.getByTestId('replay-go').click()
    await dialog.waitFor({ state: 'detached' })

    const verdict = page.getByTestId('replay-verdict')
    await verdict.waitFor({ timeout: 30_000 })
    assert.equal(await verdict.getAttribute('data-verdict'), 'equivalent')
    assert.equal(await page.getByTestId('replay-panel').getAttribute('data-state'), 'done')

    // One diff row per exchange (greeting, EHLO, MAIL, RCPT, DATA, message, QUIT), all equal.
    const rows = page.getByTestId('replay-row')
    const n = await rows.count()
    assert.ok(n >= 6, `${n} exchanges in the diff`)
    assert.deepEqual(new Set(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-equal')))), new Set(['true']))
    // The message's reply carries a new queue id: different text, equal once normalised.
    const queued = rows.filter({ hasText: 'queued as' })
    assert.equal(await queued.count(), 1)
    const recorded = (await queued.getByTestId('replay-recorded').textContent())!
    const replayed = (await queued.getByTestId('replay-replayed').textContent())!
    assert.match(recorded, /^250 .*queued as \S+/)
    assert.match(replayed, /^250 .*queued as \S+/)
    assert.notEqual(recorded, replayed, 'Postfix gave the replayed message its own queue id')
    assert.equal(await queued.locator('.mark').textContent(), '=')
    // Equal multi-line replies are folded to their first line until opened.
    const ehlo = rows.filter({ hasText: /ehlo/i })
    assert.ok(!(await ehlo.getByTestId('replay-recorded').textContent())!.includes('PIPELINING'))
    await ehlo.getByTestId('replay-fold').click()
    assert.ok((await ehlo.getByTestId('replay-recorded').textContent())!.includes('PIPELINING'))
    assert.ok((await ehlo.getByTestId('replay-replayed').textContent())!.includes('PIPELINING'))

    // The replay is a session of its own: listed with a replay badge, linked from the panel.
    const link = page.getByTestId('replay-session-link')
    const replayId = (await link.getAttribute('data-session-id'))!
    const api = await apiJson<{ session: Session; events: SessionEvent[] }>(mailtap.url, `/api/sessions/${replayId}`)
    assert.deepEqual(api.session.origin, { kind: 'replay', of: recordedId })
    assert.ok(api.events.some((e) => e.item?.kind === 'command' && 'verb' in e.item && e.item.verb === 'DATA'), 'the replay sent DATA again')
    const listed = page.locator(`[data-testid=session-row][data-session-id="${replayId}"]`)
    await listed.getByTestId('origin-badge').waitFor()
    await link.click()
    await page.locator(`[data-testid=session-view][data-session-id="${replayId}"]`).waitFor()
    assert.equal(await page.getByTestId('origin-link').textContent(), recordedId)
  })

  test('Mock… serves the recording: a client that departs from it shows up live with its deviation, and Stop closes the port', async (t) => {
    if (skipReason) return t.skip(skipReason)
    await page.goto(`${mailtap.url}#/s/${recordedId}/transcript`)
    await page.locator('.conn-open').waitFor()
    await page.getByTestId('open-mock').click()
    const dialog = page.getByTestId('mock-dialog')
    assert.equal(await dialog.getByTestId('mock-listen').inputValue(), 'smtp://127.0.0.1:0')
    await dialog.getByTestId('mock-go').click()
    const card = page.getByTestId('mock-card')
    await card.waitFor()
    const url = (await card.getByTestId('mock-url').textContent())!
    const m = /^smtp:\/\/127\.0\.0\.1:(\d+)$/.exec(url)
    assert.ok(m, `the mock shows a URL to use: ${url}`)
    const port = Number(m[1])
    assert.notEqual(port, 0)

    const client = python(DEVIATING_CLIENT, ['127.0.0.1', port])
    try {
      const said = await waitForLine(client, 'ready')
      // VRFY is not in the recording: the mock answers it with an error rather than a guess.
      assert.match(said, /vrfy \((5\d\d),/)
      const row = card.locator('[data-testid=mock-session][data-status=live]')
      await row.waitFor()
      const finding = row.locator('[data-testid=finding][data-code=MOCK_UNEXPECTED_COMMAND]')
      await finding.waitFor()
      assert.match((await finding.textContent())!, /VRFY/i)
      const mockSessionId = (await row.getAttribute('data-session-id'))!
      await page.locator(`[data-testid=session-row][data-session-id="${mockSessionId}"]`).getByTestId('origin-badge').waitFor()

      // The finding reads in Spanish too.
      await page.getByTestId('lang-es').click()
      await finding.locator('.note-text', { hasText: 'grabación' }).waitFor()
      await page.getByTestId('lang-en').click()

      client.stdin.write('go\n')
      await waitForLine(client, 'done')
      await card.locator(`[data-testid=mock-session][data-session-id="${mockSessionId}"][data-status=closed]`).waitFor()
    } finally {
      client.kill()
    }

    assert.equal(await tryConnect(port), 'connected', 'the mock still listens before Stop')
    await card.getByTestId('mock-stop').click()
    await card.waitFor({ state: 'detached' })
    const { mocks } = await apiJson<{ mocks: unknown[] }>(mailtap.url, '/api/mocks')
    assert.deepEqual(mocks, [])
    assert.equal(await tryConnect(port), 'ECONNREFUSED')
  })

  test('replay and mock raised no page error or dialog, and the page asked nothing off its own origin', (t) => {
    if (skipReason) return t.skip(skipReason)
    assert.deepEqual(fx.pageErrors, [])
    assert.deepEqual(fx.dialogs, [])
    assert.deepEqual(fx.foreignRequests, [])
  })
})
