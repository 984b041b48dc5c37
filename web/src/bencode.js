/**
 * Just enough bencode to check a torrent and read what a download needs; the
 * twin of torpub/format/bencode.py, as strict (sorted unique keys, bounded depth).
 */

import { RecordError } from './errors.js'

export class BencodeError extends RecordError {}

const MAX_DEPTH = 64
const decoder = new TextDecoder()

/** The value of a whole bencoded buffer: numbers as BigInt-free safe integers,
 * byte strings as Uint8Array, dicts as Map keyed by the key's text. */
export function decode (data) {
  const [value, end] = decodeAt(data, 0, 0)
  if (end !== data.length) throw new BencodeError(`${data.length - end} trailing bytes after the bencoded value`)
  return value
}

/** [start, end) of the top-level info dict's encoding, whose SHA-1 is the info-hash. */
export function infoSpan (torrent) {
  if (torrent[0] !== 0x64) throw new BencodeError('a torrent is a bencoded dictionary')
  let pos = 1
  while (pos < torrent.length && torrent[pos] !== 0x65) {
    const [key, afterKey] = decodeAt(torrent, pos, 1)
    const [, end] = decodeAt(torrent, afterKey, 1)
    if (key instanceof Uint8Array && decoder.decode(key) === 'info') return [afterKey, end]
    pos = end
  }
  throw new BencodeError('the torrent has no info dictionary')
}

function decodeAt (data, pos, depth) {
  if (depth > MAX_DEPTH) throw new BencodeError('bencode nested too deeply')
  const lead = data[pos]
  if (lead === undefined) throw new BencodeError('truncated bencode')
  if (lead === 0x69) { // i
    const end = find(data, 0x65, pos)
    return [integer(data.subarray(pos + 1, end)), end + 1]
  }
  if (lead === 0x6c) { // l
    const items = []
    pos += 1
    while (data[pos] !== 0x65) {
      const [item, next] = decodeAt(data, pos, depth + 1)
      items.push(item)
      pos = next
    }
    return [items, pos + 1]
  }
  if (lead === 0x64) { // d
    const result = new Map()
    let last = null
    pos += 1
    while (data[pos] !== 0x65) {
      const [key, afterKey] = decodeAt(data, pos, depth + 1)
      if (!(key instanceof Uint8Array) || (last !== null && compare(key, last) <= 0)) {
        throw new BencodeError('dictionary keys must be unique byte strings in order')
      }
      const [value, next] = decodeAt(data, afterKey, depth + 1)
      result.set(decoder.decode(key), value)
      last = key
      pos = next
    }
    return [result, pos + 1]
  }
  if (lead >= 0x30 && lead <= 0x39) {
    const colon = find(data, 0x3a, pos)
    const length = integer(data.subarray(pos, colon))
    const end = colon + 1 + length
    if (length < 0 || end > data.length) throw new BencodeError('byte string runs past the end')
    return [data.subarray(colon + 1, end), end]
  }
  throw new BencodeError(`unexpected byte at offset ${pos}`)
}

function find (data, octet, pos) {
  const end = data.indexOf(octet, pos)
  if (end < 0) throw new BencodeError('truncated bencode')
  return end
}

function integer (raw) {
  const text = decoder.decode(raw)
  if (!/^-?[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new BencodeError(`bad integer ${JSON.stringify(text.slice(0, 20))}`)
  }
  return Number(text)
}

function compare (a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return a.length - b.length
}
