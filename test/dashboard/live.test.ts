// Live sessions in real Chromium: python3's imaplib through the real mailtap process to
// the real Dovecot, watched while the client is still connected; and the connection
// banner when mailtap goes away and comes back, with the list and transcript intact.
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import type { Session, SessionEvent } from '../../shared/schema.ts'
import { apiJson, ensureDashboardBuilt, hasChromium, launchBrowser, startMailtapProcess, type Browser, type MailtapProcess } from '../helpers/browser.ts'
import { realServers, users } from '../helpers/real-servers.ts'

const skip = hasChromium() ? false : 'chromium is not installed (/usr/bin/chromium)'
// This file's own mailbox: test files run in parallel.
const USER = users.bob // this file owns bob's mailbox on the real servers

/** imaplib logs in and selects INBOX, says "ready", and logs out when told to on stdin. */
const IMAP_CLIENT = `
import imaplib, sys
imap = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]), timeout=20)
imap.login(sys.argv[3], sys.argv[4])
imap.select('INBOX')
imap.noop()
print('ready', flush=True)
sys.stdin.readline()
imap.noop()
imap.logout()
print('done', flush=True)
`

function startImapClient(port: number): ChildProcessWithoutNullStreams {
  return spawn('python3', ['-u', '-c', IMAP_CLIENT, '127.0.0.1', String(port), USER.user, USER.password], { stdio: ['pipe', 'pipe', 'pipe'] })
}

async function waitForLine(child: ChildProcessWithoutNullStreams, word: string): Promise<void> {
  let out = ''
  let err = ''
  child.stderr.on('data', (b: Buffer) => (err += b))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client did not say ${word}: ${out} ${err}`)), 15_000)
    child.stdout.on('data', (b: Buffer) => {
      out += b
      if (out.includes(word)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (!out.includes(word)) reject(new Error(`client exited (${code}) before ${word}: ${out} ${err}`))
    })
  })
}

describe('live sessions in the dashboard', { skip }, () => {
  let mailtap: MailtapProcess
  let browser: Browser
  let page: Page
  let skipReason: string | undefined
  const dirs: string[] = []

  before(async () => {
    if (!(await realServers())) {
      skipReason = 'real servers unavailable (bash test/servers/servers.sh start)'
      return
    }
    ensureDashboardBuilt()
    const servers = (await realServers())!
    mailtap = await startMailtapProcess({ routes: [`imap://127.0.0.1:0=imap://127.0.0.1:${servers.imap}`] })
    browser = await launchBrowser()
    page = browser.page
  })

  after(async () => {
    await browser?.close()
    await mailtap?.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  test('a real imaplib session appears live while the client is still connected, then closes', async (t) => {
    if (skipReason) return t.skip(skipReason)
    await page.goto(mailtap.url)
    await page.locator('.conn-open').waitFor()
    const client = startImapClient(mailtap.routePorts[0])
    try {
      await waitForLine(client, 'ready')
      const row = page.locator('[data-testid=session-row][data-status=live]').filter({ hasText: USER.user })
      await row.waitFor()
      assert.equal(client.exitCode, null, 'the client is still connected')
      await row.getByTestId('live-marker').waitFor()
      await row.click()
      const transcript = page.getByTestId('transcript')
      await transcript.getByText('SELECT INBOX', { exact: false }).first().waitFor()
      // LOGIN's password is masked in the live view.
      assert.ok(!(await transcript.textContent())!.includes(USER.password))
      // Let the client finish: its LOGOUT arrives in the open transcript, live.
      client.stdin.write('go\n')
      await waitForLine(client, 'done')
      await transcript.getByText('LOGOUT', { exact: false }).first().waitFor()
      await page.locator(`[data-testid=session-row][data-status=closed]`).filter({ hasText: USER.user }).waitFor()
      // Everything recorded is on screen once, in order.
      const id = await page.getByTestId('session-view').getAttribute('data-session-id')
      const api = await apiJson<{ session: Session; events: SessionEvent[] }>(mailtap.url, `/api/sessions/${id}`)
      await page.waitForFunction((n) => document.querySelector('[data-testid=transcript]')?.getAttribute('data-rows') === String(n), api.events.length)
    } finally {
      client.kill()
    }
  })

  test('the dashboard says when mailtap is gone and when it is back, and resumes without duplicates', async (t) => {
    if (skipReason) return t.skip(skipReason)
    const port = new URL(mailtap.url).port
    await page.goto(mailtap.url)
    await page.locator('.conn-open').waitFor()
    await page.getByTestId('session-row').first().waitFor()
    const before = await page.getByTestId('session-row').count()
    const dataDir = mailtap.dataDir
    dirs.push(dataDir)
    // Stop mailtap but keep its data: the banner says the connection is lost.
    const child = mailtap.child
    child.kill('SIGTERM')
    await once(child, 'exit')
    await page.getByTestId('banner-lost').waitFor()
    // Back on the same address with the same recordings.
    const servers = (await realServers())!
    mailtap = await startMailtapProcess({ routes: [`imap://127.0.0.1:0=imap://127.0.0.1:${servers.imap}`], dataDir, httpPort: Number(port) })
    await page.getByTestId('banner-restored').waitFor({ timeout: 15_000 })
    // A new session while the page stays open.
    const client = startImapClient(mailtap.routePorts[0])
    try {
      await waitForLine(client, 'ready')
      client.stdin.write('go\n')
      await waitForLine(client, 'done')
    } finally {
      client.kill()
    }
    const api = await apiJson<{ sessions: Session[]; total: number }>(mailtap.url, '/api/sessions')
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=session-row]').length === n, api.total)
    const ids = await page.getByTestId('session-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-session-id')))
    assert.equal(new Set(ids).size, ids.length, 'no session is listed twice')
    assert.equal(ids.length, before + 1)
  })
})
