/**
 * The drop-in: `<script src="torpub.min.js" data-doh="https://…/dns-query">` makes
 * every `<a data-torpub href=…>` fall back to DNS and BitTorrent when its server does
 * not answer, with a small progress display fixed to the viewport (so nothing on the
 * page moves). Without the script the link stays a plain link.
 */

import { download } from './download.js'
import { TorpubError } from './errors.js'

const PROBE_TIMEOUT = 8000
const CSS = `
.torpub-status{position:fixed;right:1rem;bottom:1rem;z-index:2147483647;box-sizing:border-box;
width:min(22rem,calc(100vw - 2rem));padding:.75rem 1rem;border-radius:.5rem;background:#fff;color:#111;
font:14px/1.4 system-ui,sans-serif;box-shadow:0 2px 12px rgba(0,0,0,.25);border:1px solid #888}
.torpub-status p{margin:0 0 .5rem;overflow-wrap:anywhere}
.torpub-status [role=progressbar]{height:.5rem;background:#ddd;border-radius:.25rem;overflow:hidden}
.torpub-status [role=progressbar]>div{height:100%;width:0;background:#1a6dd6;transition:width .2s}
.torpub-status.torpub-failed{border-color:#b00020}
.torpub-status.torpub-failed [role=progressbar]{display:none}
.torpub-status button{margin-top:.5rem;font:inherit}`

/** Set up every `a[data-torpub]` under `root`; options as for download(). */
export function install (options = {}) {
  const root = options.root ?? document
  const running = new WeakMap()
  const bypass = new WeakSet()
  root.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[data-torpub][href]') : null
    if (!link || bypass.has(link)) return bypass.delete(link)
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    if (running.has(link)) return
    const controller = new AbortController()
    running.set(link, controller)
    fallBack(link, options, controller, () => {
      bypass.add(link)
      link.click() // the origin answers: let the browser download as from any link
    }).finally(() => running.delete(link))
  })
}

/** The drop-in as configured by its own script element's data attributes. */
export function installFromScript (script) {
  const data = script?.dataset ?? {}
  if (!data.doh) return
  install({
    doh: data.doh,
    requireDnssec: data.requireDnssec !== undefined && data.requireDnssec !== 'false',
    originTimeout: Number(data.originTimeout) || undefined
  })
}

async function fallBack (link, options, controller, plain) {
  const href = link.href
  const origin = new URL(href).host
  if (await originAnswers(href, options.originTimeout ?? PROBE_TIMEOUT, controller.signal)) return plain()
  const display = progressDisplay(link, controller)
  display.say(`${origin} did not answer; looking for this file in DNS…`)
  try {
    const file = await download(href, {
      ...options,
      origin: false,
      signal: controller.signal,
      onProgress: (p) => display.progress(p)
    })
    save(file)
    display.done(`Downloaded ${file.name} over BitTorrent (${origin} did not answer).`)
  } catch (e) {
    if (controller.signal.aborted) return display.failed('Download cancelled.')
    const why = clip(e instanceof TorpubError ? e.message : `unexpected error: ${e?.message ?? e}`)
    display.failed(`${origin} did not answer, and the file could not be fetched another way: ${why}`)
  }
}

/** Whether the origin answers at all: a CORS request tells 5xx apart; an opaque one
 * still tells a live server from a dead one when the origin sends no CORS headers. */
async function originAnswers (href, timeout, signal) {
  const probe = (mode) => fetch(href, {
    method: 'HEAD', mode, cache: 'no-store', signal: AbortSignal.any([signal, AbortSignal.timeout(timeout)])
  })
  try {
    return (await probe('cors')).status < 500
  } catch (e) {
    if (e?.name === 'TimeoutError' || signal.aborted) return false
  }
  try {
    await probe('no-cors')
    return true
  } catch {
    return false
  }
}

function save (file) {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(file)
  a.download = file.name
  a.hidden = true
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000)
}

/** The progress display: text in a polite live region, a progressbar, a cancel button. */
function progressDisplay (link, controller) {
  injectStyle()
  const box = document.createElement('div')
  box.className = 'torpub-status'
  const message = document.createElement('p')
  message.setAttribute('role', 'status')
  message.setAttribute('aria-live', 'polite')
  const bar = document.createElement('div')
  bar.setAttribute('role', 'progressbar')
  bar.setAttribute('aria-label', `Downloading ${link.textContent.trim() || link.href}`)
  bar.setAttribute('aria-valuemin', '0')
  bar.setAttribute('aria-valuemax', '100')
  bar.append(document.createElement('div'))
  const button = document.createElement('button')
  button.type = 'button'
  button.textContent = 'Cancel'
  button.addEventListener('click', () => (controller.signal.aborted ? box.remove() : controller.abort()))
  box.append(message, bar, button)
  document.body.append(box)
  link.setAttribute('aria-busy', 'true')
  const end = (text, failed) => {
    link.removeAttribute('aria-busy')
    message.textContent = text
    box.classList.toggle('torpub-failed', failed)
    button.textContent = 'Close'
    button.onclick = () => box.remove()
  }
  return {
    say: (text) => { message.textContent = text },
    progress ({ phase, done, total }) {
      const percent = total ? Math.min(100, Math.floor((100 * done) / total)) : 0
      bar.setAttribute('aria-valuenow', String(percent))
      bar.setAttribute('aria-valuetext', total ? `${percent}% (${size(done)} of ${size(total)})` : 'starting')
      bar.firstChild.style.width = `${percent}%`
      const text = phase === 'dns' ? 'Found no server; reading the torrent from DNS…' : 'Downloading over BitTorrent…'
      if (phase !== 'origin' && message.textContent !== text) message.textContent = text
    },
    done: (text) => {
      bar.setAttribute('aria-valuenow', '100')
      bar.firstChild.style.width = '100%'
      end(text, false)
    },
    failed: (text) => end(text, true)
  }
}

function injectStyle () {
  if (document.getElementById('torpub-style')) return
  const style = document.createElement('style')
  style.id = 'torpub-style'
  style.textContent = CSS
  document.head.append(style)
}

/** A message for the page, whose parts may come from DNS: bounded, never markup
 * (it is only ever set as textContent). */
function clip (text, limit = 400) {
  return text.length > limit ? `${text.slice(0, limit)}…` : text
}

function size (bytes) {
  return bytes < 1 << 20 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`
}
