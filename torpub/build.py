"""Artifacts → deterministic .torrent files whose size fits the DNS chunk budget.

``scan`` finds the artifacts under the PATHs, ``build`` hashes them (or takes
them from the cache when nothing changed) and writes ``<file>.torrent``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlsplit

import torf

from torpub.atomic import write_atomic
from torpub.errors import ArtifactError, BudgetError, ConfigError, TorpubError
from torpub.hashing import DIGEST_SIZE, PieceHasher
from torpub.names import names_for
from torpub.records import DEFAULT_CHUNK_SIZE, chunk_count

MIN_PIECE_SIZE = 16 << 10
MAX_PIECE_SIZE = 128 << 20
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
class BuildSettings:
    base_url: str
    mirrors: tuple[str, ...] = ()
    trackers: tuple[tuple[str, ...], ...] = ()  # tiers (BEP 12)
    private: bool = False
    piece_size: int | None = None  # None: the smallest that fits the budget
    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_budget: int = 16
    creation_date: int | None = None  # epoch seconds; None: no date, for determinism

    def __post_init__(self) -> None:
        _check_base_url(self.base_url, "base URL")
        for mirror in self.mirrors:
            _check_base_url(mirror, "mirror")
        names_for(self.base_url)  # the artifacts' URLs must be nameable in DNS
        for tier in self.trackers:
            if not tier:
                raise ConfigError("a tracker tier is empty")
            for tracker in tier:
                _check_url(tracker, "tracker")
        if self.piece_size is not None and not _valid_piece_size(self.piece_size):
            raise ConfigError(
                f"piece size {self.piece_size} is not a power of two "
                f"from {MIN_PIECE_SIZE} to {MAX_PIECE_SIZE} bytes"
            )
        if self.chunk_size < 4 or self.chunk_size % 4:
            raise ConfigError(f"chunk size {self.chunk_size} is not a positive multiple of 4")
        if self.chunk_budget < 1:
            raise ConfigError(f"chunk budget {self.chunk_budget} is not positive")
        if self.creation_date is not None and self.creation_date < 0:
            raise ConfigError(f"creation date {self.creation_date} is before 1970")


@dataclass(frozen=True)
class Artifact:
    path: Path  # the file
    relpath: str  # POSIX path relative to its root (or the file name)
    url: str
    torrent_path: Path  # where its .torrent goes
    root: Path  # the output root holding the cache


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


# --- URLs -------------------------------------------------------------------


def _check_url(url: str, what: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as e:
        raise ConfigError(f"{what} {url!r} is not a valid URL: {e}") from e
    # torf turns spaces into '+', which would change the URL we publish.
    if not parts.scheme or not parts.netloc or any(c.isspace() for c in url):
        raise ConfigError(f"{what} {url!r} is not an absolute URL without spaces")


def _check_base_url(url: str, what: str) -> None:
    _check_url(url, what)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ftp"):
        raise ConfigError(f"{what} {url!r} is not http, https or ftp (BEP 19)")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigError(f"{what} {url!r} has a query or fragment; paths cannot follow it")


def artifact_url(base_url: str, relpath: str) -> str:
    """``base_url`` joined with ``relpath``, each segment's bytes percent-encoded."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    return base + "/".join(quote(os.fsencode(part), safe="") for part in relpath.split("/"))


def url_list(artifact: Artifact, settings: BuildSettings) -> list[str]:
    """The web seeds (BEP 19): the artifact's URL, then the same path on each mirror."""
    mirrors = [artifact_url(m, artifact.relpath) for m in settings.mirrors]
    return [artifact.url, *mirrors]


# --- Torrent bytes (pure) ---------------------------------------------------


