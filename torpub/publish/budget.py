"""The record budget of a whole release (``max_records``): piece sizes chosen across
every artifact so that heads plus chunks fit, before a byte is hashed.

Pure: a torrent's size depends only on how many pieces it has (20 bytes each)
and a fixed overhead, so every candidate's record count is known from the file's
length; nothing here reads a file.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from torpub.errors import RecordBudgetError
from torpub.format.records import chunk_count
from torpub.publish.torrent import BuildSettings, piece_size_options


@dataclass(frozen=True)
class Sizing:
    """One artifact's choices, smallest piece first: (piece size, records) where
    records are its head plus chunks. Records never grow along the tuple."""

    url: str
    length: int
    options: tuple[tuple[int, int], ...]

    @property
    def fewest(self) -> int:
        return self.options[-1][1]


@dataclass(frozen=True)
class Candidate:
    """What the budget needs to know of an artifact before hashing it."""

    url: str
    name: str
    length: int
    urls: tuple[str, ...]  # the torrent's web seeds
    label: str  # how errors name it


def sizings(candidates: Sequence[Candidate], settings: BuildSettings) -> list[Sizing]:
    """Each artifact's piece sizes from its natural one (the per-torrent budget's
    choice) up, with the records each costs."""
    return [
        Sizing(
            c.url,
            c.length,
            tuple(
                (piece, 1 + chunk_count(size, settings.chunk_size))
                for piece, size in piece_size_options(c.name, c.length, c.urls, settings, c.label)
            ),
        )
        for c in candidates
    ]


def choose(sizes: Sequence[Sizing], max_records: int) -> dict[str, int]:
    """The piece size of each URL so that the release's records fit ``max_records``.

    Greedy: every artifact starts at its natural piece size; while the total is
    over the budget, the one doubling that saves the most records is taken,
    then the most torrent bytes (so a big file gives way before a small one),
    then the longer file, then the URL; the order of the input never matters.
    It ends: each step moves one artifact one place along its finite options
    (at most log2(MAX_PIECE_SIZE / MIN_PIECE_SIZE) of them), and it cannot run
    out of steps while over budget, since with every artifact at its last
    option the total is the fewest possible, checked first. Last, every piece
    size that a smaller one matches in records is taken back down: pieces stay
    as small as the budget lets them, for the swarm's sake.
    """
    fewest = sum(s.fewest for s in sizes)
    if fewest > max_records:
        raise RecordBudgetError(max_records, fewest)
    at = {s.url: 0 for s in sizes}
    total = sum(s.options[0][1] for s in sizes)
    heap = [_step(s, 0) for s in sizes if len(s.options) > 1]
    heapq.heapify(heap)
    by_url = {s.url: s for s in sizes}
    while total > max_records:
        _, _, _, url = heapq.heappop(heap)
        sizing, index = by_url[url], at[url]
        total -= sizing.options[index][1] - sizing.options[index + 1][1]
        at[url] = index + 1
        if index + 2 < len(sizing.options):
            heapq.heappush(heap, _step(sizing, index + 1))
    for sizing in sizes:
        while at[sizing.url] > 0 and _records(sizing, at[sizing.url] - 1) == _records(
            sizing, at[sizing.url]
        ):
            at[sizing.url] -= 1
    return {s.url: s.options[at[s.url]][0] for s in sizes}


def _step(sizing: Sizing, index: int) -> tuple[int, int, int, str]:
    """The heap key of doubling ``sizing`` from ``index``: the best step is the smallest key."""
    saved = _records(sizing, index) - _records(sizing, index + 1)
    piece, next_piece = sizing.options[index][0], sizing.options[index + 1][0]
    # Bytes saved: 20 per piece dropped; exact enough to rank (the digits of
    # 'piece length' shift a byte at most, the same for every artifact).
    pieces_dropped = -(-sizing.length // piece) - -(-sizing.length // next_piece)
    return (-saved, -pieces_dropped, -sizing.length, sizing.url)


def _records(sizing: Sizing, index: int) -> int:
    return sizing.options[index][1]
