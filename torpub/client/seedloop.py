"""The life of a ``torpub seed`` process: seed what the build gives, build again
when asked (SIGHUP) or when the tree changes, stop when told.

The tree is watched by polling the files' stamps, which needs no inotify
dependency and works on network file systems; signals only set the events of
:class:`Controls`, so all the work happens in the loop.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from torpub.client.seed import Changes, SeedItem, Swarm, SwarmStats
from torpub.errors import TorpubError

Scan = Callable[[], Sequence[SeedItem]]


@dataclass(frozen=True)
class Controls:
    """What a signal handler may do: ask for a stop or a rescan."""

    stop: threading.Event = field(default_factory=threading.Event)
    rescan: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class LoopReport:
    """Where the loop says what happens: ``changes`` after every (re)scan,
    ``stats`` after every poll, ``note`` for a rescan that failed."""

    changes: Callable[[Changes, int], None] = lambda _changes, _count: None
    stats: Callable[[SwarmStats], None] = lambda _stats: None
    note: Callable[[str], None] = lambda _message: None


def tree_stamp(paths: Iterable[Path]) -> str:
    """A digest of every file's path, size, mtime and inode below ``paths``:
    it changes when a file is added, removed, replaced or written."""
    digest = hashlib.sha256()
    for top in paths:
        for path, st in _walk(Path(top)):
            digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
    return digest.hexdigest()


def _walk(top: Path) -> Iterable[tuple[str, os.stat_result]]:
    try:
        st = top.stat()
    except OSError:
        return  # gone or unreadable: the rescan says what is wrong
    yield str(top), st
    if not stat.S_ISDIR(st.st_mode):
        return
    # Symlinked directories are not entered (they can loop), as the build's scan.
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames):
            with_path = os.path.join(dirpath, name)
            try:
                yield with_path, os.stat(with_path)
            except OSError:
                continue


def run(
    swarm: Swarm,
    scan: Scan,
    watched: Callable[[], Sequence[Path]],
    controls: Controls,
    report: LoopReport,
    *,
    poll_interval: float = 1.0,
    rescan_interval: float = 10.0,
) -> SwarmStats:
    """Seed until ``controls.stop`` is set; the final figures. The first scan's
    error ends the run; a later one is reported and the last good set is kept."""
    stamp = tree_stamp(watched())
    _rescan(swarm, scan, report)
    next_check = time.monotonic() + rescan_interval
    while not controls.stop.wait(poll_interval):
        report.stats(swarm.poll())
        if time.monotonic() < next_check and not controls.rescan.is_set():
            continue
        next_check = time.monotonic() + rescan_interval
        fresh = tree_stamp(watched())
        if fresh == stamp and not controls.rescan.is_set():
            continue
        controls.rescan.clear()
        try:
            _rescan(swarm, scan, report)
        except TorpubError as e:
            report.note(f"rescan failed, still seeding the last good set: {e}")
            continue  # the stamp still differs: tried again at the next check
        stamp = fresh
    return swarm.close()


def _rescan(swarm: Swarm, scan: Scan, report: LoopReport) -> None:
    items = scan()
    changes = swarm.update(items)
    report.changes(changes, len(swarm))
