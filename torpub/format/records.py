"""Torrent bytes ⇄ torrent1 TXT records (record format §2–§4)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote

from torpub.errors import ChecksumMismatch, ConfigError, LimitExceeded, MissingChunk, RecordError
from torpub.format import bencode
from torpub.format.names import TorrentNames

VERSION = "torrent1"
DEFAULT_CHUNK_SIZE = 900
DEFAULT_HEAD_TTL = 300
DEFAULT_CHUNK_TTL = 86400
MAX_STRING = 255
# RFC 2181 §8: a TTL above 2^31 - 1 is read as 0 (BIND does so silently).
MAX_TTL = (1 << 31) - 1
# DNS Flag Day 2020: the EDNS buffer size that avoids IP fragmentation.
UDP_ANSWER_LIMIT = 1232
_OWNER = re.compile(r"[A-Za-z0-9._-]{1,64}")
_NUMBER = re.compile(r"[0-9]{1,15}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
# Percent-encode every byte of a display name that could clash with the tag syntax.
_DN_SAFE = "!$&'()*+,-./:<=>?@[]^_`{|}~"


@dataclass(frozen=True, order=True)
class Record:
    """One TXT record; ``value`` is its character-strings concatenated."""

    name: str
    ttl: int
    value: str

    def strings(self) -> tuple[bytes, ...]:
        """The value as character-strings of at most 255 octets each, cut between
        UTF-8 characters where possible so each string reads on its own.

        Values torpub writes are ASCII; others round-trip through UTF-8 with
        surrogate escapes, so any octets a zone holds survive unchanged.
        """
        data = self.value.encode("utf-8", "surrogateescape")
        pieces: list[bytes] = []
        while len(data) > MAX_STRING:
            cut = MAX_STRING
            while cut > MAX_STRING - 3 and _continuation(data[cut]):
                cut -= 1
            if _continuation(data[cut]):
                cut = MAX_STRING  # not UTF-8 here anyway: any cut is as good as another
            pieces.append(data[:cut])
            data = data[cut:]
        pieces.append(data)
        return tuple(pieces)

    @classmethod
    def from_strings(cls, name: str, ttl: int, strings: Iterable[bytes]) -> Record:
        return cls(name.lower(), ttl, b"".join(strings).decode("utf-8", "surrogateescape"))

    def answer_size(self) -> int:
        """Octets of a UDP answer carrying this record alone: header, question,
        the answer with its owner compressed to a pointer, and an EDNS OPT record."""
        question = len(self.name.rstrip(".")) + 2 + 4
        rdata = sum(1 + len(s) for s in self.strings())
        return 12 + question + 2 + 10 + rdata + 11


@dataclass(frozen=True)
class Head:
    """The parsed tag list of a head record."""

    n: int
    length: int
    sha256: str
    ih: str
    owner: str | None = None
    previous: str | None = None
    display_name: str | None = None

    @property
    def chunk_id(self) -> str:
        return self.sha256[:16]

    def to_text(self) -> str:
        tags = [f"v={VERSION}", f"n={self.n}", f"len={self.length}"]
        tags += [f"sha256={self.sha256}", f"ih={self.ih}"]
        if self.display_name is not None:
            tags.append(f"dn={quote(self.display_name, safe=_DN_SAFE)}")
        if self.owner is not None:
            tags.append(f"o={self.owner}")
        if self.previous is not None:
            tags.append(f"p={self.previous}")
        return "; ".join(tags)

    @classmethod
    def from_text(cls, text: str) -> Head:
        tags = _tag_list(text)
        if tags.get("v") != VERSION:
            raise RecordError(f"head has version {tags.get('v')!r}, not {VERSION!r}")
        try:
            n_text, length_text = tags["n"], tags["len"]
            sha256, ih = tags["sha256"].lower(), tags["ih"].lower()
        except KeyError as e:
            raise RecordError(f"head lacks the required tag {e.args[0]!r}") from None
        # ASCII digits only, as the browser client reads them: int() would also take
        # "+1", "1_0" and other scripts' digits.
        if not (_NUMBER.fullmatch(n_text) and _NUMBER.fullmatch(length_text)):
            raise RecordError("head tags n and len must be integers")
        n, length = int(n_text), int(length_text)
        owner, previous = tags.get("o"), tags.get("p")
        if n < 0 or length < 0 or not _HEX64.fullmatch(sha256) or not _HEX40.fullmatch(ih):
            raise RecordError("head has a malformed n, len, sha256 or ih tag")
        if owner is not None and not _OWNER.fullmatch(owner):
            raise RecordError(f"head has a malformed owner {owner!r}")
        if previous is not None and not _HEX16.fullmatch(previous):
            raise RecordError(f"head has a malformed previous id {previous!r}")
        dn = tags.get("dn")
        return cls(n, length, sha256, ih, owner, previous, None if dn is None else unquote(dn))


def _tag_list(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise RecordError(f"head tag {part.strip()!r} has no '='")
        name = name.strip()
        if not tags and name != "v":
            raise RecordError("head does not start with v=")
        tags.setdefault(name, value.strip())
    return tags


def _continuation(octet: int) -> bool:
    return octet & 0xC0 == 0x80


def valid_owner(owner: str) -> bool:
    return bool(_OWNER.fullmatch(owner))


def valid_ttl(ttl: int) -> bool:
    return 0 <= ttl <= MAX_TTL


@dataclass(frozen=True)
class Encoding:
    """How a torrent is cut into records."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    head_ttl: int = DEFAULT_HEAD_TTL
    chunk_ttl: int = DEFAULT_CHUNK_TTL
    owner: str | None = None

    def __post_init__(self) -> None:
        if self.chunk_size < 4 or self.chunk_size % 4:
            raise ConfigError(f"chunk size {self.chunk_size} is not a positive multiple of 4")
        for what, ttl in (("head", self.head_ttl), ("chunk", self.chunk_ttl)):
            if not valid_ttl(ttl):
                raise ConfigError(f"{what} TTL {ttl} is not between 0 and {MAX_TTL} seconds")
        if self.owner is not None and not valid_owner(self.owner):
            raise ConfigError(f"owner {self.owner!r} is not 1-64 of [A-Za-z0-9._-]")


