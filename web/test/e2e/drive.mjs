// Drives Debian's headless Chromium (puppeteer-core, no browser download) through
// one click on a download page, for tests/test_browser.py: it prints what a person
// would see as JSON on standard output.
//
//   node drive.mjs '{"page": URL, "link": SELECTOR, "downloads": DIR,
//                    "screenshot": PNG, "profile": DIR, "timeout": MS}'
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
const console_ = []
try {
  const page = await browser.newPage()
  page.on('console', (m) => console_.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => console_.push(`pageerror: ${e.stack ?? e.message}`))
  await page.setViewport({ width: 800, height: 600 })
  const cdp = await browser.target().createCDPSession()
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: job.downloads, eventsEnabled: true })
  const downloads = []
  const finished = new Promise((resolve) => {
    cdp.on('Browser.downloadWillBegin', (e) => downloads.push({ guid: e.guid, name: e.suggestedFilename, url: e.url.slice(0, 5) }))
    cdp.on('Browser.downloadProgress', (e) => {
      if (e.state === 'completed' || e.state === 'canceled') resolve(e.state)
    })
  })
  await page.goto(job.page, { waitUntil: 'load' })
  const rect = (selector) => page.$eval(selector, (e) => JSON.stringify(e.getBoundingClientRect()))
  const before = await rect(job.link)
  const started = Date.now()
  await page.click(job.link)
  const failed = page.waitForSelector('.torpub-status.torpub-failed', { timeout: job.timeout }).then(() => 'failed')
  let timer
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, job.timeout, 'timeout') })
  const outcome = await Promise.race([finished, failed, timeout])
  clearTimeout(timer)
  console_.push(`${outcome} after ${Date.now() - started} ms`)
  await new Promise((resolve) => setTimeout(resolve, 300)) // the display's last update
  const status = await page.$('.torpub-status')
  let display = null
  if (status) {
    display = await status.evaluate((box) => {
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
    if (job.screenshot) await status.screenshot({ path: job.screenshot })
  }
  const after = await rect(job.link)
  process.stdout.write(JSON.stringify({ outcome, downloads, display, layoutShift: before !== after, console: console_ }))
} finally {
  await browser.close()
}
