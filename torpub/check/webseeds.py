"""The web-seed part of ``torpub check``: does each url-list entry (BEP 19) serve the
file, with Range, byte for byte?

A mirror fails the way operators report: dead, a half-synced (shorter) file, an
older build of the same size (other bytes: clients stall at the bad pieces), or a
configuration that answers a Range request with the whole file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

import httpx

from torpub.check.pieces import Pieces
from torpub.check.report import WebSeedResult, reason_of
from torpub.check.web import IDENTITY, HostGates, Unreachable, content_length, fetch

Outcome = Literal["ok", "other-bytes", "short", "whole-file", "status", "dead"]


@dataclass(frozen=True)
class _Piece:
    index: int
    outcome: Outcome
    detail: str


async def check_seed(
    client: httpx.AsyncClient,
    gates: HostGates,
    url: str,
    pieces: Pieces,
    indices: tuple[int, ...],
) -> WebSeedResult:
    def failed(reason: str, status: int | None = None, length: int | None = None) -> WebSeedResult:
        return WebSeedResult(url, False, reason, status, length, None, (), ())

    try:
        head = await fetch(client, gates, url, method="HEAD", headers=IDENTITY)
    except Unreachable as e:
        return failed(f"dead: {e}")
    length = content_length(head.headers)
    if head.status != 200:
        return failed(f"answers {head.status} instead of 200", head.status, length)
    if length is not None and length < pieces.length:
        return failed(
            f"truncated: Content-Length {length}, the file has {pieces.length} bytes",
            head.status,
            length,
        )
    checked = await asyncio.gather(*(_piece(client, gates, url, pieces, i) for i in indices))
    problems = _problems(checked, pieces, length)
    bad = tuple(p.index for p in checked if p.outcome != "ok")
    ranges = not any(p.outcome == "whole-file" for p in checked)
    return WebSeedResult(
        url, not problems, reason_of(problems), head.status, length, ranges, indices, bad
    )


async def _piece(
    client: httpx.AsyncClient, gates: HostGates, url: str, pieces: Pieces, index: int
) -> _Piece:
    start, end = pieces.span(index)
    want = end - start
    headers = {**IDENTITY, "Range": f"bytes={start}-{end - 1}"}
    try:
        got = await fetch(client, gates, url, headers=headers, limit=want)
    except Unreachable as e:
        return _Piece(index, "dead", str(e))
    if got.status == 200:
        return _Piece(index, "whole-file", "")
    if got.status == 416:
        return _Piece(index, "short", f"416 for bytes {start}-{end - 1}")
    if got.status != 206:
        return _Piece(index, "status", f"{got.status} for bytes {start}-{end - 1}")
    if not got.headers.get("content-range", "").startswith(f"bytes {start}-{end - 1}/"):
        return _Piece(index, "status", f"Content-Range other than bytes {start}-{end - 1}")
    if len(got.body) < want:
        return _Piece(index, "short", f"{len(got.body)} of {want} bytes of piece {index}")
    if got.overflow or not pieces.matches(index, got.body):
        return _Piece(index, "other-bytes", "")
    return _Piece(index, "ok", "")


def _problems(checked: list[_Piece], pieces: Pieces, length: int | None) -> list[str]:
    """One reason per kind of fault, naming the pieces it hit."""
    problems = []
    if length is None:
        problems.append("no Content-Length")
    elif length != pieces.length:
        problems.append(f"Content-Length {length}, the file has {pieces.length} bytes")
    by_kind: dict[Outcome, list[_Piece]] = {}
    for piece in checked:
        by_kind.setdefault(piece.outcome, []).append(piece)
    if "whole-file" in by_kind:
        problems.append("ignores Range: answers 200 with the whole file to a Range request")
    if "dead" in by_kind:
        problems.append(f"dead: {by_kind['dead'][0].detail}")
    for kind in ("short", "status"):
        if kind in by_kind:
            label = "truncated" if kind == "short" else "bad answer"
            problems.append(f"{label}: {by_kind[kind][0].detail}")
    if "other-bytes" in by_kind:
        bad = [str(p.index) for p in by_kind["other-bytes"]]
        size = "same size, " if length == pieces.length else ""
        problems.append(
            f"stale: other bytes ({size}piece hashes differ) at piece{'s' if len(bad) > 1 else ''} "
            f"{', '.join(bad)} of the {len(checked)} checked"
        )
    return problems
