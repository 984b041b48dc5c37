import assert from 'node:assert/strict'
import { test } from 'node:test'

import { DohClient, fromJson } from '../../src/doh.js'
import { base64url, decodeResponse, encodeQuery, jsonTxtStrings } from '../../src/dnswire.js'
import { ResolutionFailed } from '../../src/errors.js'

const NAME = '0.9a428a4be39b15ce.438296e855494825557824b691a09d06a86a21f1._torrent.example.com.'

/** A response to `query`: its question echoed, answers appended, owner names as a pointer to it. */
function response (query, answers, { flags = 0x81a0, rcode = 0 } = {}) {
  const question = query.subarray(0, query.length - 11) // without the OPT record
  const parts = [question]
  for (const { type = 16, rdata, owner = [0xc0, 12] } of answers) {
    const rr = new Uint8Array(owner.length + 10 + rdata.length)
    rr.set(owner)
    const view = new DataView(rr.buffer)
    view.setUint16(owner.length, type)
    view.setUint16(owner.length + 2, 1)
    view.setUint32(owner.length + 4, 300)
    view.setUint16(owner.length + 8, rdata.length)
    rr.set(rdata, owner.length + 10)
    parts.push(rr)
  }
  const wire = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  parts.reduce((at, p) => (wire.set(p, at), at + p.length), 0)
  const view = new DataView(wire.buffer)
  view.setUint16(2, flags | rcode)
  view.setUint16(6, answers.length)
  view.setUint16(10, 0)
  return wire
}

const txt = (...strings) => Uint8Array.from(strings.flatMap((s) => [s.length, ...Buffer.from(s)]))

test('a query is ID 0 with RD, AD, one question and an EDNS OPT record', () => {
  const query = encodeQuery('Example.COM.')
  assert.deepEqual([...query.subarray(0, 12)], [0, 0, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1])
  assert.deepEqual([...query.subarray(12, 25)], [7, ...Buffer.from('Example'), 3, ...Buffer.from('COM'), 0])
  assert.deepEqual([...query.subarray(25, 29)], [0, 16, 0, 1])
  assert.deepEqual([...query.subarray(29)], [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0])
  assert.equal(base64url(Uint8Array.of(0xfb, 0xff)), '-_8')
  assert.throws(() => encodeQuery('a'.repeat(64) + '.example.'), ResolutionFailed)
})

test('a response gives its TXT strings, TTL, AD and rcode; pointers are followed', () => {
  const query = encodeQuery(NAME)
  const message = decodeResponse(response(query, [{ rdata: txt('abc', 'def') }]))
  assert.equal(message.rcode, 0)
  assert.equal(message.ad, true)
  assert.equal(message.records[0].name, NAME)
  assert.deepEqual(message.records[0].strings.map((s) => Buffer.from(s).toString()), ['abc', 'def'])
  assert.equal(decodeResponse(response(query, [], { rcode: 3 })).rcode, 3)
})

test('hostile responses are one clear error, never a hang or a crash', () => {
  const query = encodeQuery(NAME)
  const cases = [
    response(query, [{ rdata: txt('abc'), owner: [0xc3, 0xff] }]), // a pointer past the end
    response(query, [{ rdata: txt('abc'), owner: [0xc0, query.length - 11] }]), // a pointer to itself
    response(query, [{ rdata: Uint8Array.of(200, 1, 2) }]), // a string longer than its record
    response(query, [{ rdata: txt('abc') }]).subarray(0, query.length), // cut short
    query // not a response
  ]
  cases.forEach((wire, i) => assert.throws(() => decodeResponse(wire, NAME), ResolutionFailed, `case ${i}`))
})

test('JSON API TXT data: quoted presentation format or bare text', () => {
  const text = (data) => jsonTxtStrings(data).map((s) => Buffer.from(s).toString('latin1'))
  assert.deepEqual(text('"v=torrent1; n=1" "; len=2"'), ['v=torrent1; n=1', '; len=2'])
  assert.deepEqual(text('"a\\"b\\\\c\\065"'), ['a"b\\cA'])
  assert.deepEqual(text('v=torrent1; n=1'), ['v=torrent1; n=1'])
  const message = fromJson({ Status: 0, AD: true, Answer: [{ name: 'A.example', type: 16, TTL: 60, data: '"x"' }] }, 'a.example.')
  assert.equal(message.records[0].name, 'a.example.')
  assert.throws(() => fromJson({ nothing: true }, 'a.example.'), ResolutionFailed)
})

test('the client follows CNAMEs in the answer and maps rcodes', async () => {
  const query = encodeQuery(NAME)
  const target = [5, ...Buffer.from('other'), 0]
  const wire = response(query, [
    { type: 5, rdata: Uint8Array.from(target) },
    { rdata: txt('behind a cname'), owner: target }
  ])
  const served = []
  const fetch = async (url, init) => {
    served.push([String(url), init.method ?? 'GET'])
    const status = url.searchParams?.get('dns') ? 200 : 415
    return new Response(status === 200 ? wire : 'no', { status, headers: { 'content-type': 'application/dns-message' } })
  }
  const client = new DohClient('https://doh.test/dns-query', { fetch })
  const answer = await client.query(NAME)
  assert.deepEqual(answer.values, ['behind a cname'])
  assert.ok(served[0][0].startsWith('https://doh.test/dns-query?dns=AAABIAAB'))
  const servfail = new DohClient('https://doh.test/dns-query', {
    fetch: async () => new Response(response(query, [], { rcode: 2 }), { headers: { 'content-type': 'application/dns-message' } })
  })
  await assert.rejects(servfail.query(NAME), { message: `no resolver answered ${NAME}: SERVFAIL` })
})

test('auto falls back to the JSON API when GET gets no DNS message', async () => {
  const asked = []
  const fetch = async (url) => {
    asked.push(url.search)
    if (url.searchParams.has('dns')) return new Response('<html>', { status: 400, headers: { 'content-type': 'text/html' } })
    const body = { Status: 0, AD: false, Answer: [{ name: NAME, type: 16, TTL: 9, data: 'v=torrent1' }] }
    return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/dns-json' } })
  }
  const client = new DohClient('https://doh.test/resolve', { fetch })
  assert.deepEqual((await client.query(NAME)).values, ['v=torrent1'])
  assert.deepEqual((await client.query(NAME)).values, ['v=torrent1'])
  assert.equal(asked.filter((q) => q.includes('dns=')).length, 1, 'JSON is remembered')
})

test('an answer longer than any DNS message is refused before it is all read', async () => {
  let sent = 0
  const endless = new ReadableStream({
    pull (controller) {
      sent += 16384
      controller.enqueue(new Uint8Array(16384))
    }
  })
  const client = new DohClient('https://doh.test/dns-query', {
    fetch: async () => new Response(endless, { headers: { 'content-type': 'application/dns-message' } })
  })
  await assert.rejects(client.query(NAME), { message: `no resolver answered ${NAME}: the DoH endpoint's answer is longer than 65535 octets` })
  assert.ok(sent < 65535 + 3 * 16384)
})
