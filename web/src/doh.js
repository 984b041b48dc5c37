/**
 * A DNS-over-HTTPS client: RFC 8484 wire format by GET or POST, and the JSON API
 * (`application/dns-json`) many public resolvers also serve, as a fallback.
 */

import { CNAME, TXT, base64url, decodeResponse, encodeQuery, jsonTxtStrings } from './dnswire.js'
import { ResolutionFailed } from './errors.js'

const WIRE = 'application/dns-message'
const JSON_TYPE = 'application/dns-json'
const NOERROR = 0
const NXDOMAIN = 3
const RCODES = { 1: 'FORMERR', 2: 'SERVFAIL', 4: 'NOTIMP', 5: 'REFUSED' }
const MAX_CNAMES = 8
// A DNS message is at most 65535 octets (RFC 8484 §6 keeps that limit); the JSON
// form of one is bounded by the same measure, with room for its quoting.
const MAX_WIRE = 65535
const MAX_JSON = 4 * MAX_WIRE
const decoder = new TextDecoder()

/**
 * `query(name)` → `{values, ttl, ad}` for a name's TXT records (each record's
 * strings joined), or null when the name or its TXT set does not exist.
 *
 * method: 'GET' or 'POST' (wire format), 'json', or 'auto': GET, and the JSON API
 * from then on if the endpoint answers GET with anything but a DNS message.
 */
export class DohClient {
  constructor (endpoint, { method = 'auto', timeout = 5000, attempts = 2, fetch = (...args) => globalThis.fetch(...args) } = {}) {
    if (!endpoint) throw new TypeError('a DoH endpoint URL is required (the doh option)')
    this.endpoint = new URL(endpoint, globalThis.location?.href)
    this.method = method
    this.timeout = timeout
    this.attempts = attempts
    this.fetch = fetch
  }

  async query (name, { signal } = {}) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(name, signal)
      } catch (e) {
        if (signal?.aborted) throw signal.reason
        if (e instanceof ResolutionFailed || attempt >= this.attempts) throw asFailure(name, e)
      }
    }
  }

  async #once (name, signal) {
    if (this.method === 'json') return this.#json(name, signal)
    const response = await this.#wire(name, signal)
    const type = response.headers.get('content-type') ?? ''
    if (response.ok && type.split(';')[0].trim() === WIRE) {
      return answer(name, decodeResponse(await readBounded(response, MAX_WIRE, name), name))
    }
    if (this.method === 'auto' && response.status < 500) {
      this.method = 'json' // an endpoint that speaks the JSON API only
      return this.#json(name, signal)
    }
    throw new ResolutionFailed(name, `the DoH endpoint answered HTTP ${response.status}`)
  }

  #wire (name, signal) {
    const query = encodeQuery(name)
    const init = { headers: { accept: WIRE }, signal: withTimeout(signal, this.timeout) }
    if (this.method === 'POST') {
      return this.fetch(this.endpoint, {
        ...init,
        method: 'POST',
        headers: { ...init.headers, 'content-type': WIRE },
        body: query
      })
    }
    const url = new URL(this.endpoint)
    url.searchParams.set('dns', base64url(query))
    return this.fetch(url, init)
  }

  async #json (name, signal) {
    const url = new URL(this.endpoint)
    url.searchParams.set('name', name)
    url.searchParams.set('type', 'TXT')
    const response = await this.fetch(url, {
      headers: { accept: JSON_TYPE },
      signal: withTimeout(signal, this.timeout)
    })
    if (!response.ok) throw new ResolutionFailed(name, `the DoH endpoint answered HTTP ${response.status}`)
    let body
    try {
      body = JSON.parse(decoder.decode(await readBounded(response, MAX_JSON, name)))
    } catch (e) {
      if (e instanceof ResolutionFailed) throw e
      throw new ResolutionFailed(name, 'the DoH endpoint answered neither DNS nor JSON')
    }
    return answer(name, fromJson(body, name))
  }
}

/** A JSON API answer in the shape decodeResponse gives. */
export function fromJson (body, name) {
  if (typeof body !== 'object' || body === null || !Number.isInteger(body.Status)) {
    throw new ResolutionFailed(name, 'the DoH endpoint answered JSON without a Status')
  }
  const records = []
  for (const rr of Array.isArray(body.Answer) ? body.Answer : []) {
    if (typeof rr?.name !== 'string' || typeof rr.data !== 'string') continue
    const owner = rr.name.toLowerCase().replace(/\.?$/, '.')
    const ttl = Number.isInteger(rr.TTL) ? rr.TTL : 0
    if (rr.type === TXT) records.push({ name: owner, type: TXT, ttl, strings: jsonTxtStrings(rr.data) })
    if (rr.type === CNAME) records.push({ name: owner, type: CNAME, ttl, target: rr.data.toLowerCase().replace(/\.?$/, '.') })
  }
  return { rcode: body.Status, ad: body.AD === true, tc: body.TC === true, records }
}

/** The TXT records owned by `name` (after the answer's CNAMEs), as `{values, ttl, ad}`. */
function answer (name, message) {
  if (message.rcode === NXDOMAIN) return null
  if (message.rcode !== NOERROR) {
    throw new ResolutionFailed(name, RCODES[message.rcode] ?? `rcode ${message.rcode}`)
  }
  let owner = name.toLowerCase().replace(/\.?$/, '.')
  for (let i = 0; i < MAX_CNAMES; i++) {
    const alias = message.records.find((r) => r.type === CNAME && r.name === owner)
    if (!alias) break
    owner = alias.target
  }
  const txt = message.records.filter((r) => r.type === TXT && r.name === owner)
  if (!txt.length) {
    if (message.tc) throw new ResolutionFailed(name, 'the answer was truncated')
    return null
  }
  return {
    values: txt.map((r) => r.strings.map((s) => decoder.decode(s)).join('')),
    ttl: Math.min(...txt.map((r) => r.ttl)),
    ad: message.ad
  }
}

/** The body, refused once it passes `limit` octets: the endpoint is not trusted to be brief. */
async function readBounded (response, limit, name) {
  const parts = []
  let size = 0
  const reader = response.body.getReader()
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    size += part.value.length
    if (size > limit) {
      reader.cancel().catch(() => {})
      throw new ResolutionFailed(name, `the DoH endpoint's answer is longer than ${limit} octets`)
    }
    parts.push(part.value)
  }
  const body = new Uint8Array(size)
  parts.reduce((at, part) => (body.set(part, at), at + part.length), 0)
  return body
}

function withTimeout (signal, ms) {
  const timeout = AbortSignal.timeout(ms)
  return signal ? AbortSignal.any([signal, timeout]) : timeout
}

function asFailure (name, e) {
  if (e instanceof ResolutionFailed) return e
  if (e?.name === 'TimeoutError') return new ResolutionFailed(name, 'the DoH endpoint did not answer in time')
  return new ResolutionFailed(name, `the DoH endpoint could not be reached (${e?.message ?? e})`)
}
