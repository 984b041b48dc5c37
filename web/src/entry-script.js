/** The classic-script build: `window.torpub`, and the drop-in set up from the
 * script element's data attributes while it is still document.currentScript. */

import * as torpub from './index.js'
import { installFromScript } from './dropin.js'

globalThis.torpub = torpub
installFromScript(document.currentScript)
