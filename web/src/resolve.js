/** A URL's torrent from DNS over HTTPS, checked (record format §4). */

import { DohClient } from './doh.js'
import { ChecksumMismatch, NotPublished, NotValidated, RecordError } from './errors.js'
import { namesFor } from './names.js'
import { DEFAULT_LIMITS, checkLimits, decodePayload, parseHead, textBudget } from './records.js'
import { summarise } from './torrentinfo.js'

const DEFAULT_CONCURRENCY = 16

/**
 * `resolveTorrent(url, {doh, requireDnssec})` → `{torrent, infoHash, name, length,
 * webSeeds, dnssec}`; `torrent` is null when the head publishes only its info-hash
 * (n=0). `doh` is the endpoint's URL or a DohClient.
 */
export async function resolveTorrent (url, options = {}) {
  const { requireDnssec = false, limits = DEFAULT_LIMITS, concurrency = DEFAULT_CONCURRENCY, signal } = options
  const names = await namesFor(url)
  const doh = options.doh instanceof DohClient ? options.doh : new DohClient(options.doh, options)
  const headAnswer = await doh.query(names.headName, { signal })
  if (headAnswer === null) throw new NotPublished(url)
  const head = parseHead(onlyValue(headAnswer, 'head'))
  checkLimits(head, limits)
  if (requireDnssec && !headAnswer.ad) throw new NotValidated(url)
  const common = { infoHash: head.ih, head, names }
  if (head.n === 0) {
    return { ...common, torrent: null, name: head.displayName, length: null, webSeeds: [], dnssec: headAnswer.ad }
  }
  const chunks = await fetchChunks(doh, names, head, concurrency, signal)
  const dnssec = headAnswer.ad && [...chunks.values()].every((a) => a.ad)
  if (requireDnssec && !dnssec) throw new NotValidated(url)
  const pieces = new Map([...chunks].map(([i, a]) => [i, onlyValue(a, `chunk ${i}`)]))
  let torrent
  try {
    torrent = await decodePayload(head, pieces, names)
  } catch (e) {
    // Say how long to wait: the head's TTL, after which a fresh head names fresh chunks.
    if (e instanceof ChecksumMismatch) throw new ChecksumMismatch(e.what, headAnswer.ttl)
    throw e
  }
  const info = summarise(torrent)
  return { ...common, torrent, name: info.name, length: info.size, webSeeds: info.webSeeds, dnssec }
}

/** Every chunk's answer by index, at most `concurrency` in flight; stops at the first
 * error, and once the chunks hold more text than the head announces. */
async function fetchChunks (doh, names, head, concurrency, signal) {
  const found = new Map()
  const stop = new AbortController()
  const inner = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal
  let budget = textBudget(head)
  let next = 0
  const worker = async () => {
    while (next < head.n && !inner.aborted) {
      const index = next++
      const answer = await doh.query(names.chunkName(head.chunkId, index), { signal: inner })
      if (answer === null) continue
      budget -= answer.values.reduce((sum, v) => sum + v.length, 0)
      if (budget < 0) throw new ChecksumMismatch('length (the chunks hold more than the head announces)')
      found.set(index, answer)
    }
  }
  const workers = Array.from({ length: Math.min(concurrency, head.n) }, worker)
  try {
    await Promise.all(workers.map((w) => w.catch((e) => { stop.abort(e); throw e })))
  } catch (e) {
    throw signal?.aborted ? signal.reason : e
  }
  return found
}

function onlyValue (answer, what) {
  if (answer.values.length !== 1) {
    throw new RecordError(`the ${what} has ${answer.values.length} TXT records, not one`)
  }
  return answer.values[0]
}
