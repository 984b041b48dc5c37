/** torpub in the browser: the library's public names. */

export { DohClient } from './doh.js'
export { download } from './download.js'
export { fileName } from './filename.js'
export { install } from './dropin.js'
export * from './errors.js'
export { namesFor } from './names.js'
export { resolveTorrent } from './resolve.js'
