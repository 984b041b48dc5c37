"""Where the client writes: the one place that names output files and opens them.

A download is named by its URL's last path segment, percent-decoded, as ``curl -O``
and browsers do, never by the torrent: the torrent came from DNS or an origin, and
a name such as ``.profile`` or ``../x`` must not choose where bytes land. Files the
client writes piece by piece are opened without following symlinks, so a link
planted at a part path cannot redirect the write.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from torpub.errors import DownloadError
from torpub.format.filename import unsafe_reason


def name_from_url(url: str) -> str:
    """The file name ``url`` downloads to: its last path segment, percent-decoded."""
    try:
        path = urlsplit(url).path
    except ValueError as e:  # e.g. "Invalid IPv6 URL" for a "[" without its "]"
        raise DownloadError(url, f"it is not a URL ({e})") from None
    name = "" if path.endswith("/") else unquote(PurePosixPath(path).name, errors="surrogateescape")
    reason = unsafe_reason(name)
    if reason is not None:
        raise DownloadError(url, f"the URL names no file to write ({name!r}: {reason})")
    return name


def output_directory(directory: Path) -> Path:
    """``directory``, created if missing; an error if it is there but not a directory."""
    if directory.exists() and not directory.is_dir():
        raise DownloadError(str(directory), "is not a directory; -o names the directory to fill")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(str(directory), f"cannot create it ({e.strerror})") from None
    return directory


def torrent_file(out: Path, url: str) -> Path:
    """Where ``resolve -o OUT`` writes ``url``'s torrent: ``OUT/<name>.torrent`` for a
    directory, else OUT itself, whose directory must exist."""
    if out.is_dir():
        return out / f"{name_from_url(url)}.torrent"
    if not out.parent.is_dir():
        raise DownloadError(str(out), "its directory does not exist")
    return out


def refuse_existing(path: Path) -> None:
    """Never overwrite: anything at ``path``, a dangling symlink too, stops the write."""
    if os.path.lexists(path):
        raise DownloadError(str(path), "already exists; remove it or choose another -o")


def open_part(path: Path, *, append: bool) -> BinaryIO:
    """Open a part file to write without following a symlink at ``path``: continue
    it (``append``), or start it afresh in place of whatever was there."""
    if append:
        flags = os.O_WRONLY | os.O_APPEND
    else:
        path.unlink(missing_ok=True)  # a link is removed, not followed
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise DownloadError(str(path), f"cannot open the part file ({e.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise DownloadError(str(path), "the part file is not a regular file")
    return os.fdopen(fd, "ab" if append else "wb")


def read_small(path: Path, limit: int = 1024) -> bytes | None:
    """A small file's bytes, not through a symlink; None when it is absent or not a
    plain file (then it was not ours to read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read(limit)


def private_directory(path: Path) -> Path:
    """A directory only this user can write into, so nothing can be planted in it
    while libtorrent writes: created 0700, or an existing one that is really a
    directory (not a link) and ours."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        st = path.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise DownloadError(str(path), "is not a directory of this user; remove it") from None
        os.chmod(path, 0o700)
    except OSError as e:
        raise DownloadError(str(path), f"cannot create it ({e.strerror})") from None
    return path


def refuse_link(path: Path) -> None:
    """A part file that exists must be a regular file, not a link to one elsewhere."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise DownloadError(str(path), "is a symlink or special file; refusing to write through it")
