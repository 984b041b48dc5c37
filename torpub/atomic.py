"""Write a file so that readers see the old bytes or the new, never a mix."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

_TEMP_SUFFIX = ".torpub-tmp"
_TEMP_RANDOM = 8  # the characters mkstemp puts between prefix and suffix


def temp_path_for(path: Path) -> tuple[int, Path]:
    """An open temp file beside ``path`` (same file system, so rename is atomic)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TEMP_SUFFIX, dir=path.parent)
    return fd, Path(name)


def temp_name_length(path: Path) -> int:
    """Bytes in the name of the temp file beside ``path``: longer than ``path``'s own,
    so it is what overflows NAME_MAX first."""
    return len(os.fsencode(f".{path.name}.")) + _TEMP_RANDOM + len(_TEMP_SUFFIX)


def write_atomic(path: Path, data: bytes, *, keep_from: Path | None = None) -> None:
    """Replace ``path`` with ``data``; mode and owner are copied from ``keep_from``
    (default: the file being replaced), or follow the umask for a new file."""
    fd, tmp = temp_path_for(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        commit(tmp, path, keep_from=keep_from)
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
