// resolveTorrent in node against a real DoH endpoint, for tests/test_web_doh.py:
//   node resolve.mjs URL DOH_ENDPOINT METHOD [require-dnssec]
// prints the result as JSON ({torrent: base64, ...}) or {error: {name, message}}.
import { DohClient } from '../../src/doh.js'
import { resolveTorrent } from '../../src/resolve.js'

const [url, endpoint, method, require] = process.argv.slice(2)
try {
  const doh = new DohClient(endpoint, { method })
  const r = await resolveTorrent(url, { doh, requireDnssec: require === 'require-dnssec' })
  process.stdout.write(JSON.stringify({
    torrent: r.torrent && Buffer.from(r.torrent).toString('base64'),
    infoHash: r.infoHash,
    name: r.name,
    length: r.length,
    webSeeds: r.webSeeds,
    dnssec: r.dnssec
  }))
} catch (e) {
  process.stdout.write(JSON.stringify({ error: { name: e.name, message: e.message } }))
}
