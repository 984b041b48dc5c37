/** SHA-1 and SHA-256 through WebCrypto (browsers, and node ≥ 20 for the tests). */

export async function sha1 (data) {
  return new Uint8Array(await crypto.subtle.digest('SHA-1', data))
}

export async function sha256 (data) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data))
}

export function hex (octets) {
  let out = ''
  for (const octet of octets) out += octet.toString(16).padStart(2, '0')
  return out
}
