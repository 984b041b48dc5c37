/** Which name a downloaded file is saved under (torpub/format/filename.py's rule). */

/**
 * The saved file's name: the URL's last path segment, as curl -O would, else the
 * torrent's; never a path, since both come from the network.
 */
export function fileName (url, fallback = null) {
  let segment = ''
  try {
    segment = decodeURIComponent(new URL(url).pathname.split('/').pop())
  } catch {}
  // As torpub/format/filename.py: no separators, nothing a file manager shows as
  // something else (controls, bidi overrides, unassigned), no hidden file.
  const clean = (name) => (name ?? '').replace(/[/\\\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu, '_').replace(/^\.+/, '')
  return clean(segment) || clean(fallback) || 'download'
}
