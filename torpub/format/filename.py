"""Which file names a download may be saved as: the one rule the publisher
checks before it publishes an artifact and the client checks before it writes.

A client names a download by the URL's last path segment (as ``curl -O`` does),
so a name it would refuse must not be published: empty, ``.`` or ``..``, a
leading dot (a hidden file), a path separator, characters a terminal or a file
manager shows as something else, or a name with no room for the client's
hidden part files under NAME_MAX.
"""

from __future__ import annotations

import unicodedata

_SEPARATORS = ("/", "\\")
# Control, format (bidi overrides), surrogate (undecodable bytes), private-use,
# unassigned, and line or paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Long enough for any real artifact's name, with room for the hidden part names
# (".<name>.http-part.etag") under NAME_MAX = 255.
MAX_NAME = 200


def unsafe_reason(name: str) -> str | None:
    """Why ``name`` cannot name a downloaded file; None when it can."""
    if name in ("", ".", ".."):
        return "it is empty, '.' or '..'"
    if name.startswith("."):
        return "it starts with a dot (a hidden file)"
    if any(s in name for s in _SEPARATORS):
        return "it holds a path separator"
    # Printable ASCII holds none of them: the look-up per character is for the rest.
    if not (name.isascii() and name.isprintable()) and any(
        unicodedata.category(c) in _INVISIBLE for c in name
    ):
        return "it holds control or format characters, or bytes that are not UTF-8"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME:
        return f"it is longer than {MAX_NAME} bytes"
    return None
