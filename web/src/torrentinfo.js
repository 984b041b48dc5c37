/** What a .torrent describes, in the terms a download needs (torpub/format/torrentinfo.py). */

import { decode } from './bencode.js'
import { RecordError } from './errors.js'

const decoder = new TextDecoder()

/** `{name, size, pieceLength, pieces, files, webSeeds, trackers}` of a v1 torrent. */
export function summarise (torrent) {
  const meta = decode(torrent)
  const info = meta instanceof Map ? meta.get('info') : undefined
  if (!(info instanceof Map)) throw new RecordError('the torrent has no info dictionary')
  const pieces = bytes(info.get('pieces'), 'pieces')
  if (pieces.length % 20) throw new RecordError("the torrent's piece hashes are not a whole number of SHA-1s")
  const files = info.get('files')
  const size = Array.isArray(files)
    ? files.reduce((sum, f) => sum + integer(f instanceof Map ? f.get('length') : undefined, 'file length'), 0)
    : integer(info.get('length'), 'length')
  return Object.freeze({
    name: decoder.decode(bytes(info.get('name'), 'name')),
    size,
    pieceLength: integer(info.get('piece length'), 'piece length'),
    pieces: pieces.length / 20,
    files: Array.isArray(files) ? files.length : 1,
    webSeeds: texts(meta.get('url-list')),
    trackers: [...texts(meta.get('announce')), ...texts((meta.get('announce-list') ?? []).flat())]
  })
}

function bytes (value, what) {
  if (!(value instanceof Uint8Array)) throw new RecordError(`the torrent's ${what} is not a byte string`)
  return value
}

function integer (value, what) {
  if (!Number.isSafeInteger(value) || value < 0) throw new RecordError(`the torrent's ${what} is not a size`)
  return value
}

function texts (value) {
  const list = value instanceof Uint8Array ? [value] : Array.isArray(value) ? value : []
  return [...new Set(list.filter((v) => v instanceof Uint8Array && v.length).map((v) => decoder.decode(v)))]
}