def torrent_bytes(
    name: str,
    length: int,
    piece_size: int,
    pieces: bytes,
    urls: Sequence[str],
    settings: BuildSettings,
) -> bytes:
    """The .torrent for one file whose piece hashes are known."""
    torrent = torf.Torrent(
        name=name,
        webseeds=urls,
        # torf writes private=False as 'private: 0', which changes the info-hash
        # for nothing; mktorrent and most clients omit the key instead.
        private=True if settings.private else None,
        # A tz-aware date: torf's int handling goes through local time.
        creation_date=_utc(settings.creation_date),
        created_by=None,  # torf's default names its version: not deterministic across upgrades
        piece_size_max=MAX_PIECE_SIZE,
    )
    # torf's stub says Iterable[str]; at run time it takes tiers (lists of URLs).
    torrent.trackers = cast("Iterable[str]", [list(tier) for tier in settings.trackers])
    torrent.metainfo["info"]["length"] = length
    torrent.piece_size = piece_size
    torrent.metainfo["info"]["pieces"] = pieces
    try:
        return torrent.dump(validate=True)
    except torf.TorfError as e:
        raise ArtifactError(name, f"torf refused the torrent: {e}") from e


def torrent_length(
    name: str, length: int, piece_size: int, urls: Sequence[str], settings: BuildSettings
) -> int:
    """The exact byte length of the .torrent, without hashing: digests have a fixed size."""
    zeros = bytes(DIGEST_SIZE * math.ceil(length / piece_size))
    return len(torrent_bytes(name, length, piece_size, zeros, urls, settings))


def choose_piece_size(
    name: str, length: int, urls: Sequence[str], settings: BuildSettings, label: str
) -> int:
    """The smallest piece size, from torf's own choice up, whose torrent fits the budget."""
    for piece_size in _candidate_piece_sizes(length, settings.piece_size):
        size = torrent_length(name, length, piece_size, urls, settings)
        if chunk_count(size, settings.chunk_size) <= settings.chunk_budget:
            return piece_size
    # The last candidate gives the smallest torrent; say what would make it fit.
    raise BudgetError(label, _budget_message(size, piece_size, settings))


def _candidate_piece_sizes(length: int, fixed: int | None) -> Iterable[int]:
    if fixed is not None:
        yield fixed
        return
    piece_size = torf.Torrent.calculate_piece_size(length)
    while piece_size <= MAX_PIECE_SIZE:
        yield piece_size
        if piece_size >= length:
            return  # one piece already; larger sizes cannot shrink the torrent
        piece_size *= 2


