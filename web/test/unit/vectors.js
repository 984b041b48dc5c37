/** The shared vectors in tests/vectors/, the one copy the Python tests read too. */

import { readFileSync } from 'node:fs'

const dir = new URL('../../../tests/vectors/', import.meta.url)

export const nameVectors = JSON.parse(readFileSync(new URL('names.json', dir), 'utf8'))
export const recordVectors = [JSON.parse(readFileSync(new URL('records.json', dir), 'utf8'))].flat()
