// The Node `process` global some of WebTorrent's dependencies read, as WebTorrent's
// own browser build provides it.
import * as process from 'webtorrent/polyfills/process-fast.js'

export { process }
