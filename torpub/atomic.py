"""Write a file so that readers see the old bytes or the new, never a mix.

A temp file is made beside its target and renamed over it. Its writer holds an
exclusive ``flock`` on it for as long as it lives, so a later run can tell the
leftover of a killed writer (unlocked) from a live writer's file, and remove it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".torpub-tmp"
_RANDOM = 8  # the characters mkstemp puts between prefix and suffix
_NAME_MAX = 255
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def temp_path_for(path: Path) -> tuple[int, Path]:
    """An open, locked temp file beside ``path`` (same file system, so rename is atomic)."""
    while True:
        fd, name = tempfile.mkstemp(prefix=_prefix(path.name), suffix=TEMP_SUFFIX, dir=path.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:
            return fd, Path(name)
        # Removed as a leftover between mkstemp and flock: take another name.
        os.close(fd)


def _prefix(name: str) -> str:
    # The temp name must fit NAME_MAX as well as the target's does: a long name is cut.
    room = _NAME_MAX - len(TEMP_SUFFIX) - _RANDOM - 2
    return "." + os.fsdecode(os.fsencode(name)[:room]) + "."


def write_atomic(path: Path, data: bytes, *, keep_from: Path | None = None) -> None:
    """Replace ``path`` with ``data``; mode and owner are copied from ``keep_from``
    (default: the file being replaced), or follow the umask for a new file."""
    fd, tmp = temp_path_for(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            commit(tmp, path, keep_from=keep_from)  # still locked: no one takes it for a leftover
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def commit(tmp: Path, path: Path, *, keep_from: Path | None = None) -> None:
    """Move a fully written temp file over ``path``, keeping mode and owner."""
    source = keep_from or path
    try:
        st = source.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    else:
        os.chmod(tmp, st.st_mode & 0o7777)
        with contextlib.suppress(PermissionError):
            os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the temp files of ``path`` that killed writers left beside it; only
    names of :func:`temp_path_for`'s pattern, only regular files no one holds."""
    prefix = _prefix(path.name)
    removed = []
    for name in os.listdir(path.parent):
        middle = name[len(prefix) : -len(TEMP_SUFFIX)]
        if name.startswith(prefix) and name.endswith(TEMP_SUFFIX) and len(middle) == _RANDOM:
            leftover = path.parent / name
            if _unlink_unlocked(leftover):
                removed.append(leftover)
    return removed


def _unlink_unlocked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False  # gone already, a symlink, or not ours to open
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; OSError for anything else, before it is opened
    (opening a device can act) or read (a FIFO would block)."""
    _check_regular(path, os.stat(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        _check_regular(path, st)  # the name may have changed since the stat
        # Plain reads of the size known, not a buffered file object: the build
        # cache reads 100,000 small torrents this way.
        parts = []
        while part := os.read(fd, max(st.st_size + 1, 1 << 16)):
            parts.append(part)
        return b"".join(parts)
    finally:
        os.close(fd)


def replaceable(path: Path) -> Path:
    """The file to rename a new version over, to replace ``path``: symlinks
    resolved, so a link stays a link and its target gets the new content.

    OSError for a file that is not regular or that the user may not write. Root
    may write any file, so for root a file with no write bit at all counts as
    write-protected: that is how an operator marks a file read-only, and
    ``rm`` and ``vi`` honour it for root too.
    """
    real = Path(os.path.realpath(path))
    st = os.stat(real)
    _check_regular(real, st)
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK, effective_ids=True):
        raise PermissionError(
            errno.EACCES, "it is write-protected (no write permission)", str(path)
        )
    return real


def _check_regular(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "a special file")
        raise OSError(errno.EINVAL, f"it is {kind}, not a regular file", str(path))
