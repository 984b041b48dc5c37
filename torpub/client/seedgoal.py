"""Giving back: after ``get`` has the whole file, it keeps uploading it to the
swarm until a share ratio or a time is reached, as aria2 and Transmission do."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import libtorrent as lt

# aria2's --seed-ratio default. aria2 sets no time limit and so may seed for
# ever; a command in a script must end, so torpub stops after half an hour
# at most, Transmission's idle-seeding limit.
DEFAULT_RATIO = 1.0
DEFAULT_TIME = 1800.0


@dataclass(frozen=True)
class SeedGoal:
    """When seeding stops: ``ratio`` file sizes uploaded (0: no ratio limit) or
    ``seconds`` spent seeding (0: do not seed), whichever comes first."""

    ratio: float = DEFAULT_RATIO
    seconds: float = DEFAULT_TIME

    def reached(self, uploaded: int, size: int, seconds: float) -> bool:
        if seconds >= self.seconds:
            return True
        return self.ratio > 0 and uploaded >= self.ratio * size

    def describe(self) -> str:
        ratio = f"ratio {self.ratio:g} or " if self.ratio > 0 else ""
        return f"{ratio}{_duration(self.seconds)}"


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
    start = clock()
    size = handle.status().total_wanted
    try:
        while True:
            status = handle.status()
            seconds = clock() - start
            if report is not None:
                report(status, seconds)
            if goal.reached(status.total_payload_upload, size, seconds):
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
