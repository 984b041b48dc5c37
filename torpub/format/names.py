"""Which DNS names hold a URL's torrent (record format §1)."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlsplit

import dns.name

from torpub.errors import InvalidURL, ZoneError

LABEL = "_torrent"
# RFC 1035 §2.3.4: octets of a name on the wire, length octets and the root's included.
MAX_NAME_OCTETS = 255
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_CHUNK_ID = re.compile(r"[0-9a-f]{16}")
_KEY = re.compile(r"[0-9a-f]{40}")
# Already canonical: lower-case letters, digits, '-' and '_' in labels of at most 63
# octets, with the trailing dot. Most names are, and skip dnspython's parse.
_CANONICAL = re.compile(r"(?:[a-z0-9_-]{1,63}\.)+")


@dataclass(frozen=True)
class TorrentNames:
    """Where one URL's records live."""

    url: str
    target: str
    key: str
    host: str

    @property
    def head_name(self) -> str:
        return f"{self.key}.{LABEL}.{self.host}."

    def chunk_name(self, chunk_id: str, index: int) -> str:
        name = f"{index}.{chunk_id}.{self.head_name}"
        # The host's labels were checked, the others are short: only the total can
        # overflow, and only here, as chunk names are the longest.
        octets = len(name) + 1  # ASCII: one octet per character, plus the root's
        if octets > MAX_NAME_OCTETS:
            over = octets - MAX_NAME_OCTETS
            raise InvalidURL(
                self.url,
                f"its DNS chunk names would be {octets} octets long, over DNS's "
                f"{MAX_NAME_OCTETS}: the host is too long by {over}",
            )
        return name


def names_for(url: str) -> TorrentNames:
    """The names of ``url``; InvalidURL when DNS cannot hold them (before any is used)."""
    try:
        parts = urlsplit(url)
    except ValueError as e:  # e.g. "Invalid IPv6 URL" for a "[" without its "]"
        raise InvalidURL(url, f"it is not a URL ({e})") from None
    if not parts.hostname:
        raise InvalidURL(url, "it has no host")
    target = url_target(url)
    names = TorrentNames(
        url=url,
        target=target,
        key=hashlib.sha1(target.encode()).hexdigest(),
        host=dns_host(parts.hostname, url),
    )
    names.chunk_name("0" * 16, 0)  # the shortest chunk name: longer indexes check again
    return names


def url_target(url: str) -> str:
    """The normalised path and query that the key hashes."""
    without_fragment = url.split("#", 1)[0]
    parts = urlsplit(without_fragment)
    path = _percent_encode(remove_dot_segments(unquote_to_bytes(parts.path))) or "/"
    if "?" in without_fragment:
        path += "?" + _ESCAPE.sub(lambda m: m.group(0).upper(), parts.query)
    return path


def remove_dot_segments(path: bytes) -> bytes:
    """RFC 3986 §5.2.4, on the decoded path."""
    out: list[bytes] = []
    rest = path
    while rest:
        if rest.startswith(b"../"):
            rest = rest[3:]
        elif rest.startswith((b"./", b"/./")):
            rest = rest[2:]
        elif rest == b"/.":
            rest = b"/"
        elif rest.startswith(b"/../"):
            rest = rest[3:]
            if out:
                out.pop()
        elif rest == b"/..":
            rest = b"/"
            if out:
                out.pop()
        elif rest in (b".", b".."):
            rest = b""
        else:
            start = 1 if rest.startswith(b"/") else 0
            end = rest.find(b"/", start)
            end = len(rest) if end < 0 else end
            out.append(rest[:end])
            rest = rest[end:]
    return b"".join(out)


def _percent_encode(raw: bytes) -> str:
    # quote_from_bytes keeps RFC 3986's unreserved characters and "/" and writes
    # upper-case escapes: this rule, in C for the common all-plain path.
    return quote_from_bytes(raw, safe="/")


def dns_host(host: str, url: str = "") -> str:
    """The host as lower-case IDNA 2008 A-labels, without a trailing dot."""
    try:
        name = _a_labels(host)
    except ZoneError as e:
        raise InvalidURL(url or host, f"host {host!r} is not a DNS name ({e.__cause__})") from e
    if not name:  # the root: no name to put the records under
        raise InvalidURL(url or host, f"host {host!r} is not a DNS name")
    return name


# A release has one host or a few, and IDNA is about 100 µs a call: 100,000
# artifacts would spend seconds converting the same name.
@functools.lru_cache(maxsize=256)
def _a_labels(host: str) -> str:
    return canonical_name(host.rstrip(".") + ".")[:-1]


def is_plain_name(name: str) -> bool:
    """Whether ``name`` is already canonical as it stands: absolute, lower-case
    letters, digits, ``-`` and ``_``, within DNS's 255 octets (254 characters of such
    a name are 255 octets on the wire). Such names are written and compared without
    dnspython, which costs about 50 µs a name (seconds at 100,000 records)."""
    return len(name) < MAX_NAME_OCTETS and _CANONICAL.fullmatch(name) is not None


def canonical_name(name: str | dns.name.Name) -> str:
    """The one form in which torpub holds, compares and writes a DNS name: absolute,
    IDNA 2008 A-labels, ASCII lower-cased, with the trailing dot (RFC 4034 §6.2).

    Every backend and reader goes through here, so a name a server hands back in
    another case or spelling compares equal to the one torpub wrote. ZoneError
    when the text is no DNS name (names read from a server are untrusted)."""
    if isinstance(name, str) and name.isascii():
        lower = name.lower()  # ASCII only, as RFC 4034 canonical form
        if is_plain_name(lower):
            return lower
    if isinstance(name, dns.name.Name):
        parsed = name if name.is_absolute() else name.concatenate(dns.name.root)
    else:
        try:
            parsed = dns.name.from_unicode(name, idna_codec=dns.name.IDNA_2008_Practical)
        except Exception as e:  # dnspython raises several unrelated types for bad labels
            raise ZoneError(f"{name!r} is not a DNS name: {e}") from e
    return str(parsed.canonicalize().to_text())


def in_zone(name: str, zone: str) -> bool:
    """Whether ``name`` is ``zone`` or below it, both as :func:`canonical_name` reads them."""
    return ("." + canonical_name(name)).endswith("." + canonical_name(zone).lstrip("."))


@dataclass(frozen=True)
class ParsedName:
    """A name under ``_torrent``: a head (index and chunk_id None) or a chunk."""

    key: str
    host: str
    chunk_id: str | None = None
    index: int | None = None


def parse_name(name: str) -> ParsedName | None:
    """Recognise a torrent1 head or chunk name; None for anything else."""
    labels = name.lower().rstrip(".").split(".")
    try:
        at = labels.index(LABEL)
    except ValueError:
        return None
    host = ".".join(labels[at + 1 :])
    owner = labels[:at]
    if not host or not owner or not _KEY.fullmatch(owner[-1]):
        return None
    if len(owner) == 1:
        return ParsedName(owner[0], host)
    if len(owner) == 3 and _CHUNK_ID.fullmatch(owner[1]) and _is_index(owner[0]):
        return ParsedName(owner[2], host, owner[1], int(owner[0]))
    return None


def _is_index(label: str) -> bool:
    return label.isdigit() and label.isascii() and (label == "0" or not label.startswith("0"))
