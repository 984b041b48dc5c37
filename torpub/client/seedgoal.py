"""Giving back: after ``get`` has the whole file, it keeps uploading it to the
swarm until a share ratio or a time is reached, as aria2 and Transmission do."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import libtorrent as lt

# aria2's --seed-ratio default. aria2 sets no time limit and so may seed for
# ever; a command in a script must end, so torpub stops after half an hour
# at most, Transmission's idle-seeding limit, and sooner when no peer is there
# to give to: a lone downloader has nobody to upload to.
DEFAULT_RATIO = 1.0
DEFAULT_TIME = 1800.0
DEFAULT_IDLE = 120.0


@dataclass(frozen=True)
class SeedGoal:
    """When seeding stops: ``ratio`` file sizes uploaded (0: no ratio limit),
    ``seconds`` spent seeding (0: do not seed), or ``idle`` seconds with no peer
    connected (0: no idle limit), whichever comes first."""

    ratio: float = DEFAULT_RATIO
    seconds: float = DEFAULT_TIME
    idle: float = DEFAULT_IDLE

    def reached(self, uploaded: int, size: int, seconds: float, idle: float = 0.0) -> bool:
        if seconds >= self.seconds or (self.idle > 0 and idle >= self.idle):
            return True
        return self.ratio > 0 and uploaded >= self.ratio * size

    def describe(self) -> str:
        ratio = f"ratio {self.ratio:g} or " if self.ratio > 0 else ""
        idle = f", or {_duration(self.idle)} without a peer" if self.idle > 0 else ""
        return f"{ratio}{_duration(self.seconds)}{idle}"


# What the display hears while seeding: the torrent's status and seconds seeded.
SeedReport = Callable[[lt.torrent_status, float], None]


def seed_until(
    handle: lt.torrent_handle,
    goal: SeedGoal,
    poll_interval: float,
    report: SeedReport | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Keep the torrent in its session until ``goal`` is reached. Ctrl-C ends the
    seeding, not the command: the file is already whole and in its place."""
    start = last_peer = clock()
    size = handle.status().total_wanted
    try:
        while True:
            status = handle.status()
            now = clock()
            if status.num_peers > 0:
                last_peer = now
            if report is not None:
                report(status, now - start)
            if goal.reached(status.total_payload_upload, size, now - start, now - last_peer):
                return
            time.sleep(poll_interval)
    except KeyboardInterrupt:
        return


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