@dataclass(frozen=True)
class TorrentRecords:
    """All records that publish one torrent for one URL."""

    names: TorrentNames
    head: Head
    head_record: Record
    chunks: tuple[Record, ...]

    @property
    def records(self) -> tuple[Record, ...]:
        return (self.head_record, *self.chunks)

    def with_previous(self, previous: str | None) -> TorrentRecords:
        if previous == self.head.previous:
            return self  # the usual case, a torrent already published: no new records
        head = replace(self.head, previous=previous)
        return replace(self, head=head, head_record=replace(self.head_record, value=head.to_text()))


def chunk_count(payload_length: int, chunk_size: int) -> int:
    encoded = 4 * -(-payload_length // 3)
    return -(-encoded // chunk_size)


def encode(
    payload: bytes,
    names: TorrentNames,
    encoding: Encoding = Encoding(),
    display_name: str | None = None,
) -> TorrentRecords:
    """Cut a .torrent into its head and chunk records."""
    text = base64.b64encode(payload).decode("ascii")
    size = encoding.chunk_size
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    head = Head(
        n=len(pieces),
        length=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        ih=bencode.info_hash(payload),
        owner=encoding.owner,
        display_name=display_name,
    )
    chunks = tuple(
        Record(names.chunk_name(head.chunk_id, i), encoding.chunk_ttl, piece)
        for i, piece in enumerate(pieces)
    )
    return TorrentRecords(
        names, head, Record(names.head_name, encoding.head_ttl, head.to_text()), chunks
    )


@dataclass(frozen=True)
class Limits:
    """What a client accepts from a head before it queries any chunk."""

    max_chunks: int = 256
    max_length: int = 1 << 20

    def check(self, head: Head) -> None:
        if head.n > self.max_chunks:
            raise LimitExceeded(f"head asks for {head.n} chunks; the limit is {self.max_chunks}")
        if head.length > self.max_length:
            raise LimitExceeded(
                f"head announces {head.length} bytes; the limit is {self.max_length}"
            )


def decode(head: Head, pieces: Mapping[int, str], names: TorrentNames | None = None) -> bytes:
    """Reassemble a torrent from its chunk pieces and check it against the head (§4.4)."""
    for index in range(head.n):
        if index not in pieces:
            name = names.chunk_name(head.chunk_id, index) if names else f"index {index}"
            raise MissingChunk(index, name)
    text = "".join(pieces[i] for i in range(head.n))
    try:
        payload = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ChecksumMismatch("the base64 of the chunks") from None
    if len(payload) != head.length:
        raise ChecksumMismatch(f"length ({len(payload)} bytes, head says {head.length})")
    if hashlib.sha256(payload).hexdigest() != head.sha256:
        raise ChecksumMismatch("SHA-256")
    # The bytes are exactly what the head announces, so a torrent that does not
    # parse was published that way: not a mid-update race that a retry would fix.
    try:
        ih = bencode.info_hash(payload)
    except RecordError as e:
        raise RecordError(f"the published torrent is not valid bencode: {e}") from None
    if ih != head.ih:
        raise ChecksumMismatch("info-hash")
    return payload
