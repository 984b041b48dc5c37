"""What the per-backend tests share: sample torrents' records for a zone, one
plan-and-apply round against a backend, and the records a set of torrents makes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torpub.format.names import names_for
from torpub.format.records import Encoding, Record, TorrentRecords, encode
from torpub.provider import Provider
from torpub.publish.plan import Plan, Policy, build_plan

MakeTorrent = Callable[..., bytes]  # the conftest fixture: make_torrent(size, seed=...)


def published(
    make_torrent: MakeTorrent, seed: int = 0, count: int = 2, encoding: Encoding = Encoding()
) -> list[TorrentRecords]:
    """``count`` torrents of distinct sizes under dl.example.com, different per ``seed``."""
    return [
        encode(
            make_torrent(40_000 * (i + 1), seed=seed * 100 + i),
            names_for(f"https://dl.example.com/pub/file-{i}.iso"),
            encoding,
        )
        for i in range(count)
    ]


def sync(target: Provider, desired: Sequence[TorrentRecords], prune: bool = False) -> Plan:
    plan = build_plan(target.zone, desired, target.records(), Policy(prune=prune))
    target.apply(plan)
    return plan


def all_records(desired: Sequence[TorrentRecords]) -> set[Record]:
    return {r for d in desired for r in d.records}
