/**
 * The DNS messages of RFC 8484: a TXT query to send, a response to read. Only what
 * a torrent fetch needs, and every length checked, since the answer is untrusted.
 */

import { ResolutionFailed } from './errors.js'

export const TXT = 16
export const CNAME = 5
const OPT = 41
const IN = 1
const RD = 0x0100
const AD = 0x0020
const QR = 0x8000
const TC = 0x0200
// RFC 8484 §4.1: DoH servers see the whole answer; ask for the largest a relay
// may pass on over UDP, so it need not truncate.
const EDNS_PAYLOAD = 4096
const MAX_POINTERS = 64
const decoder = new TextDecoder()

/** A query for `name`'s TXT records, with RD, AD (RFC 6840 §5.7) and EDNS, ID 0 as RFC 8484 asks. */
export function encodeQuery (name, type = TXT) {
  const labels = name.replace(/\.$/, '').split('.').map((l) => new TextEncoder().encode(l))
  if (labels.some((l) => !l.length || l.length > 63)) throw new ResolutionFailed(name, 'not a DNS name')
  const qname = labels.reduce((n, l) => n + 1 + l.length, 1)
  if (qname > 255) throw new ResolutionFailed(name, 'the name is longer than 255 octets')
  const out = new Uint8Array(12 + qname + 4 + 11)
  const view = new DataView(out.buffer)
  view.setUint16(2, RD | AD)
  view.setUint16(4, 1) // QDCOUNT
  view.setUint16(10, 1) // ARCOUNT: the OPT record
  let pos = 12
  for (const label of labels) {
    out[pos++] = label.length
    out.set(label, pos)
    pos += label.length
  }
  pos += 1 // the root label
  view.setUint16(pos, type)
  view.setUint16(pos + 2, IN)
  pos += 4
  pos += 1 // OPT owner: the root
  view.setUint16(pos, OPT)
  view.setUint16(pos + 2, EDNS_PAYLOAD)
  return out
}

/**
 * A response as `{rcode, ad, tc, records: [{name, type, ttl, strings | target}]}`:
 * TXT records with their character-strings, CNAMEs with their target.
 */
export function decodeResponse (wire, queryName = '?') {
  const bad = (why) => new ResolutionFailed(queryName, `malformed DNS answer (${why})`)
  if (wire.length < 12) throw bad('shorter than a header')
  const view = new DataView(wire.buffer, wire.byteOffset, wire.byteLength)
  const flags = view.getUint16(2)
  if (!(flags & QR)) throw bad('not a response')
  const [qd, an] = [view.getUint16(4), view.getUint16(6)]
  let pos = 12
  for (let i = 0; i < qd; i++) {
    pos = readName(wire, pos, bad).end + 4
    if (pos > wire.length) throw bad('question runs past the end')
  }
  const records = []
  for (let i = 0; i < an; i++) {
    const { name, end } = readName(wire, pos, bad)
    if (end + 10 > wire.length) throw bad('record runs past the end')
    const type = view.getUint16(end)
    const ttl = view.getUint32(end + 4)
    const length = view.getUint16(end + 8)
    const start = end + 10
    pos = start + length
    if (pos > wire.length) throw bad('record data runs past the end')
    if (type === TXT) records.push({ name, type, ttl, strings: readStrings(wire.subarray(start, pos), bad) })
    if (type === CNAME) records.push({ name, type, ttl, target: readName(wire, start, bad).name })
  }
  return { rcode: flags & 0x000f, ad: Boolean(flags & AD), tc: Boolean(flags & TC), records }
}

function readName (wire, pos, bad) {
  const labels = []
  let end = null
  for (let jumps = 0; ; ) {
    const length = wire[pos]
    if (length === undefined) throw bad('name runs past the end')
    if ((length & 0xc0) === 0xc0) {
      if (++jumps > MAX_POINTERS || pos + 1 >= wire.length) throw bad('compression pointers loop')
      end ??= pos + 2
      pos = ((length & 0x3f) << 8) | wire[pos + 1]
    } else if (length & 0xc0) {
      throw bad('unknown label type')
    } else if (length === 0) {
      return { name: labels.join('.').toLowerCase() + '.', end: end ?? pos + 1 }
    } else {
      if (pos + 1 + length > wire.length) throw bad('label runs past the end')
      labels.push(decoder.decode(wire.subarray(pos + 1, pos + 1 + length)))
      pos += 1 + length
    }
  }
}

function readStrings (rdata, bad) {
  const strings = []
  for (let pos = 0; pos < rdata.length; ) {
    const end = pos + 1 + rdata[pos]
    if (end > rdata.length) throw bad('TXT string runs past its record')
    strings.push(rdata.subarray(pos + 1, end))
    pos = end
  }
  return strings
}

/** base64url without padding, as the `dns` parameter of a DoH GET (RFC 8484 §4.1). */
export function base64url (octets) {
  let text = ''
  for (const octet of octets) text += String.fromCharCode(octet)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/**
 * The TXT strings of the DoH JSON API's `data` field: resolvers write it quoted
 * in presentation format (`"a" "b"`, with `\"`, `\\` and `\DDD`), or bare.
 */
export function jsonTxtStrings (data) {
  if (!data.startsWith('"')) return [new TextEncoder().encode(data)]
  const strings = []
  let current = null
  for (let i = 0; i < data.length; i++) {
    const c = data[i]
    if (current === null) {
      if (c === '"') current = []
      else if (c !== ' ') return [new TextEncoder().encode(data)]
    } else if (c === '"') {
      strings.push(Uint8Array.from(current))
      current = null
    } else if (c === '\\' && /^[0-9]{3}$/.test(data.slice(i + 1, i + 4))) {
      current.push(Number(data.slice(i + 1, i + 4)) & 0xff)
      i += 3
    } else {
      const char = c === '\\' ? data[++i] ?? '' : c
      current.push(...new TextEncoder().encode(char))
    }
  }
  if (current !== null) strings.push(Uint8Array.from(current))
  return strings
}
