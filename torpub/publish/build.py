"""Artifacts → deterministic .torrent files whose size fits the DNS chunk budget.

``scan`` finds the artifacts under the PATHs, ``build`` hashes them (or takes
them from the cache when nothing changed) and writes ``<file>.torrent``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torpub.atomic import write_atomic
from torpub.errors import ArtifactError, ConfigError, TorpubError
from torpub.publish import budget, buildcache
from torpub.publish.artifacts import Artifact, artifact_url, scan, stat_path, url_list
from torpub.publish.buildcache import CACHE_NAME, FINE_TICK_NS, Stamp
from torpub.publish.hashing import PieceHasher
from torpub.publish.torrent import (
    MAX_PIECE_SIZE,
    MIN_PIECE_SIZE,
    BuildSettings,
    choose_piece_size,
    torrent_bytes,
    torrent_length,
)

__all__ = [
    "CACHE_NAME",
    "MAX_PIECE_SIZE",
    "MIN_PIECE_SIZE",
    "Artifact",
    "BuildSettings",
    "Built",
    "artifact_url",
    "build",
    "creation_date_from_env",
    "scan",
    "torrent_bytes",
    "torrent_length",
    "total_bytes_to_hash",
    "url_list",
]


@dataclass(frozen=True)
class Built:
    artifact: Artifact
    torrent: bytes
    piece_size: int
    reused: bool  # taken from the cache without hashing


def creation_date_from_env(environ: Mapping[str, str]) -> int | None:
    """The creation date asked for by SOURCE_DATE_EPOCH (reproducible-builds.org)."""
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ConfigError(f"SOURCE_DATE_EPOCH must be seconds since 1970, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class _Job:
    artifact: Artifact
    stamp: Stamp
    inputs: Mapping[str, Any]  # every setting that shapes the torrent, as JSON
    piece_size: int
    cached: bytes | None  # the torrent, when the cache says nothing changed
    cacheable: bool  # whether the stamp can vouch for the file next time


@dataclass(frozen=True)
class Prepared:
    """What a build will do, found once: each artifact's job, and the caches read."""

    jobs: tuple[_Job, ...]
    caches: Mapping[Path, Mapping[str, Any]]  # per output root, as loaded

    @property
    def bytes_to_hash(self) -> int:
        """How many bytes the build will hash: the progress bar's total."""
        return sum(job.stamp.size for job in self.jobs if job.cached is None)


def prepare(artifacts: Sequence[Artifact], settings: BuildSettings) -> Prepared:
    """Stat every artifact and consult the caches: the checks ``build`` runs first."""
    caches = {root: buildcache.load(root) for root in {a.root for a in artifacts}}
    return Prepared(tuple(_plan(artifacts, settings, caches)), caches)


def build(
    artifacts: Sequence[Artifact],
    settings: BuildSettings,
    *,
    write: bool = True,
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
    prepared: Prepared | None = None,
) -> list[Built]:
    """Make each artifact's torrent; with ``write``, store it and the cache.

    Every check (readable, non-empty, writable, within budget) runs for all
    artifacts before the first byte is hashed or written. ``prepared`` is
    :func:`prepare`'s result for the same arguments, when the caller needed it first.
    """
    prepared = prepared or prepare(artifacts, settings)
    jobs = prepared.jobs
    if write:
        _check_writable(artifacts, [j.artifact for j in jobs if j.cached is None])
    done: list[Built] = []
    try:
        with PieceHasher(threads) as hasher:
            for job in jobs:
                built = _run(job, settings, hasher, progress)
                if write and not built.reused:
                    _write_torrent(job.artifact.torrent_path, built.torrent)
                done.append(built)
    except BaseException:
        if write:
            # Keep the work already done; the original error matters more.
            with contextlib.suppress(TorpubError):
                _save_caches(prepared, done)
        raise
    if write:
        _save_caches(prepared, done)
    return done


def total_bytes_to_hash(artifacts: Sequence[Artifact], settings: BuildSettings) -> int:
    """How many bytes ``build`` will hash: the progress bar's total."""
    return prepare(artifacts, settings).bytes_to_hash


def _plan(
    artifacts: Sequence[Artifact],
    settings: BuildSettings,
    caches: Mapping[Path, Mapping[str, Any]],
) -> list[_Job]:
    jobs = []
    stamps = _stamps([a.path for a in artifacts])
    chosen = _budgeted(artifacts, [s.size for s, _ in stamps], settings)
    for artifact, (stamp, cacheable) in zip(artifacts, stamps, strict=True):
        inputs = buildcache.inputs(artifact, settings, chosen.get(artifact.url))
        hit = buildcache.cached_torrent(
            caches[artifact.root].get(artifact.relpath), stamp, inputs, artifact
        )
        if hit is not None:
            jobs.append(_Job(artifact, stamp, inputs, hit[1], hit[0], cacheable))
        else:
            piece_size = chosen.get(artifact.url) or choose_piece_size(
                _name(artifact),
                stamp.size,
                url_list(artifact, settings),
                settings,
                str(artifact.path),
            )
            jobs.append(_Job(artifact, stamp, inputs, piece_size, None, cacheable))
    return jobs


