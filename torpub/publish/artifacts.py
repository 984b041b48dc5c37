"""Which files a build publishes, at which URLs, and where their .torrent goes."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from torpub.errors import ArtifactError, ConfigError
from torpub.format.filename import unsafe_reason
from torpub.publish.torrent import BuildSettings


@dataclass(frozen=True)
class Artifact:
    path: Path  # the file
    relpath: str  # POSIX path relative to its root (or the file name)
    url: str
    torrent_path: Path  # where its .torrent goes
    root: Path  # the output root holding the cache


def artifact_url(base_url: str, relpath: str) -> str:
    """``base_url`` joined with ``relpath``, each segment's bytes percent-encoded."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    return base + "/".join(quote(os.fsencode(part), safe="") for part in relpath.split("/"))


def url_list(artifact: Artifact, settings: BuildSettings) -> list[str]:
    """The web seeds (BEP 19): the artifact's URL, then the same path on each mirror."""
    mirrors = [artifact_url(m, artifact.relpath) for m in settings.mirrors]
    return [artifact.url, *mirrors]


def scan(paths: Sequence[Path], settings: BuildSettings, out: Path | None = None) -> list[Artifact]:
    """The artifacts under ``paths``, each with its URL and .torrent location."""
    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: the output location is not a directory")
    found = [a for path in paths for a in _scan_path(Path(path), settings, out)]
    return _unique(found)


def _scan_path(path: Path, settings: BuildSettings, out: Path | None) -> list[Artifact]:
    st = stat_path(path)
    if stat.S_ISDIR(st.st_mode):
        root = out or path
        return [_artifact(path / rel, rel, root, settings) for rel in _files_below(path)]
    if stat.S_ISREG(st.st_mode):
        return [_artifact(path, path.name, out or path.parent, settings)]
    raise ArtifactError(str(path), "is neither a regular file nor a directory")


def _files_below(top: Path) -> list[str]:
    """Relative POSIX paths of the regular files to publish under ``top``."""
    found: list[str] = []
    _walk(top, "", found)
    return sorted(found)


def _walk(directory: Path, prefix: str, found: list[str]) -> None:
    # scandir's entries know a plain file or directory without a stat call each:
    # 100,000 artifacts cost one directory read per directory, not 300,000 stats.
    try:
        with os.scandir(directory) as listing:
            entries = list(listing)
    except OSError as e:
        raise ArtifactError(str(e.filename or directory), f"cannot be read: {e.strerror}") from e
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            _walk(Path(entry.path), f"{prefix}{entry.name}/", found)
        elif not entry.name.endswith(".torrent") and _is_file(entry):
            found.append(prefix + entry.name)


def _is_file(entry: os.DirEntry[str]) -> bool:
    """A regular file, or a symbolic link to one; symlinked directories are not
    entered (they can loop)."""
    if not entry.is_symlink():
        return entry.is_file(follow_symlinks=False)
    try:
        return stat.S_ISREG(entry.stat().st_mode)
    except FileNotFoundError as e:
        raise ArtifactError(entry.path, "is a symbolic link to nothing") from e
    except OSError as e:
        raise ArtifactError(entry.path, f"cannot be read: {e.strerror}") from e


def _artifact(path: Path, relpath: str, root: Path, settings: BuildSettings) -> Artifact:
    # Clients save a download under the URL's last segment, this file's name, and
    # refuse names that could hide or move it: such a file cannot be published.
    reason = unsafe_reason(path.name)
    if reason is not None:
        raise ArtifactError(str(path), f"cannot be published: {reason}, which clients refuse")
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


def stat_path(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError as e:
        raise ArtifactError(str(path), "does not exist") from e
    except OSError as e:
        raise ArtifactError(str(path), f"cannot be read: {e.strerror}") from e
