/**
 * Which DNS names hold a URL's torrent (record format §1); the browser's twin of
 * torpub/format/names.py, held to the same vectors (tests/vectors/names.json).
 */

import { InvalidURL } from './errors.js'
import { hex, sha1 } from './digest.js'

export const LABEL = '_torrent'
// RFC 1035 §2.3.4: octets of a name on the wire, length octets and the root's included.
const MAX_NAME_OCTETS = 255

const UNRESERVED = /[A-Za-z0-9\-._~/]/
const ESCAPE = /%[0-9a-fA-F]{2}/g
const encoder = new TextEncoder()

/**
 * Where one URL's records live: `{url, target, key, host, headName, chunkName(id, i)}`.
 * Async because the key is a SHA-1 and WebCrypto digests are.
 */
export async function namesFor (url) {
  const host = dnsHost(url)
  const target = urlTarget(url)
  const key = hex(await sha1(encoder.encode(target)))
  const headName = `${key}.${LABEL}.${host}.`
  const chunkName = (chunkId, index) => {
    const name = `${index}.${chunkId}.${headName}`
    // The host's labels were checked, the others are short: only the total can
    // overflow, and only here, as chunk names are the longest (as names.py says it).
    const octets = name.length + 1
    if (octets > MAX_NAME_OCTETS) {
      throw new InvalidURL(url, `its DNS chunk names would be ${octets} octets long, over DNS's ` +
        `${MAX_NAME_OCTETS}: the host is too long by ${octets - MAX_NAME_OCTETS}`)
    }
    return name
  }
  chunkName('0'.repeat(16), 0) // the shortest chunk name: longer indexes check again
  return Object.freeze({ url, target, key, host, headName, chunkName })
}

/** The normalised path and query that the key hashes. */
export function urlTarget (url) {
  const { path, query } = splitPathQuery(url)
  const target = percentEncode(removeDotSegments(percentDecode(path))) || '/'
  return query === null ? target : `${target}?${query.replace(ESCAPE, (e) => e.toUpperCase())}`
}

/**
 * The path and query of a URL as written, split as Python's urlsplit does (the
 * WHATWG parser would already re-encode and resolve them, differently from §1).
 */
function splitPathQuery (url) {
  // urlsplit drops leading C0 controls and spaces, and tabs and newlines anywhere.
  let rest = url.replace(/^[\x00-\x20]+/, '').replace(/[\t\r\n]/g, '')
  const hash = rest.indexOf('#')
  if (hash >= 0) rest = rest.slice(0, hash)
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(rest)
  if (scheme) rest = rest.slice(scheme[0].length)
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?]/)
    rest = end < 0 ? '' : rest.slice(2 + end)
  }
  const question = rest.indexOf('?')
  if (question < 0) return { path: rest, query: null }
  return { path: rest.slice(0, question), query: rest.slice(question + 1) }
}

function percentDecode (text) {
  const raw = encoder.encode(text)
  const out = []
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x25 && isHex(raw[i + 1]) && isHex(raw[i + 2])) {
      out.push(parseInt(String.fromCharCode(raw[i + 1], raw[i + 2]), 16))
      i += 2
    } else {
      out.push(raw[i])
    }
  }
  return out
}

function isHex (octet) {
  return octet !== undefined && /[0-9a-fA-F]/.test(String.fromCharCode(octet))
}

function percentEncode (octets) {
  let out = ''
  for (const octet of octets) {
    const char = String.fromCharCode(octet)
    out += octet < 0x80 && UNRESERVED.test(char)
      ? char
      : '%' + octet.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

const SLASH = 0x2f
const DOT = 0x2e

/** RFC 3986 §5.2.4 on the decoded path, an array of octets. */
export function removeDotSegments (path) {
  const out = []
  let rest = path
  const is = (...octets) => rest.length === octets.length && octets.every((o, i) => rest[i] === o)
  const starts = (...octets) => octets.every((o, i) => rest[i] === o)
  while (rest.length) {
    if (starts(DOT, DOT, SLASH)) {
      rest = rest.slice(3)
    } else if (starts(DOT, SLASH) || starts(SLASH, DOT, SLASH)) {
      rest = rest.slice(2)
    } else if (is(SLASH, DOT)) {
      rest = [SLASH]
    } else if (starts(SLASH, DOT, DOT, SLASH)) {
      rest = rest.slice(3)
      out.pop()
    } else if (is(SLASH, DOT, DOT)) {
      rest = [SLASH]
      out.pop()
    } else if (is(DOT) || is(DOT, DOT)) {
      rest = []
    } else {
      const start = rest[0] === SLASH ? 1 : 0
      let end = rest.indexOf(SLASH, start)
      end = end < 0 ? rest.length : end
      out.push(rest.slice(0, end))
      rest = rest.slice(end)
    }
  }
  return out.flat()
}

/**
 * The host as lower-case A-labels without a trailing dot. The URL parser applies
 * UTS #46 non-transitional processing, as dnspython's IDNA 2008 codec does for
 * every name torpub publishes.
 */
export function dnsHost (url) {
  let parsed
  try {
    parsed = new URL(url)
  } catch (e) {
    throw new InvalidURL(url, `it is not a URL (${e.message})`)
  }
  const host = parsed.hostname.replace(/\.+$/, '').toLowerCase()
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#]/i.test(url.trim()) || !host) {
    throw new InvalidURL(url, 'it has no host')
  }
  if (!/^[a-z0-9_.-]+$/.test(host) || host.split('.').some((l) => !l || l.length > 63)) {
    throw new InvalidURL(url, `host ${JSON.stringify(host)} is not a DNS name`)
  }
  return host
}
