// Bundles src/ with esbuild: dist/torpub.js (an ES module) and dist/torpub.min.js
// (a classic script for the drop-in). Both carry WebTorrent; nothing loads at run time.
import { build } from 'esbuild'

const common = {
  bundle: true,
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  legalComments: 'linked',
  logLevel: 'warning',
  // Node modules and globals some of WebTorrent's dependencies expect, as its own
  // browser build supplies them.
  alias: { events: 'events/events.js', path: 'path-browserify', crypto: './src/shims/empty.js' },
  inject: ['src/shims/process.js'],
  define: { global: 'globalThis' }
}

await build({ ...common, entryPoints: ['src/index.js'], format: 'esm', outfile: 'dist/torpub.js' })
await build({ ...common, entryPoints: ['src/entry-script.js'], format: 'iife', minify: true, outfile: 'dist/torpub.min.js' })
