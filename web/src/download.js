/**
 * `download(url, {doh, onProgress, signal})` → a File: the origin first; when it
 * does not answer, the torrent from DNS and the bytes through WebTorrent, from the
 * torrent's web seeds (BEP 19) and WebRTC peers, each piece checked against its SHA-1.
 */

import WebTorrent from 'webtorrent'

import { DownloadError } from './errors.js'
import { resolveTorrent } from './resolve.js'
import { fileName } from './filename.js'
import { summarise } from './torrentinfo.js'

const ORIGIN_TIMEOUT = 10_000
const STALL_TIMEOUT = 60_000

/**
 * Progress arrives as `{phase, done, total, peers}`: phase 'origin' (bytes from the
 * server), 'dns' (asking for the torrent), 'torrent' (bytes over BitTorrent).
 */
export async function download (url, options = {}) {
  const { onProgress = () => {}, signal, originTimeout = ORIGIN_TIMEOUT, origin = true } = options
  // origin: false when the caller has just found the origin silent (the drop-in).
  const fromOrigin = origin && await tryOrigin(url, originTimeout, signal, onProgress)
  if (fromOrigin) return fromOrigin
  onProgress({ phase: 'dns', done: 0, total: 0, peers: 0 })
  const resolved = await resolveTorrent(url, options)
  if (resolved.torrent === null) {
    throw new DownloadError(url, 'DNS publishes only the info-hash; a browser needs the whole torrent to use web seeds')
  }
  const { files } = summarise(resolved.torrent)
  if (files !== 1) throw new DownloadError(url, `the torrent holds ${files} files, not the one this URL names`)
  const blob = await fetchTorrent(url, resolved, { ...options, onProgress })
  return new File([blob], fileName(url, resolved.name), { type: 'application/octet-stream' })
}

/** The origin's File, or null when it does not answer (refused, timed out, 5xx,
 * or cut off): the cases in which §6 says a client falls back to DNS. */
async function tryOrigin (url, timeout, signal, onProgress) {
  const waiting = new AbortController()
  const timer = setTimeout(() => waiting.abort(new DOMException('timeout', 'TimeoutError')), timeout)
  const both = signal ? AbortSignal.any([signal, waiting.signal]) : waiting.signal
  try {
    const response = await fetch(url, { signal: both, cache: 'no-store' })
    clearTimeout(timer) // the timeout is for an answer; a slow body is still an answer
    if (response.status >= 500) return null
    if (!response.ok) throw new DownloadError(url, `HTTP ${response.status} ${response.statusText}`.trim())
    const total = Number(response.headers.get('content-length')) || 0
    const parts = []
    let done = 0
    const reader = response.body.getReader()
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      parts.push(part.value)
      done += part.value.length
      onProgress({ phase: 'origin', done, total, peers: 0 })
    }
    const type = response.headers.get('content-type') ?? 'application/octet-stream'
    return new File(parts, fileName(url), { type })
  } catch (e) {
    if (signal?.aborted) throw signal.reason
    if (e instanceof DownloadError) throw e
    return null // a network error: refused, reset, timed out, or blocked by CORS
  } finally {
    clearTimeout(timer)
  }
}

/** The torrent's one file as a Blob, through WebTorrent. */
function fetchTorrent (url, resolved, { onProgress, signal, stallTimeout = STALL_TIMEOUT, webtorrent = {} }) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, ...webtorrent })
    let lastDone = -1
    let lastChange = Date.now()
    let settled = false
    let watch // the stall watch, started once the torrent is added
    const finish = (error, blob) => {
      if (settled) return
      settled = true
      clearInterval(watch)
      signal?.removeEventListener('abort', abort)
      client.destroy(() => (error ? reject(error) : resolve(blob)))
    }
    const abort = () => finish(signal.reason)
    signal?.addEventListener('abort', abort)
    client.on('error', (e) => finish(new DownloadError(url, `BitTorrent: ${e.message ?? e}`)))
    let torrent
    try {
      torrent = client.add(resolved.torrent, { destroyStoreOnDestroy: true })
    } catch (e) {
      // A torrent WebTorrent refuses at once: the client is closed all the same.
      return finish(new DownloadError(url, `BitTorrent: ${e.message ?? e}`))
    }
    const report = () => onProgress({ phase: 'torrent', done: torrent.downloaded, total: torrent.length || resolved.length, peers: torrent.numPeers })
    watch = setInterval(() => {
      report()
      if (torrent.downloaded !== lastDone) {
        lastDone = torrent.downloaded
        lastChange = Date.now()
      } else if (Date.now() - lastChange > stallTimeout) {
        const seeds = torrent.urlList?.length ?? 0
        finish(new DownloadError(url, `no progress for ${Math.round(stallTimeout / 1000)} s (${torrent.numPeers} peers, ${seeds} web seeds)`))
      }
    }, 500)
    torrent.on('error', (e) => finish(new DownloadError(url, `BitTorrent: ${e.message ?? e}`)))
    torrent.on('download', report)
    torrent.on('done', async () => {
      report()
      try {
        finish(null, await torrent.files[0].blob())
      } catch (e) {
        finish(new DownloadError(url, `BitTorrent: ${e.message ?? e}`))
      }
    })
  })
}
