"""The .torrent of one file, laid out byte for byte as torf lays it out.

torf built torpub's torrents until importing it (about 115 ms) and validating
through it cost more than hashing a small file; the bytes must not change, or
every published info-hash and build cache entry would. So this writes the same
keys torf writes, with torf's rules for trackers and web seeds, and
``tests/test_metainfo.py`` checks the bytes against torf for any input.
Pure: the piece hashes come in from :mod:`torpub.publish.hashing`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from torpub.format import bencode

# torf's calculate_piece_size bounds (its class defaults, not the instance's).
_AUTO_MIN = 16 << 10
_AUTO_MAX = 16 << 20


def encode(
    name: str,
    length: int,
    piece_size: int,
    pieces: bytes,
    *,
    webseeds: Sequence[str],
    trackers: Sequence[Sequence[str]] = (),
    private: bool = False,
    creation_date: int | None = None,
) -> bytes:
    """The bencoded torrent; ``pieces`` is the SHA-1 digests, back to back."""
    info: dict[str, Any] = {
        "name": name,
        "length": length,
        "piece length": piece_size,
        "pieces": pieces,
    }
    if private:
        info["private"] = 1  # torf and mktorrent omit the key for public torrents
    torrent: dict[str, Any] = {"info": info}
    tiers = _tiers(trackers)
    if tiers:
        torrent["announce"] = tiers[0][0]
        if sum(len(tier) for tier in tiers) > 1:
            torrent["announce-list"] = tiers
    urls = _unique(webseeds, ())
    if urls:
        torrent["url-list"] = urls
    if creation_date is not None:
        torrent["creation date"] = creation_date
    return bencode.encode(torrent)


def auto_piece_size(length: int) -> int:
    """torf's ``Torrent.calculate_piece_size``: at most 512 pieces up to 1 GiB, 1024
    up to 8 GiB, 1536 up to 16 GiB, then 2048, as a power of two in 16 KiB-16 MiB."""
    if length <= 1 << 30:
        most = 512
    elif length <= 8 << 30:
        most = 1024
    elif length <= 16 << 30:
        most = 1536
    else:
        most = 2048
    size = int(math.pow(2, math.ceil(math.log2(length / most))))
    return min(max(size, _AUTO_MIN), _AUTO_MAX)


def _tiers(trackers: Iterable[Sequence[str]]) -> list[list[str]]:
    """BEP 12 tiers as torf keeps them: a URL only in its first tier, empty tiers dropped."""
    tiers: list[list[str]] = []
    for tier in trackers:
        kept = _unique(tier, [url for t in tiers for url in t])
        if kept:
            tiers.append(kept)
    return tiers


def _unique(urls: Iterable[str], known: Sequence[str]) -> list[str]:
    kept: list[str] = []
    for url in urls:
        if url not in kept and url not in known:
            kept.append(url)
    return kept
