"""The build cache: a torrent is not hashed again while nothing that shapes it changed.

One JSON file per output root maps each artifact to the stamp of the file
(size, mtime, inode), the settings that shaped its torrent, and the torrent's
SHA-256. Anything unreadable or unexpected only means hashing again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torpub.atomic import read_regular, write_atomic
from torpub.errors import ArtifactError
from torpub.publish.artifacts import Artifact, url_list
from torpub.publish.torrent import BuildSettings

CACHE_NAME = ".torpub-cache.json"
# Bump whenever the same inputs would give different torrent bytes, so that no
# cache entry written by an older torpub is reused.
CACHE_FORMAT = 1
# The cache trusts an mtime only once the file system's clock has ticked past
# it, since a write within the same tick as our stat leaves the mtime as it was
# (git's "racily clean" entries). Nanosecond stamps tick with the kernel's
# coarse clock, every 10 ms at most; whole-second ones every 1-2 s (FAT, HFS+).
FINE_TICK_NS = 20_000_000
COARSE_TICK_NS = 2_000_000_000


@dataclass(frozen=True)
class Stamp:
    """What says a file is unchanged without reading it."""

    size: int
    mtime_ns: int
    inode: int

    def unsettled_ns(self, now_ns: int) -> int:
        """How long until the file system's clock has surely ticked past the mtime."""
        whole_seconds = self.mtime_ns % 1_000_000_000 == 0
        tick = COARSE_TICK_NS if whole_seconds else FINE_TICK_NS
        return self.mtime_ns + tick - now_ns


def inputs(
    artifact: Artifact, settings: BuildSettings, piece_size: int | None = None
) -> dict[str, Any]:
    """What shapes the torrent. ``piece_size`` is the one a release-wide record
    budget chose: it depends on every other artifact, so the choice itself is the
    input, and a release that grows or shrinks re-hashes only what it resized."""
    return {
        "format": CACHE_FORMAT,
        "url_list": url_list(artifact, settings),
        "trackers": [list(tier) for tier in settings.trackers],
        "private": settings.private,
        "piece_size": piece_size or settings.piece_size,
        "chunk_size": settings.chunk_size,
        "chunk_budget": settings.chunk_budget,
        "creation_date": settings.creation_date,
    }


def cached_torrent(
    entry: Any, stamp: Stamp, inputs: Mapping[str, Any], artifact: Artifact
) -> tuple[bytes, int] | None:
    """The cached torrent and its piece size, if nothing that shapes it changed."""
    if not isinstance(entry, dict) or entry.get("inputs") != inputs:
        return None
    if (entry.get("size"), entry.get("mtime_ns"), entry.get("inode")) != (
        stamp.size,
        stamp.mtime_ns,
        stamp.inode,
    ):
        return None
    piece_size, sha256 = entry.get("piece_size"), entry.get("sha256")
    if not isinstance(piece_size, int) or not isinstance(sha256, str):
        return None
    try:
        torrent = read_regular(artifact.torrent_path)  # a FIFO there would hang a read
    except OSError:
        return None
    return (torrent, piece_size) if hashlib.sha256(torrent).hexdigest() == sha256 else None


def load(root: Path) -> Mapping[str, Any]:
    # Anything unreadable or unexpected only means everything is hashed again.
    try:
        data = json.loads(read_regular(root / CACHE_NAME))  # a FIFO there would hang a read
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return {}
    artifacts = data.get("artifacts")
    return artifacts if isinstance(artifacts, dict) else {}


def save(root: Path, entries: Mapping[str, Any], loaded: Mapping[str, Any] | None = None) -> None:
    """Write the cache of ``root`` when its entries changed from what was ``loaded``
    (read again when not given): an unchanged rebuild writes nothing."""
    if entries == (load(root) if loaded is None else loaded):
        return
    text = to_text(entries)
    try:
        write_atomic(root / CACHE_NAME, text.encode())
    except OSError as e:
        raise ArtifactError(str(root / CACHE_NAME), f"cannot write: {e.strerror or e}") from e


def to_text(entries: Mapping[str, Any]) -> str:
    """The cache file: one line per artifact, each written by json's C encoder
    (an indented dump goes through its pure-Python one, seconds for 100,000)."""
    lines = [
        json.dumps(path) + ": " + json.dumps(entries[path], sort_keys=True, separators=(",", ":"))
        for path in sorted(entries)
    ]
    return f'{{"format": {CACHE_FORMAT}, "artifacts": {{\n' + ",\n".join(lines) + "\n}}\n"


def entry(stamp: Stamp, used: Mapping[str, Any], piece_size: int, torrent: bytes) -> dict[str, Any]:
    return {
        "size": stamp.size,
        "mtime_ns": stamp.mtime_ns,
        "inode": stamp.inode,
        "inputs": dict(used),
        "piece_size": piece_size,
        "sha256": hashlib.sha256(torrent).hexdigest(),
    }
