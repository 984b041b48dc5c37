import assert from 'node:assert/strict'
import { test } from 'node:test'

import { ChecksumMismatch, InvalidURL, LimitExceeded, MissingChunk, RecordError } from '../../src/errors.js'
import { namesFor, urlTarget } from '../../src/names.js'
import { checkLimits, decodePayload, parseHead } from '../../src/records.js'
import { fileName } from '../../src/filename.js'
import { summarise } from '../../src/torrentinfo.js'
import { nameVectors, recordVectors } from './vectors.js'

const fromBase64 = (text) => Uint8Array.from(Buffer.from(text, 'base64'))

test('every name vector gives its target and head name', async () => {
  assert.ok(nameVectors.length >= 6)
  for (const vector of nameVectors) {
    const names = await namesFor(vector.url)
    assert.equal(names.target, vector.target, vector.url)
    assert.equal(names.headName, vector.head, vector.url)
  }
})

test('dot segments, escapes and queries normalise as §1 says', () => {
  assert.equal(urlTarget('https://h/a/b/../../../c'), '/c')
  assert.equal(urlTarget('https://h/a/./b/.'), '/a/b/')
  assert.equal(urlTarget('https://h/%7e%41%2f'), '/~A/')
  assert.equal(urlTarget('https://h/x%zz'), '/x%25zz')
  assert.equal(urlTarget('https://h/?'), '/?')
  assert.equal(urlTarget('https://h/ü'), '/%C3%BC')
})

test('a URL without a host is refused', async () => {
  await assert.rejects(namesFor('/pub/file.iso'), InvalidURL)
  await assert.rejects(namesFor('https://exa mple.com/'), InvalidURL)
})

for (const vector of recordVectors) {
  const [headRecord, ...chunkRecords] = vector.records
  const payload = fromBase64(vector.payload_base64)
  const pieces = () => new Map(chunkRecords.map((r, i) => [i, r.value]))

  test(`golden records decode to the payload (${vector.url})`, async () => {
    const names = await namesFor(vector.url)
    assert.equal(headRecord.name, names.headName)
    const head = parseHead(headRecord.value)
    assert.equal(head.n, chunkRecords.length)
    assert.equal(head.length, payload.length)
    assert.equal(head.owner, vector.owner)
    assert.equal(head.displayName, vector.display_name)
    chunkRecords.forEach((r, i) => assert.equal(r.name, names.chunkName(head.chunkId, i)))
    assert.deepEqual(await decodePayload(head, pieces(), names), payload)
    const info = summarise(payload)
    assert.equal(info.size, 1048576)
    assert.deepEqual(info.webSeeds, ['https://downloads.example.com/pub/myfile.tar.gz'])
  })

  test(`each §4.4 check names what differs (${vector.url})`, async () => {
    const names = await namesFor(vector.url)
    const head = parseHead(headRecord.value)
    const missing = pieces()
    missing.delete(1)
    await assert.rejects(decodePayload(head, missing, names), (e) =>
      e instanceof MissingChunk && e.index === 1 && e.message === `chunk 1 is missing (${chunkRecords[1].name})`)
    const flipped = pieces()
    const first = flipped.get(0)
    flipped.set(0, (first[0] === 'A' ? 'B' : 'A') + first.slice(1))
    await assert.rejects(decodePayload(head, flipped), { what: 'SHA-256' })
    const short = pieces()
    short.set(2, short.get(2).slice(0, -4))
    await assert.rejects(decodePayload(head, short), (e) => e instanceof ChecksumMismatch && /^length/.test(e.what))
    const junk = pieces()
    junk.set(1, '!!!!' + junk.get(1).slice(4))
    await assert.rejects(decodePayload(head, junk), { what: 'the base64 of the chunks' })
    const otherIh = parseHead(headRecord.value.replace(/ih=[0-9a-f]{40}/, 'ih=' + '0'.repeat(40)))
    await assert.rejects(decodePayload(otherIh, pieces()), { what: 'info-hash' })
  })
}

test('head tags: version, required tags, numbers, order and unknown tags', () => {
  const good = 'v=torrent1; n=2; len=10; sha256=' + 'a'.repeat(64) + '; ih=' + 'b'.repeat(40)
  assert.equal(parseHead(good + '; future=x; n=9').n, 2)
  assert.equal(parseHead(' v = torrent1 ;len=10;n=2;ih=' + 'b'.repeat(40) + ';sha256=' + 'A'.repeat(64)).sha256, 'a'.repeat(64))
  assert.throws(() => parseHead(good.replace('torrent1', 'torrent2')), { message: "head has version 'torrent2', not 'torrent1'" })
  assert.throws(() => parseHead('n=2; ' + good), { message: 'head does not start with v=' })
  assert.throws(() => parseHead(good.replace('; n=2', '')), { message: "head lacks the required tag 'n'" })
  assert.throws(() => parseHead(good.replace('n=2', 'n=0x2')), RecordError)
  assert.throws(() => parseHead(good.replace('n=2', 'n=-2')), RecordError)
  assert.throws(() => parseHead(good + '; o=no spaces'), RecordError)
  assert.throws(() => parseHead(good + '; p=xyz'), RecordError)
  assert.throws(() => parseHead(good + '; bare'), RecordError)
})

test('limits are checked before any chunk is asked for', () => {
  const head = (n, len) => parseHead(`v=torrent1; n=${n}; len=${len}; sha256=${'a'.repeat(64)}; ih=${'b'.repeat(40)}`)
  checkLimits(head(256, 1 << 20))
  assert.throws(() => checkLimits(head(100000, 10)), { message: 'head asks for 100000 chunks; the limit is 256' })
  assert.throws(() => checkLimits(head(1, (1 << 20) + 1)), LimitExceeded)
  assert.throws(() => checkLimits(head(9, 10), { maxChunks: 8, maxLength: 10 }), LimitExceeded)
})

test('a host too long for its chunk names is refused, as names.py refuses it', async () => {
  const host = Array.from({ length: 3 }, () => 'a'.repeat(63)).join('.') + '.example'
  await assert.rejects(namesFor(`https://${host}/f`), (e) =>
    e instanceof InvalidURL && /its DNS chunk names would be 2\d\d octets long, over DNS's 255/.test(e.message))
})

test('a saved file is named by the URL, never by a path or hidden characters', () => {
  assert.equal(fileName('https://h/pub/my%20file.iso?x=1'), 'my file.iso')
  assert.equal(fileName('https://h/pub/..%2F..%2Fetc%2Fpasswd'), '_.._etc_passwd')
  assert.equal(fileName('https://h/pub/evil%E2%80%AEosi.exe'), 'evil_osi.exe')
  assert.equal(fileName('https://h/pub/', 'from-torrent.bin'), 'from-torrent.bin')
  assert.equal(fileName('https://h/pub/%2e%2e', '../x'), '_x')
  assert.equal(fileName('https://h/'), 'download')
})
