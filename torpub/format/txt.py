"""TXT character-strings as text (RFC 1035 §5.1): the one quoting torpub writes and reads.

Zone files, the octoDNS block and Cloudflare's ``content`` take ``\\DDD`` decimal
escapes; Route 53 documents the same quoting with octal ``\\ooo`` escapes, the one
difference a target's syntax forces (``octal=True``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from torpub.errors import RecordError

# Printable ASCII but the quote and the backslash: written as it is.
_PLAIN = re.compile(rb"[ !#-\[\]-~]*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s"]+)', re.DOTALL)
_ESCAPE = {
    False: re.compile(r"\\([0-9]{3}|.)", re.DOTALL),
    True: re.compile(r"\\([0-7]{3}|.)", re.DOTALL),
}


def _escaped(octet: int, octal: bool) -> str:
    if octet in b'"\\':
        return "\\" + chr(octet)
    if 0x20 <= octet < 0x7F:
        return chr(octet)
    return f"\\{octet:03o}" if octal else f"\\{octet:03d}"


_ESCAPED = {octal: tuple(_escaped(o, octal) for o in range(256)) for octal in (False, True)}


def quote(octets: bytes, *, octal: bool = False) -> str:
    """One quoted character-string; ``"`` and ``\\`` escaped, other octets outside
    printable ASCII as ``\\DDD`` (``\\ooo`` with ``octal``)."""
    if _PLAIN.fullmatch(octets):
        return '"' + octets.decode("ascii") + '"'
    table = _ESCAPED[octal]
    return '"' + "".join(table[octet] for octet in octets) + '"'


def to_text(strings: Iterable[bytes], *, octal: bool = False) -> str:
    """Character-strings as one TXT value's text: each quoted, space-separated."""
    return " ".join(quote(s, octal=octal) for s in strings)


def unescape(text: str, *, octal: bool = False) -> bytes:
    """One string's text between its quotes back to octets; RecordError for an escape
    naming no octet. Characters beyond ASCII stand for their UTF-8 octets."""

    out = bytearray()
    at = 0
    for match in _ESCAPE[octal].finditer(text):
        out += text[at : match.start()].encode("utf-8", "surrogateescape")
        escaped = match.group(1)
        if len(escaped) == 1:
            out += escaped.encode("utf-8", "surrogateescape")
        else:
            value = int(escaped, 8 if octal else 10)
            if value > 255:
                raise RecordError(f"TXT text escape \\{escaped} is not an octet")
            out.append(value)
        at = match.end()
    out += text[at:].encode("utf-8", "surrogateescape")
    return bytes(out)


def from_text(text: str, *, octal: bool = False) -> tuple[bytes, ...]:
    """A TXT value's text back to its character-strings: quoted strings, or words
    between spaces; RecordError for an unclosed quote or a bad escape."""
    strings = []
    at = 0
    for match in _STRING.finditer(text):
        if text[at : match.start()].strip():
            break
        quoted, word = match.groups()
        strings.append(unescape(quoted if quoted is not None else word, octal=octal))
        at = match.end()
    if text[at:].strip():
        raise RecordError(f"TXT text {text[:40]!r} does not parse: a quote is left open")
    return tuple(strings)