def _budget_message(size: int, piece_size: int, settings: BuildSettings) -> str:
    chunks = chunk_count(size, settings.chunk_size)
    encoded = chunk_count(size, 4) * 4  # base64 characters
    fitting_chunk = -(-encoded // (4 * settings.chunk_budget)) * 4
    at = "at the fixed" if settings.piece_size else "even at the largest"
    return (
        f"the torrent is {size} bytes {at} piece size ({_mib(piece_size)}): "
        f"{chunks} chunks of {settings.chunk_size} characters, over the budget of "
        f"{settings.chunk_budget}; a chunk budget of {chunks} or a chunk size of "
        f"{fitting_chunk} would fit"
    )


def _mib(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"


def _valid_piece_size(size: int) -> bool:
    return MIN_PIECE_SIZE <= size <= MAX_PIECE_SIZE and size & (size - 1) == 0


def _utc(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


# --- Scanning ---------------------------------------------------------------


def scan(paths: Sequence[Path], settings: BuildSettings, out: Path | None = None) -> list[Artifact]:
    """The artifacts under ``paths``, each with its URL and .torrent location."""
    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: the output location is not a directory")
    found = [a for path in paths for a in _scan_path(Path(path), settings, out)]
    return _unique(found)


def _scan_path(path: Path, settings: BuildSettings, out: Path | None) -> list[Artifact]:
    st = _stat(path)
    if stat.S_ISDIR(st.st_mode):
        root = out or path
        return [_artifact(path / rel, rel, root, settings) for rel in _files_below(path)]
    if stat.S_ISREG(st.st_mode):
        return [_artifact(path, path.name, out or path.parent, settings)]
    raise ArtifactError(str(path), "is neither a regular file nor a directory")


def _files_below(top: Path) -> list[str]:
    """Relative POSIX paths of the regular files to publish under ``top``."""

    def fail(e: OSError) -> None:
        raise ArtifactError(str(e.filename or top), f"cannot be read: {e.strerror}") from e

    found = []
    # Symlinked directories are not entered (they can loop); symlinked files count.
    for dirpath, dirnames, filenames in os.walk(top, onerror=fail):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or name.endswith(".torrent"):
                continue
            full = Path(dirpath, name)
            if full.is_symlink() and not full.exists():
                raise ArtifactError(str(full), "is a symbolic link to nothing")
            if stat.S_ISREG(_stat(full).st_mode):
                found.append(full.relative_to(top).as_posix())
    return sorted(found)


def _artifact(path: Path, relpath: str, root: Path, settings: BuildSettings) -> Artifact:
    url = artifact_url(settings.base_url, relpath)
    return Artifact(path, relpath, url, root / f"{relpath}.torrent", root)


def _unique(found: Sequence[Artifact]) -> list[Artifact]:
    """``found`` without repeats; two files for one URL or one .torrent are an error."""
    seen: set[tuple[str, str, str]] = set()
    by_url: dict[str, Artifact] = {}
    by_torrent: dict[str, Artifact] = {}
    unique = []
    for artifact in found:
        torrent = os.path.abspath(artifact.torrent_path)
        key = (os.path.abspath(artifact.path), artifact.url, torrent)
        if key in seen:
            continue  # the same file reached through two PATHs
        seen.add(key)
        for index, value in ((by_url, artifact.url), (by_torrent, torrent)):
            other = index.setdefault(value, artifact)
            if other is not artifact:
                raise ConfigError(f"{other.path} and {artifact.path} would both publish as {value}")
        unique.append(artifact)
    return unique


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError as e:
        raise ArtifactError(str(path), "does not exist") from e
    except OSError as e:
        raise ArtifactError(str(path), f"cannot be read: {e.strerror}") from e


# --- Building ---------------------------------------------------------------


@dataclass(frozen=True)
class _Stamp:
    """What says a file is unchanged without reading it."""

    size: int
    mtime_ns: int
    inode: int

    def unsettled_ns(self, now_ns: int) -> int:
        """How long until the file system's clock has surely ticked past the mtime."""
        whole_seconds = self.mtime_ns % 1_000_000_000 == 0
        tick = COARSE_TICK_NS if whole_seconds else FINE_TICK_NS
        return self.mtime_ns + tick - now_ns


@dataclass(frozen=True)
class _Job:
    artifact: Artifact
    stamp: _Stamp
    inputs: Mapping[str, Any]  # every setting that shapes the torrent, as JSON
    piece_size: int
    cached: bytes | None  # the torrent, when the cache says nothing changed
    cacheable: bool  # whether the stamp can vouch for the file next time


def build(
    artifacts: Sequence[Artifact],
    settings: BuildSettings,
    *,
    write: bool = True,
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
) -> list[Built]:
    """Make each artifact's torrent; with ``write``, store it and the cache.

    Every check (readable, non-empty, writable, within budget) runs for all
    artifacts before the first byte is hashed or written.
    """
    jobs = _plan(artifacts, settings)
    if write:
        _check_writable(artifacts)
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
                _save_caches(jobs, done)
        raise
    if write:
        _save_caches(jobs, done)
    return done


def total_bytes_to_hash(artifacts: Sequence[Artifact], settings: BuildSettings) -> int:
    """How many bytes ``build`` will hash: the progress bar's total."""
    return sum(job.stamp.size for job in _plan(artifacts, settings) if job.cached is None)


def _plan(artifacts: Sequence[Artifact], settings: BuildSettings) -> list[_Job]:
    caches: dict[Path, Mapping[str, Any]] = {}
    jobs = []
    for artifact, (stamp, cacheable) in zip(
        artifacts, _stamps([a.path for a in artifacts]), strict=True
    ):
        inputs = _inputs(artifact, settings)
        if artifact.root not in caches:
            caches[artifact.root] = _load_cache(artifact.root)
        hit = _cache_hit(caches[artifact.root].get(artifact.relpath), stamp, inputs, artifact)
        if hit is not None:
            jobs.append(_Job(artifact, stamp, inputs, hit[1], hit[0], cacheable))
        else:
            piece_size = choose_piece_size(
                _name(artifact),
                stamp.size,
                url_list(artifact, settings),
                settings,
                str(artifact.path),
            )
            jobs.append(_Job(artifact, stamp, inputs, piece_size, None, cacheable))
    return jobs


def _stamps(paths: Sequence[Path]) -> list[tuple[_Stamp, bool]]:
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


def _check_artifact(path: Path) -> _Stamp:
    st = _stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ArtifactError(str(path), "is not a regular file")
    if st.st_size == 0:
        raise ArtifactError(str(path), "is empty, and a torrent cannot hold an empty file")
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError as e:
        raise ArtifactError(str(path), f"cannot be read: {e.strerror}") from e
    return _Stamp(st.st_size, st.st_mtime_ns, st.st_ino)


def _check_writable(artifacts: Sequence[Artifact]) -> None:
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
    for artifact in artifacts:
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


# --- The cache: skip hashing what has not changed --------------------------


def _inputs(artifact: Artifact, settings: BuildSettings) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "url_list": url_list(artifact, settings),
        "trackers": [list(tier) for tier in settings.trackers],
        "private": settings.private,
        "piece_size": settings.piece_size,
        "chunk_size": settings.chunk_size,
        "chunk_budget": settings.chunk_budget,
        "creation_date": settings.creation_date,
    }


def _cache_hit(
    entry: Any, stamp: _Stamp, inputs: Mapping[str, Any], artifact: Artifact
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
        torrent = artifact.torrent_path.read_bytes()
    except OSError:
        return None
    return (torrent, piece_size) if hashlib.sha256(torrent).hexdigest() == sha256 else None


def _load_cache(root: Path) -> Mapping[str, Any]:
    # Anything unreadable or unexpected only means everything is hashed again.
    try:
        data = json.loads((root / CACHE_NAME).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return {}
    artifacts = data.get("artifacts")
    return artifacts if isinstance(artifacts, dict) else {}


def _save_caches(jobs: Sequence[_Job], done: Sequence[Built]) -> None:
    job_of = {job.artifact: job for job in jobs}
    for root in sorted({built.artifact.root for built in done}):
        old = _load_cache(root)
        entries = {k: v for k, v in old.items() if (root / f"{k}.torrent").exists()}
        for built in done:
            job = job_of[built.artifact]
            if built.artifact.root != root:
                continue
            if job.cacheable:
                entries[built.artifact.relpath] = _entry(job, built)
            else:
                entries.pop(built.artifact.relpath, None)
        if entries != old:
            data = {"format": CACHE_FORMAT, "artifacts": entries}
            text = json.dumps(data, indent=1, sort_keys=True) + "\n"
            try:
                write_atomic(root / CACHE_NAME, text.encode())
            except OSError as e:
                raise ArtifactError(
                    str(root / CACHE_NAME), f"cannot write: {e.strerror or e}"
                ) from e


def _entry(job: _Job, built: Built) -> dict[str, Any]:
    return {
        "size": job.stamp.size,
        "mtime_ns": job.stamp.mtime_ns,
        "inode": job.stamp.inode,
        "inputs": dict(job.inputs),
        "piece_size": built.piece_size,
        "sha256": hashlib.sha256(built.torrent).hexdigest(),
    }
