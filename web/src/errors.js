/**
 * The one error tree of torpub in the browser, with the Python side's messages
 * (torpub/errors.py), so a page and `torpub resolve` say the same thing.
 *
 * TorpubError
 * ├── InvalidURL          a URL torpub cannot name in DNS
 * ├── RecordError         records that do not decode to a torrent
 * │   ├── NotPublished    nothing is published for a URL
 * │   ├── NotValidated    answers without DNSSEC validation when it is required
 * │   ├── LimitExceeded   a head asks for more than the client allows
 * │   ├── MissingChunk    a chunk index has no record
 * │   └── ChecksumMismatch records caught mid-update
 * ├── ResolutionFailed    the DoH endpoint did not answer a query
 * └── DownloadError       an HTTP or BitTorrent download failed
 */

export class TorpubError extends Error {
  constructor (message) {
    super(message)
    this.name = new.target.name
  }
}

export class InvalidURL extends TorpubError {
  constructor (url, reason) {
    super(`invalid URL ${JSON.stringify(url)}: ${reason}`)
    this.url = url
  }
}

export class RecordError extends TorpubError {}

export class NotPublished extends RecordError {
  constructor (url) {
    super(`no torrent is published for ${url}`)
    this.url = url
  }
}

export class NotValidated extends RecordError {
  constructor (url) {
    super(
      `the records for ${url} were not DNSSEC-validated by the resolver (no AD bit); ` +
        'refusing them as DNSSEC is required'
    )
    this.url = url
  }
}

export class LimitExceeded extends RecordError {}

export class MissingChunk extends RecordError {
  constructor (index, name) {
    super(`chunk ${index} is missing (${name})`)
    this.index = index
    this.chunkName = name
  }
}

export class ChecksumMismatch extends RecordError {
  constructor (what, ttl = null) {
    const wait = ttl === null ? "after the head's TTL" : `after the head's TTL (${ttl} s)`
    super(`${what} differs: the records were caught mid-update; retry ${wait}`)
    this.what = what
  }
}

export class ResolutionFailed extends TorpubError {
  constructor (name, reason) {
    super(`no resolver answered ${name}: ${reason}`)
    this.queryName = name
  }
}

export class DownloadError extends TorpubError {
  constructor (url, reason) {
    super(`${url}: ${reason}`)
    this.url = url
  }
}
