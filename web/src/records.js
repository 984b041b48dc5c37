/**
 * torrent1 TXT records → torrent bytes (record format §2–§4); the reading half of
 * torpub/format/records.py, held to the same golden records (tests/vectors/records.json).
 */

import { infoSpan } from './bencode.js'
import { hex, sha1, sha256 } from './digest.js'
import { ChecksumMismatch, LimitExceeded, MissingChunk, RecordError } from './errors.js'

export const VERSION = 'torrent1'
const OWNER = /^[A-Za-z0-9._-]{1,64}$/
const HEX64 = /^[0-9a-f]{64}$/
const HEX40 = /^[0-9a-f]{40}$/
const HEX16 = /^[0-9a-f]{16}$/
const NUMBER = /^[0-9]{1,15}$/

/** The parsed tag list of a head record: `{n, length, sha256, ih, owner, previous, displayName, chunkId}`. */
export function parseHead (text) {
  const tags = tagList(text)
  if (tags.get('v') !== VERSION) {
    const version = tags.has('v') ? `'${tags.get('v')}'` : 'None'
    throw new RecordError(`head has version ${version}, not '${VERSION}'`)
  }
  for (const name of ['n', 'len', 'sha256', 'ih']) {
    if (!tags.has(name)) throw new RecordError(`head lacks the required tag '${name}'`)
  }
  if (!NUMBER.test(tags.get('n')) || !NUMBER.test(tags.get('len'))) {
    throw new RecordError('head tags n and len must be integers')
  }
  const sha = tags.get('sha256').toLowerCase()
  const ih = tags.get('ih').toLowerCase()
  if (!HEX64.test(sha) || !HEX40.test(ih)) {
    throw new RecordError('head has a malformed n, len, sha256 or ih tag')
  }
  const owner = tags.get('o') ?? null
  const previous = tags.get('p') ?? null
  if (owner !== null && !OWNER.test(owner)) throw new RecordError(`head has a malformed owner '${owner}'`)
  if (previous !== null && !HEX16.test(previous)) {
    throw new RecordError(`head has a malformed previous id '${previous}'`)
  }
  const dn = tags.get('dn')
  return Object.freeze({
    n: Number(tags.get('n')),
    length: Number(tags.get('len')),
    sha256: sha,
    ih,
    owner,
    previous,
    displayName: dn === undefined ? null : safeDecode(dn),
    chunkId: sha.slice(0, 16)
  })
}

function tagList (text) {
  const tags = new Map()
  for (const part of text.split(';')) {
    if (!part.trim()) continue
    const sep = part.indexOf('=')
    if (sep < 0) throw new RecordError(`head tag '${part.trim()}' has no '='`)
    const name = part.slice(0, sep).trim()
    if (!tags.size && name !== 'v') throw new RecordError('head does not start with v=')
    if (!tags.has(name)) tags.set(name, part.slice(sep + 1).trim())
  }
  return tags
}

function safeDecode (text) {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** What a client accepts from a head before it queries any chunk (§4.2). */
export const DEFAULT_LIMITS = Object.freeze({ maxChunks: 256, maxLength: 1 << 20 })

export function checkLimits (head, limits = DEFAULT_LIMITS) {
  if (head.n > limits.maxChunks) {
    throw new LimitExceeded(`head asks for ${head.n} chunks; the limit is ${limits.maxChunks}`)
  }
  if (head.length > limits.maxLength) {
    throw new LimitExceeded(`head announces ${head.length} bytes; the limit is ${limits.maxLength}`)
  }
}

/** How many base64 characters the chunks may hold in all, so a hostile zone cannot fill memory. */
export function textBudget (head) {
  return 4 * Math.ceil(head.length / 3)
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Reassemble a torrent from its pieces (a Map index → text) and check it against
 * the head, in the order of §4.4: missing index, base64, length, SHA-256, info-hash.
 */
export async function decodePayload (head, pieces, names = null) {
  for (let index = 0; index < head.n; index++) {
    if (!pieces.has(index)) {
      throw new MissingChunk(index, names ? names.chunkName(head.chunkId, index) : `index ${index}`)
    }
  }
  const text = Array.from({ length: head.n }, (_, i) => pieces.get(i)).join('')
  if (!BASE64.test(text)) throw new ChecksumMismatch('the base64 of the chunks')
  const payload = Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
  if (payload.length !== head.length) {
    throw new ChecksumMismatch(`length (${payload.length} bytes, head says ${head.length})`)
  }
  if (hex(await sha256(payload)) !== head.sha256) throw new ChecksumMismatch('SHA-256')
  let span
  try {
    span = infoSpan(payload)
  } catch (e) {
    if (e instanceof RecordError) throw new ChecksumMismatch("the torrent's encoding")
    throw e
  }
  if (hex(await sha1(payload.subarray(...span))) !== head.ih) throw new ChecksumMismatch('info-hash')
  return payload
}