def _budgeted(
    artifacts: Sequence[Artifact], lengths: Sequence[int], settings: BuildSettings
) -> dict[str, int]:
    """The piece size of each URL under a release-wide record budget; none without one."""
    if settings.max_records is None:
        return {}
    candidates = [
        budget.Candidate(a.url, _name(a), length, tuple(url_list(a, settings)), str(a.path))
        for a, length in zip(artifacts, lengths, strict=True)
    ]
    return budget.choose(budget.sizings(candidates, settings), settings.max_records)


def _stamps(paths: Sequence[Path]) -> list[tuple[Stamp, bool]]:
    """Each file's stamp, and whether the cache may vouch for the file by it."""
    stamps = [_check_artifact(path) for path in paths]
    now = time.time_ns()
    waits = [w for w in (s.unsettled_ns(now) for s in stamps) if 0 < w <= FINE_TICK_NS]
    if waits:
        # Files written just before this build (its usual place in a pipeline):
        # one short wait lets the cache vouch for them, instead of hashing again.
        time.sleep(max(waits) / 1e9)
        stamps = [_check_artifact(path) for path in paths]
        now = time.time_ns()
    return [(stamp, stamp.unsettled_ns(now) <= 0) for stamp in stamps]


def _run(
    job: _Job, settings: BuildSettings, hasher: PieceHasher, progress: Callable[[int], None] | None
) -> Built:
    artifact = job.artifact
    if job.cached is not None:
        return Built(artifact, job.cached, job.piece_size, reused=True)
    pieces = hasher.hash_file(artifact.path, job.stamp.size, job.piece_size, progress)
    if _check_artifact(artifact.path) != job.stamp:
        raise ArtifactError(str(artifact.path), "changed while it was being hashed")
    urls = url_list(artifact, settings)
    torrent = torrent_bytes(_name(artifact), job.stamp.size, job.piece_size, pieces, urls, settings)
    return Built(artifact, torrent, job.piece_size, reused=False)


def _name(artifact: Artifact) -> str:
    return artifact.relpath.rsplit("/", 1)[-1]


def _check_artifact(path: Path) -> Stamp:
    st = stat_path(path)
    if not stat.S_ISREG(st.st_mode):
        raise ArtifactError(str(path), "is not a regular file")
    if st.st_size == 0:
        raise ArtifactError(str(path), "is empty, and a torrent cannot hold an empty file")
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError as e:
        raise ArtifactError(str(path), f"cannot be read: {e.strerror}") from e
    return Stamp(st.st_size, st.st_mtime_ns, st.st_ino)


def _check_writable(artifacts: Sequence[Artifact], to_write: Sequence[Artifact]) -> None:
    for directory in sorted(
        {a.root for a in artifacts} | {a.torrent_path.parent for a in artifacts}
    ):
        existing = directory
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent  # created when the first torrent is written
        if not existing.is_dir():
            raise ConfigError(f"{directory}: the output location is not a directory")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"{existing}: the output directory is not writable")
    # A cached torrent was just read as a file: only the others can meet a directory.
    for artifact in to_write:
        if artifact.torrent_path.is_dir():
            raise ConfigError(f"{artifact.torrent_path}: a directory is in the torrent's place")


def _write_torrent(path: Path, torrent: bytes) -> None:
    try:
        if path.stat().st_size == len(torrent) and path.read_bytes() == torrent:
            return  # leave the file and its mtime alone for make-like tools
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, torrent)
    except OSError as e:
        raise ArtifactError(str(path), f"cannot write the torrent: {e.strerror or e}") from e


def _save_caches(prepared: Prepared, done: Sequence[Built]) -> None:
    # ``done`` is built in the order of the jobs, all of them or the first few.
    by_root: dict[Path, list[tuple[_Job, Built]]] = {}
    for job, built in zip(prepared.jobs, done, strict=False):
        by_root.setdefault(built.artifact.root, []).append((job, built))
    for root, built_here in sorted(by_root.items()):
        old = prepared.caches.get(root, {})
        entries = dict(old)
        for job, built in built_here:
            if built.reused and job.cacheable:
                continue  # its entry is the one that vouched for it
            if job.cacheable:
                entries[built.artifact.relpath] = buildcache.entry(
                    job.stamp, job.inputs, built.piece_size, built.torrent
                )
            else:
                entries.pop(built.artifact.relpath, None)
        # Entries of artifacts not built this time stay while their torrent does.
        built_paths = {b.artifact.relpath for _, b in built_here}
        for relpath in [k for k in old if k not in built_paths]:
            if not (root / f"{relpath}.torrent").exists():
                del entries[relpath]
        buildcache.save(root, entries, old)
