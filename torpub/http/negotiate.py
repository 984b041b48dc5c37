"""Whether a request gets an artifact's ``.torrent`` or the file, and the headers
that say so (record format §6). Pure: header strings in, a decision out.

A client asks for the torrent with ``Accept: application/x-bittorrent`` (RFC 9110
proactive negotiation) or with the ``torrent`` token in ``Accept-Encoding``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

# Re-exported for the HTTP side; its one home is format.torrentinfo.
from torpub.format.torrentinfo import TORRENT_TYPE as TORRENT_TYPE

TORRENT_TOKEN = "torrent"
TORRENT_SUFFIX = ".torrent"
VARY = "Accept, Accept-Encoding"

# RFC 9110 §12.4.2: "0" to "1" with at most three decimals.
_QVALUE = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")
_MEDIA_RANGE = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")
# Printable ASCII that can sit in a quoted-string without escapes.
_PLAIN_FILENAME = re.compile(r"[ !#-\[\]-~]+")


@dataclass(frozen=True)
class Preference:
    """One element of an Accept or Accept-Encoding list."""

    value: str  # the media range or coding, lower-case
    q: int  # the weight in thousandths: 1000 when absent


@dataclass(frozen=True)
class Answer:
    """What to send for a request to an artifact's URL."""

    torrent: bool  # send the .torrent's bytes instead of the file's
    headers: tuple[tuple[str, str], ...]  # to add to the answer


def parse_preferences(header: str | None, *, media_ranges: bool) -> tuple[Preference, ...]:
    """The elements of an Accept (``media_ranges``) or Accept-Encoding header.

    Malformed elements, and elements with a malformed weight, are left out:
    they name nothing a client can be held to.
    """
    if not header:
        return ()
    syntax = _MEDIA_RANGE if media_ranges else _TOKEN
    found = []
    for element in _split_outside_quotes(header, ","):
        preference = _parse_element(element, syntax)
        if preference is not None:
            found.append(preference)
    return tuple(found)


def accept_prefers_torrent(accept: str | None) -> bool:
    """Accept names the torrent type with q > 0 and no other range weighs more.

    Wildcards (``*/*``, ``application/*``) never count as asking for a torrent:
    every browser sends them.
    """
    preferences = parse_preferences(accept, media_ranges=True)
    torrent = [p.q for p in preferences if p.value == TORRENT_TYPE]
    if not torrent or max(torrent) == 0:
        return False
    others = [p.q for p in preferences if p.value != TORRENT_TYPE]
    return all(q <= max(torrent) for q in others)


def encoding_lists_torrent(accept_encoding: str | None) -> bool:
    """Accept-Encoding lists the ``torrent`` token with q > 0 (``*`` does not count)."""
    preferences = parse_preferences(accept_encoding, media_ranges=False)
    return any(p.value == TORRENT_TOKEN and p.q > 0 for p in preferences)


def wants_torrent(accept: str | None, accept_encoding: str | None) -> bool:
    return accept_prefers_torrent(accept) or encoding_lists_torrent(accept_encoding)


def negotiate(
    url_path: str,
    has_torrent: bool,
    accept: str | None,
    accept_encoding: str | None,
    range_header: str | None,
) -> Answer:
    """The one decision every torpub server makes for a request to an artifact.

    ``url_path`` is the artifact's decoded URL path (``/pub/my file.iso``);
    ``has_torrent`` says whether its ``.torrent`` exists beside it. A request
    with a Range header always gets the file: a torrent-aware client sends its
    torrent signal on every request, its own web-seed Range requests included.
    """
    if not has_torrent:
        return Answer(torrent=False, headers=())
    common = (("Vary", VARY), ("Link", link_header(url_path)))
    if range_header or not wants_torrent(accept, accept_encoding):
        return Answer(torrent=False, headers=common)
    name = url_path.rsplit("/", 1)[-1] + TORRENT_SUFFIX
    own = (("Content-Type", TORRENT_TYPE), ("Content-Disposition", content_disposition(name)))
    return Answer(torrent=True, headers=own + common)


def is_torrent_path(url_path: str) -> bool:
    return url_path.endswith(TORRENT_SUFFIX)


def torrent_url_path(url_path: str) -> str:
    """The percent-encoded URL path of an artifact's torrent, as build.artifact_url spells it."""
    return quote(url_path.encode("utf-8", "surrogateescape"), safe="/") + TORRENT_SUFFIX


def link_header(url_path: str) -> str:
    """RFC 6249's pointer from an artifact to its metadata."""
    return f'<{torrent_url_path(url_path)}>; rel=describedby; type="{TORRENT_TYPE}"'


def content_disposition(filename: str) -> str:
    """``attachment`` with the file name; RFC 6266's ``filename*`` when it is not plain ASCII."""
    if _PLAIN_FILENAME.fullmatch(filename):
        return f'attachment; filename="{filename}"'
    fallback = "".join(c if _PLAIN_FILENAME.fullmatch(c) else "_" for c in filename)
    encoded = quote(filename.encode("utf-8", "surrogateescape"), safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _parse_element(element: str, syntax: re.Pattern[str]) -> Preference | None:
    value, *params = _split_outside_quotes(element, ";")
    value = value.strip().lower()
    if not syntax.fullmatch(value):
        return None
    q = 1000
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() != "q":
            continue
        weight = _qvalue(raw.strip())
        if weight is None:
            return None
        q = weight
        break  # RFC 9110: the weight ends the parameters
    return Preference(value, q)


def _qvalue(text: str) -> int | None:
    if not _QVALUE.fullmatch(text):
        return None
    whole, _, decimals = text.partition(".")
    return int(whole) * 1000 + int((decimals + "000")[:3])


def _split_outside_quotes(text: str, separator: str) -> Iterator[str]:
    """``text`` cut at ``separator``, except inside quoted strings (RFC 9110 §5.6.4)."""
    start, quoted, escaped = 0, False, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            yield text[start:i]
            start = i + 1
    yield text[start:]
