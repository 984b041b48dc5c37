"""What a file's bytes are checked against: a single-file torrent's piece hashes,
and which pieces a check fetches."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from torpub.errors import RecordError
from torpub.format import bencode
from torpub.format.torrentinfo import summarise
from torpub.publish.torrent import MAX_PIECE_SIZE

_SHA1 = 20


@dataclass(frozen=True)
class Pieces:
    info_hash: str
    length: int
    piece_length: int
    hashes: tuple[bytes, ...]
    web_seeds: tuple[str, ...]

    def span(self, index: int) -> tuple[int, int]:
        """The first octet of piece ``index`` and the one after its last."""
        start = index * self.piece_length
        return start, min(start + self.piece_length, self.length)

    def matches(self, index: int, data: bytes) -> bool:
        return hashlib.sha1(data).digest() == self.hashes[index]


def pieces_of(torrent: bytes) -> Pieces:
    """The piece hashes of a single-file torrent (what torpub builds); a RecordError
    for anything else."""
    info = summarise(torrent)  # checks the shape: a v1 torrent, whole SHA-1s
    if info.files != 1:
        raise RecordError("a multi-file torrent: its web seeds are not checked")
    meta = bencode.decode(torrent)
    raw = meta[b"info"][b"pieces"]
    hashes = tuple(raw[i : i + _SHA1] for i in range(0, len(raw), _SHA1))
    if info.piece_length <= 0 or len(hashes) != -(-info.size // info.piece_length):
        raise RecordError("the torrent's piece count does not match its length")
    # A piece is read whole to be hashed: the torrent (from DNS, in --url mode) must
    # not choose how much memory that takes. torpub never builds larger pieces.
    if info.piece_length > MAX_PIECE_SIZE:
        raise RecordError(
            f"the torrent's pieces of {info.piece_length} bytes are over the "
            f"{MAX_PIECE_SIZE} torpub builds: its web seeds are not checked"
        )
    return Pieces(info.info_hash, info.size, info.piece_length, hashes, info.web_seeds)


def sample(pieces: Pieces, count: int, full: bool) -> tuple[int, ...]:
    """The first and the last piece and ``count`` others, or all of them. Seeded by
    the info-hash: one torrent is sampled alike on every run and for every mirror,
    so a finding can be reproduced and mirrors compared."""
    total = len(pieces.hashes)
    if full or total <= count + 2:
        return tuple(range(total))
    middle = random.Random(pieces.info_hash).sample(range(1, total - 1), count)
    return (0, *sorted(middle), total - 1)
