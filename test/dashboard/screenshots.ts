// Regenerates docs/screenshots/*.png, the README's pictures of the dashboard:
//   node --import tsx test/dashboard/screenshots.ts
// Runs the real mailtap with routes to the real test servers when they are up (so the
// pictures show real Postfix/Dovecot sessions, STARTTLS included), plus a few imports.
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import type { Session } from '../../shared/schema.ts'
import { apiJson, ensureDashboardBuilt, launchBrowser, startMailtapProcess } from '../helpers/browser.ts'
import { run } from '../helpers/clients.ts'
import { realServers, users } from '../helpers/real-servers.ts'
import { mailWithAttachment } from './fixtures.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const outDir = path.join(root, 'docs/screenshots')
const USER = users.heidi

async function importText(base: string, text: string, protocol: string): Promise<Session> {
  return (await apiJson<{ session: Session }>(base, `/api/import?protocol=${protocol}`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: text })).session
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true })
  ensureDashboardBuilt()
  const servers = await realServers()
  const routes = servers
    ? [`smtp://127.0.0.1:0=smtp://127.0.0.1:${servers.smtp}`, `imap://127.0.0.1:0=imap://127.0.0.1:${servers.imap}`, `pop3://127.0.0.1:0=pop3://127.0.0.1:${servers.pop3}`]
    : ['smtp://127.0.0.1:0=smtp://127.0.0.1:9']
  const mailtap = await startMailtapProcess({ routes })
  const browser = await launchBrowser({ viewport: { width: 1440, height: 900 } })
  try {
    const fixture = (p: string) => readFileSync(path.join(root, 'test/fixtures', p), 'utf8')
    await importText(mailtap.url, fixture('imap/fetch-mime.txt'), 'imap')
    await importText(mailtap.url, fixture('smtp/errors.txt'), 'smtp')
    await importText(mailtap.url, fixture('pop3/seed.txt'), 'pop3')
    const report = await importText(mailtap.url, mailWithAttachment(), 'smtp')
    let tlsSession: Session | undefined
    if (servers) {
      const [smtp, imap, pop3] = mailtap.routePorts
      const py = (script: string, args: string[]) => run('python3', [path.join(root, 'test/clients', script), ...args], { timeoutMs: 20_000 })
      await py('smtp_send.py', ['--port', String(smtp), '--user', USER.user, '--password', USER.password, '--to', USER.address, '--subject', 'Weekly status', '--starttls'])
      await py('imap_fetch.py', ['--port', String(imap), '--user', USER.user, '--password', USER.password])
      await py('seed_pop3.py', ['--port', String(pop3), '--user', USER.user, '--password', USER.password])
      const list = await apiJson<{ sessions: Session[] }>(mailtap.url, '/api/sessions?protocol=smtp')
      tlsSession = list.sessions.find((s) => s.tls.length > 0)
    }
    const page = browser.page
    const shot = async (name: string, hash: string, prefs: object, prepare?: (p: Page) => Promise<void>) => {
      await page.goto(`${mailtap.url}?shot=${name}`)
      await page.evaluate((p) => localStorage.setItem('mailtap.prefs', JSON.stringify(p)), { theme: 'light', lang: 'en', presentation: false, ...prefs })
      await page.goto(`${mailtap.url}?shot=${name}&prefs=1${hash}`)
      await page.locator('.conn-open').waitFor()
      await prepare?.(page)
      await page.waitForTimeout(300)
      await page.screenshot({ path: path.join(outDir, `${name}.png`) })
      console.log(`docs/screenshots/${name}.png`)
    }
    const main = tlsSession ?? report
    await shot('transcript', `#/s/${main.id}/transcript`, {}, (p) => p.getByTestId('trow').first().waitFor())
    await shot('auth-and-findings', `#/s/${report.id}/transcript`, {}, async (p) => {
      await p.getByTestId('finding').first().waitFor()
      await p.getByTestId('finding').first().scrollIntoViewIfNeeded()
    })
    await shot('message-viewer', `#/s/${report.id}/transcript/m/1`, {}, (p) => p.getByTestId('attachment').waitFor())
    await shot('sequence-diagram', `#/s/${main.id}/diagram`, {}, (p) => p.getByTestId('diagram').waitFor())
    await shot('playback', `#/s/${report.id}/playback`, {}, async (p) => {
      for (let i = 0; i < 5; i++) await p.getByTestId('pb-step').click()
    })
    await shot('raw', `#/s/${main.id}/raw`, {}, (p) => p.getByTestId('raw-view').waitFor())
    await shot('routes', '#/routes', {}, (p) => p.getByTestId('route').first().waitFor())
    await shot('dark-spanish', `#/s/${main.id}/transcript`, { theme: 'dark', lang: 'es' }, (p) => p.getByTestId('trow').first().waitFor())
    await shot('presentation', `#/s/${report.id}/playback`, { presentation: true }, async (p) => {
      for (let i = 0; i < 3; i++) await p.getByTestId('pb-step').click()
    })
  } finally {
    await browser.close()
    await mailtap.stop()
  }
}

await main()
