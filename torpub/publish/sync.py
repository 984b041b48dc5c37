"""The sync as a library call: artifacts → torrents → records → a plan per target →
applied (and, if asked, waited for until the servers answer).

``torpub sync`` is this with flags parsed and plans drawn; a Python user runs
the same job without the CLI::

    result = sync(["dist/"], settings, settings.targets, dry_run=True)
    for plan in result.plans:
        print(render.to_text(plan))

The library never prints: what happens goes to a :class:`Report` of callbacks.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from torpub.format.records import Record, TorrentRecords
from torpub.provider import Authoritative, Provider, Target, open_target
from torpub.publish import build, pipeline
from torpub.publish.config import Settings
from torpub.publish.plan import Plan, Policy

Advance = Callable[[int], None]


def _ignore(message: str, level: int = 0) -> None:
    pass


@contextlib.contextmanager
def _no_bar(total: int) -> Iterator[Advance]:
    yield lambda n: None


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while a job builds its data: the records,
    plans and caches of a release are millions of objects without cycles, and
    each full collection walks them all again. At 100,000 artifacts that was a
    third of a sync's CPU time. (Mercurial's ``util.nogc`` does the same.)
    Cycles made meanwhile are collected once it is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Report:
    """Where the library says what it does: ``note(message, level)`` (level 0 for
    what every user sees, 1 for detail) and ``hashing(total_bytes)``, a context
    around the hashing that yields a callback taking each chunk of bytes hashed."""

    note: Callable[[str, int], None] = _ignore
    hashing: Callable[[int], AbstractContextManager[Advance]] = _no_bar


@dataclass(frozen=True)
class SyncResult:
    plans: tuple[Plan, ...]
    applied: tuple[Plan, ...] = ()


@dataclass
class Publisher:
    """One job's settings and targets; :meth:`plan`, then :meth:`apply`."""

    settings: Settings
    targets: Sequence[Target] = ()
    report: Report = field(default_factory=Report)
    creation_date: int | None = None

    def __post_init__(self) -> None:
        self.backends: list[Provider] = [open_target(t) for t in self.targets]
        # What the last plan() built: the torrents a check after applying expects.
        self.last_built: tuple[build.Built, ...] = ()

    def built(
        self, paths: Sequence[Path], *, write: bool, zones: Sequence[str] = ()
    ) -> list[build.Built]:
        """Scan, check and build the torrents, hashing only what is new or stale."""
        with _without_cycle_collection():
            return self._built(paths, write=write, zones=zones)

    def _built(
        self, paths: Sequence[Path], *, write: bool, zones: Sequence[str]
    ) -> list[build.Built]:
        bsettings = pipeline.build_settings(self.settings, self.creation_date)
        out = Path(self.settings.out) if self.settings.out else None
        artifacts = build.scan(pipeline.artifact_paths(paths, self.settings), bsettings, out)
        for zone in zones:
            pipeline.check_zone_holds(artifacts, zone)
        prepared = build.prepare(artifacts, bsettings)
        with self.report.hashing(prepared.bytes_to_hash) as advance:
            built = build.build(
                artifacts, bsettings, write=write, progress=advance, prepared=prepared
            )
        hashed = sum(1 for b in built if not b.reused)
        noun = "torrent" if len(built) == 1 else "torrents"
        self.report.note(
            f"{len(built)} {noun}: {hashed} hashed, {len(built) - hashed} unchanged", 1
        )
        return built

    def desired(
        self, paths: Sequence[Path], *, write: bool, zones: Sequence[str] = ()
    ) -> list[TorrentRecords]:
        self.last_built = tuple(self.built(paths, write=write, zones=zones))
        return pipeline.desired_records(self.last_built, self.settings)

    def nameservers(self, servers: Sequence[str] = ()) -> tuple[str, ...]:
        """``servers`` if given, else every authoritative server the backends know."""
        if servers:
            return tuple(servers)
        found = (b.nameservers() for b in self.backends if isinstance(b, Authoritative))
        return tuple(dict.fromkeys(s for names in found for s in names))

    def plan(
        self, paths: Sequence[Path], *, dry_run: bool = False, prune: bool = False
    ) -> tuple[Plan, ...]:
        """A plan per target. Every target is read before a torrent is written, so a
        zone that does not parse stops the job first; with ``dry_run`` nothing is written."""
        with _without_cycle_collection():
            return self._plan(paths, dry_run=dry_run, prune=prune)

    def _plan(self, paths: Sequence[Path], *, dry_run: bool, prune: bool) -> tuple[Plan, ...]:
        held = [pipeline.read_zone(b) for b in self.backends]
        zones = [b.zone for b in self.backends]
        desired = self.desired(paths, write=not dry_run, zones=zones)
        policy = Policy(owner=self.settings.owner, prune=prune)
        return tuple(
            pipeline.plan_target(b, desired, self._records(b, records, desired), policy)
            for b, records in zip(self.backends, held, strict=True)
        )

    def _records(
        self, backend: Provider, held: Sequence[Record] | None, desired: Sequence[TorrentRecords]
    ) -> Sequence[Record]:
        if held is not None:
            return held
        self.report.note(
            f"{backend.zone}: the zone cannot be listed, so records are read by name; "
            "--prune cannot see URLs that are no longer built",
            0,
        )
        return pipeline.read_by_name(backend, desired)

    def apply(
        self,
        plans: Sequence[Plan],
        *,
        force: bool = False,
        wait: bool = False,
        servers: Sequence[str] = (),
        timeout: float = 600.0,
    ) -> tuple[Plan, ...]:
        """Apply each plan with changes, once every plan has passed the safety check."""
        for plan in plans:
            plan.check_safety(force)
        applied = []
        for backend, plan in zip(self.backends, plans, strict=True):
            if not plan.has_changes:
                continue
            with _without_cycle_collection():
                backend.apply(plan)
            applied.append(plan)
            self.report.note(f"applied {len(plan.changes)} changes to {plan.zone}", 0)
            if wait:
                self._wait(backend, plan, servers, timeout)
        return tuple(applied)

    def _wait(self, backend: Provider, plan: Plan, servers: Sequence[str], timeout: float) -> None:
        # dnspython's query machinery loads for --wait only, not for every build.
        from torpub.publish import propagation

        def note(message: str) -> None:
            self.report.note(message, 1)

        if not propagation.wait_until_live(backend, plan, servers, timeout, note):
            self.report.note(
                f"--wait: no authoritative server known for {plan.zone}; "
                "pass --check-server HOST[:PORT] to check one",
                0,
            )


def sync(
    paths: Sequence[Path],
    settings: Settings,
    targets: Sequence[Target],
    *,
    dry_run: bool = False,
    prune: bool = False,
    force: bool = False,
    creation_date: int | None = None,
    report: Report = Report(),
) -> SyncResult:
    """The whole job in one call: plan every target, then (unless ``dry_run``) apply."""
    publisher = Publisher(settings, targets, report, creation_date)
    plans = publisher.plan(paths, dry_run=dry_run, prune=prune)
    if dry_run:
        return SyncResult(plans)
    return SyncResult(plans, publisher.apply(plans, force=force))
