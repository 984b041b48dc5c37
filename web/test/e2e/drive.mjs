// Drives Debian's headless Chromium (puppeteer-core, no browser download) through
// one click on a download page, for tests/test_browser.py: it prints what a person
// would see as JSON on standard output.
//
//   node drive.mjs '{"page": URL, "link": SELECTOR, "downloads": DIR,
//                    "screenshot": PNG, "profile": DIR, "timeout": MS, "cancel": BOOL}'
//
// With "cancel", the progress display is read and photographed once the bar has
// moved, then its Cancel button is pressed; otherwise both happen at the end.
import puppeteer from 'puppeteer-core'

const job = JSON.parse(process.argv[2])
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${job.profile}`
  ]
})
const messages = []
try {
  const page = await browser.newPage()
  page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => messages.push(`pageerror: ${e.stack ?? e.message}`))
  await page.setViewport({ width: 800, height: 600 })
  const cdp = await browser.target().createCDPSession()
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: job.downloads, eventsEnabled: true })
  const finished = new Promise((resolve) => {
    cdp.on('Browser.downloadProgress', (e) => {
      if (e.state === 'completed' || e.state === 'canceled') resolve(e.state)
    })
  })
  await page.goto(job.page, { waitUntil: 'load' })
  const rect = () => page.$eval(job.link, (e) => JSON.stringify(e.getBoundingClientRect()))
  const before = await rect()
  const started = Date.now()
  await page.click(job.link)
  let display = null
  if (job.cancel) {
    await page.waitForFunction(
      () => Number(document.querySelector('.torpub-status [role=progressbar]')?.getAttribute('aria-valuenow')) > 0,
      { timeout: job.timeout }
    )
    display = await look(page, job.screenshot)
    await page.click('.torpub-status button')
  }
  const failed = page.waitForSelector('.torpub-status.torpub-failed', { timeout: job.timeout }).then(() => 'failed')
  let timer
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, job.timeout, 'timeout') })
  const outcome = await Promise.race([finished, failed, timeout])
  clearTimeout(timer)
  messages.push(`${outcome} after ${Date.now() - started} ms`)
  await new Promise((resolve) => setTimeout(resolve, 300)) // the display's last update
  const end = await look(page, job.cancel ? null : job.screenshot)
  const layoutShift = before !== await rect()
  process.stdout.write(JSON.stringify({ outcome, during: display, display: end, layoutShift, console: messages }))
} finally {
  await browser.close()
}

/** The progress display as a person and a screen reader meet it, and its picture. */
async function look (page, screenshot) {
  const status = await page.$('.torpub-status')
  if (!status) return null
  const seen = await status.evaluate((box) => {
    const bar = box.querySelector('[role=progressbar]')
    const live = box.querySelector('[aria-live]')
    const r = box.getBoundingClientRect()
    const style = getComputedStyle(box)
    return {
      text: live?.textContent ?? '',
      live: live?.getAttribute('aria-live') ?? null,
      failed: box.classList.contains('torpub-failed'),
      position: style.position,
      visible: style.visibility !== 'hidden' && style.display !== 'none' && r.width > 0 && r.height > 0,
      rect: { width: r.width, height: r.height },
      bar: bar && {
        valuenow: bar.getAttribute('aria-valuenow'),
        valuemin: bar.getAttribute('aria-valuemin'),
        valuemax: bar.getAttribute('aria-valuemax'),
        label: bar.getAttribute('aria-label')
      }
    }
  })
  if (screenshot) await status.screenshot({ path: screenshot })
  return seen
}
