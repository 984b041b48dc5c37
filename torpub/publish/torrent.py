"""What one .torrent holds, and the piece size that makes it fit the DNS budget.

Pure: the piece hashes come in from :mod:`torpub.publish.hashing`; nothing here reads
a file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from torpub.errors import BudgetError, ConfigError
from torpub.format.names import names_for
from torpub.format.records import DEFAULT_CHUNK_SIZE, chunk_count
from torpub.publish import metainfo
from torpub.publish.hashing import DIGEST_SIZE

MIN_PIECE_SIZE = 16 << 10
MAX_PIECE_SIZE = 128 << 20
# 9999-12-31T23:59:59Z: the last second a datetime (and so torf) can hold.
LAST_CREATION_DATE = 253_402_300_799


@dataclass(frozen=True)
class BuildSettings:
    base_url: str
    mirrors: tuple[str, ...] = ()
    trackers: tuple[tuple[str, ...], ...] = ()  # tiers (BEP 12)
    private: bool = False
    piece_size: int | None = None  # None: the smallest that fits the budget
    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_budget: int = 16
    max_records: int | None = None  # heads plus chunks of the whole release
    creation_date: int | None = None  # epoch seconds; None: no date, for determinism

    def __post_init__(self) -> None:
        _check_base_url(self.base_url, "base URL")
        for mirror in self.mirrors:
            _check_base_url(mirror, "mirror")
        # The artifacts' URLs must be nameable in DNS, up to the last chunk the budget allows.
        names_for(self.base_url).chunk_name("0" * 16, max(self.chunk_budget - 1, 0))
        for tier in self.trackers:
            if not tier:
                raise ConfigError("a tracker tier is empty")
            for tracker in tier:
                _check_url(tracker, "tracker")
        if self.piece_size is not None and not _valid_piece_size(self.piece_size):
            raise ConfigError(
                f"piece size {self.piece_size} is not a power of two "
                f"from {MIN_PIECE_SIZE} to {MAX_PIECE_SIZE} bytes"
            )
        if self.chunk_size < 4 or self.chunk_size % 4:
            raise ConfigError(f"chunk size {self.chunk_size} is not a positive multiple of 4")
        if self.chunk_budget < 1:
            raise ConfigError(f"chunk budget {self.chunk_budget} is not positive")
        if self.max_records is not None and self.max_records < 1:
            raise ConfigError(f"max records {self.max_records} is not positive")
        if self.creation_date is not None and self.creation_date < 0:
            raise ConfigError(f"creation date {self.creation_date} is before 1970")
        if self.creation_date is not None and self.creation_date > LAST_CREATION_DATE:
            raise ConfigError(f"creation date {self.creation_date} is after the year 9999")


def _check_url(url: str, what: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as e:
        raise ConfigError(f"{what} {url!r} is not a valid URL: {e}") from e
    # torf turns spaces into '+', which would change the URL we publish.
    if not parts.scheme or not parts.netloc or any(c.isspace() for c in url):
        raise ConfigError(f"{what} {url!r} is not an absolute URL without spaces")


def _check_base_url(url: str, what: str) -> None:
    _check_url(url, what)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ftp"):
        raise ConfigError(f"{what} {url!r} is not http, https or ftp (BEP 19)")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigError(f"{what} {url!r} has a query or fragment; paths cannot follow it")


def torrent_bytes(
    name: str,
    length: int,
    piece_size: int,
    pieces: bytes,
    urls: Sequence[str],
    settings: BuildSettings,
) -> bytes:
    """The .torrent for one file whose piece hashes are known."""
    return metainfo.encode(
        name,
        length,
        piece_size,
        pieces,
        webseeds=urls,
        trackers=settings.trackers,
        private=settings.private,
        creation_date=settings.creation_date,
    )


def torrent_length(
    name: str, length: int, piece_size: int, urls: Sequence[str], settings: BuildSettings
) -> int:
    """The exact byte length of the .torrent, without hashing: digests have a fixed size."""
    zeros = bytes(DIGEST_SIZE * math.ceil(length / piece_size))
    return len(torrent_bytes(name, length, piece_size, zeros, urls, settings))


def choose_piece_size(
    name: str, length: int, urls: Sequence[str], settings: BuildSettings, label: str
) -> int:
    """The smallest piece size, from torf's own choice up, whose torrent fits the budget."""
    for piece_size in _candidate_piece_sizes(length, settings.piece_size):
        size = torrent_length(name, length, piece_size, urls, settings)
        if chunk_count(size, settings.chunk_size) <= settings.chunk_budget:
            return piece_size
    # The last candidate gives the smallest torrent; say what would make it fit.
    raise BudgetError(label, _budget_message(size, piece_size, settings))


def piece_size_options(
    name: str, length: int, urls: Sequence[str], settings: BuildSettings, label: str
) -> list[tuple[int, int]]:
    """Every piece size a release-wide budget may give the file, from the one
    :func:`choose_piece_size` picks up to one piece (or the largest allowed), each
    with its torrent's exact byte length; a fixed piece size is the only option."""
    natural = choose_piece_size(name, length, urls, settings, label)
    size = torrent_length(name, length, natural, urls, settings)
    options = [(natural, size)]
    if settings.piece_size is not None:
        return options
    piece = natural
    while piece < length and piece * 2 <= MAX_PIECE_SIZE:
        piece *= 2
        options.append((piece, _resized(size, natural, piece, length)))
    return options


def _resized(size: int, piece_size: int, new_piece_size: int, length: int) -> int:
    """The length of the same torrent at another piece size, without encoding it:
    only ``piece length`` and ``pieces`` (20 bytes a piece) change."""
    old, new = math.ceil(length / piece_size), math.ceil(length / new_piece_size)
    digits = _digits(new_piece_size) - _digits(piece_size)
    digits += _digits(DIGEST_SIZE * new) - _digits(DIGEST_SIZE * old)
    return size + DIGEST_SIZE * (new - old) + digits


def _digits(n: int) -> int:
    return len(str(n))


def _candidate_piece_sizes(length: int, fixed: int | None) -> Iterable[int]:
    if fixed is not None:
        yield fixed
        return
    piece_size = metainfo.auto_piece_size(length)
    while piece_size <= MAX_PIECE_SIZE:
        yield piece_size
        if piece_size >= length:
            return  # one piece already; larger sizes cannot shrink the torrent
        piece_size *= 2


def _budget_message(size: int, piece_size: int, settings: BuildSettings) -> str:
    chunks = chunk_count(size, settings.chunk_size)
    encoded = chunk_count(size, 4) * 4  # base64 characters
    fitting_chunk = -(-encoded // (4 * settings.chunk_budget)) * 4
    at = "at the fixed" if settings.piece_size else "even at the largest"
    return (
        f"the torrent is {size} bytes {at} piece size ({_mib(piece_size)}): "
        f"{chunks} chunks of {settings.chunk_size} characters, over the budget of "
        f"{settings.chunk_budget}; a chunk budget of {chunks} or a chunk size of "
        f"{fitting_chunk} would fit"
    )


def _mib(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"


def _valid_piece_size(size: int) -> bool:
    return MIN_PIECE_SIZE <= size <= MAX_PIECE_SIZE and size & (size - 1) == 0
