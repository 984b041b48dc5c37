"""Static answers for an artifact tree, shared by the ASGI and WSGI middleware.

``answer`` maps a request to an :class:`Answer` (status, headers, which bytes of
which file); the adapters only send it. Validators follow nginx's habits so that
caches and web seeds see the same thing from every torpub server: a strong ETag
from mtime and size, Last-Modified, single byte ranges, 416 when unsatisfiable.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

from torpub.http import negotiate, ranges
from torpub.http.cors import Cors, is_preflight

Headers = tuple[tuple[str, str], ...]

CHUNK_SIZE = 64 << 10


@dataclass(frozen=True)
class Answer:
    """A response to send: ``body``, or ``length`` bytes of ``file``.

    ``file`` is already open and positioned, so a file that cannot be read is
    an error status rather than a 200 with a broken body; the sender closes it.
    """

    status: int
    headers: Headers
    body: bytes = b""
    file: BinaryIO | None = None
    length: int = 0


@dataclass(frozen=True)
class Site:
    """An artifact tree on disk, served at the URL path ``mount``."""

    root: Path
    mount: str = "/"
    cors: Cors | None = None  # None: no CORS headers, no preflight answers

    def __post_init__(self) -> None:
        object.__setattr__(self, "mount", mount_path(self.mount))


@dataclass(frozen=True)
class _Entity:
    size: int
    mtime: int  # whole seconds, as HTTP dates carry them
    etag: str
    content_type: str


@dataclass(frozen=True)
class _Choice:
    path: Path  # the artifact or its torrent
    content_type: str | None  # forced, or None to guess from the name
    headers: Headers  # what negotiation adds
    torrent: bool


def locate(root: Path, mount: str, url_path: str) -> Path | None:
    """The file under ``root`` (served at the URL path ``mount``) that a decoded
    URL path names, or None.

    Dot segments are refused rather than resolved, so no request leaves ``root``
    through ``..``; any segment starting with a dot is refused, so dot-files and
    dot-directories (``.git``, ``.env``) are not served, as ``torpub build``
    does not publish them. Symbolic links inside the tree are followed, as
    nginx does.
    """
    if not url_path.startswith(mount_path(mount)):
        return None
    segments = [s for s in url_path[len(mount_path(mount)) :].split("/") if s]
    if any(s.startswith(".") or "\0" in s or os.sep in s for s in segments):
        return None
    return root.joinpath(*segments) if segments else None


def answer(site: Site, url_path: str, method: str, headers: Mapping[str, str]) -> Answer:
    """The static answer for ``url_path`` (decoded); ``headers`` are the request's,
    keyed in lower case."""
    if site.cors is not None and is_preflight(method, headers):
        return Answer(204, site.cors.preflight_headers())
    if method not in ("GET", "HEAD"):
        return _with_cors(site, _error(405, (("Allow", "GET, HEAD"),)))
    chosen = _choose(site, url_path, headers)
    found = _error(404) if chosen is None else _respond(chosen, method, headers)
    return _with_cors(site, found)


def torrent_answer(
    site: Site, url_path: str, method: str, headers: Mapping[str, str]
) -> Answer | None:
    """The answer when a request negotiates a torrent, names one, or is a CORS
    preflight under the mount; else None (the wrapped app's turn)."""
    if site.cors is not None and is_preflight(method, headers):
        if url_path.startswith(site.mount):
            return Answer(204, site.cors.preflight_headers())
        return None
    if method not in ("GET", "HEAD"):
        return None
    chosen = _choose(site, url_path, headers)
    if chosen is None or not chosen.torrent:
        return None
    return _with_cors(site, _respond(chosen, method, headers))


def decoration(site: Site, url_path: str) -> Headers:
    """The headers (Vary, Link, CORS) to add to a wrapped app's answer."""
    path = locate(site.root, site.mount, url_path)
    if path is None:
        return ()
    extra: Headers = ()
    if not negotiate.is_torrent_path(url_path):
        torrent = _is_file(path.with_name(path.name + negotiate.TORRENT_SUFFIX))
        extra = negotiate.negotiate(url_path, torrent, None, None, None).headers
    return _with_cors(site, Answer(200, extra)).headers


def mount_path(mount: str) -> str:
    """``mount`` as a URL path prefix that ends in ``/``."""
    return "/" + mount.strip("/") + "/" if mount.strip("/") else "/"


def _choose(site: Site, url_path: str, headers: Mapping[str, str]) -> _Choice | None:
    """The file to send (the artifact or its torrent) and the headers negotiation
    adds; None when there is nothing to send."""
    path = locate(site.root, site.mount, url_path)
    if path is None or not _is_file(path):
        return None
    if negotiate.is_torrent_path(url_path):
        return _Choice(path, negotiate.TORRENT_TYPE, (), True)
    torrent = path.with_name(path.name + negotiate.TORRENT_SUFFIX)
    decision = negotiate.negotiate(
        url_path,
        _is_file(torrent),
        headers.get("accept"),
        headers.get("accept-encoding"),
        headers.get("range"),
    )
    if decision.torrent:
        return _Choice(torrent, negotiate.TORRENT_TYPE, decision.headers, True)
    return _Choice(path, None, decision.headers, False)


def _respond(chosen: _Choice, method: str, headers: Mapping[str, str]) -> Answer:
    """The answer for one file: 304, 206, 416 or 200, per RFC 9110 §13 and §14;
    403 or 404 when it cannot be opened after all."""
    opened = _open(chosen)
    if isinstance(opened, int):
        return _error(opened)
    file, entity = opened
    try:
        found = _respond_open(file, entity, method, headers, chosen.headers)
    except BaseException:
        file.close()
        raise
    if found.file is None:
        file.close()
    return found


def _respond_open(
    file: BinaryIO, entity: _Entity, method: str, headers: Mapping[str, str], extra: Headers
) -> Answer:
    own: Headers = (("Content-Type", entity.content_type),)
    own += tuple(h for h in extra if h[0] != "Content-Type")
    validators = (
        ("ETag", entity.etag),
        ("Last-Modified", formatdate(entity.mtime, usegmt=True)),
        ("Accept-Ranges", "bytes"),
    )
    if _not_modified(entity, headers):
        return Answer(304, validators + tuple(h for h in own if h[0] != "Content-Type"))
    span = _range(entity, headers) if method == "GET" else None
    if span == ranges.UNSATISFIABLE:
        return _error(416, (("Content-Range", f"bytes */{entity.size}"),))
    status_headers: Headers = ()
    start, length = 0, entity.size
    if isinstance(span, ranges.ByteRange):
        start, length = span.start, span.length
        status_headers = (("Content-Range", span.content_range(entity.size)),)
    all_headers = own + validators + status_headers + (("Content-Length", str(length)),)
    status = 206 if isinstance(span, ranges.ByteRange) else 200
    if method == "HEAD":
        return Answer(status, all_headers)
    file.seek(start)
    return Answer(status, all_headers, file=file, length=length)


def _open(chosen: _Choice) -> tuple[BinaryIO, _Entity] | int:
    """The file, open, and what its descriptor says of it; or 403/404.

    The size and validators come from the open descriptor, so they describe
    the bytes that will be sent even if the name is replaced meanwhile;
    O_NONBLOCK keeps a FIFO swapped in after the check from hanging the open.
    """
    try:
        fd = os.open(chosen.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except PermissionError:
        return 403
    except (OSError, ValueError):
        return 404
    file = os.fdopen(fd, "rb")
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        file.close()
        return 404
    mtime = int(st.st_mtime)
    guessed = mimetypes.guess_type(chosen.path.name, strict=False)[0]
    content_type = chosen.content_type or guessed or "application/octet-stream"
    return file, _Entity(st.st_size, mtime, f'"{mtime:x}-{st.st_size:x}"', content_type)


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def _with_cors(site: Site, found: Answer) -> Answer:
    """``found`` with the CORS headers, Origin merged into its Vary when one
    origin is named."""
    if site.cors is None:
        return found
    headers = found.headers + site.cors.headers()
    if site.cors.varies:
        vary = [v for n, v in headers if n == "Vary"]
        headers = tuple(h for h in headers if h[0] != "Vary")
        headers += (("Vary", ", ".join([*vary, "Origin"])),)
    return Answer(found.status, headers, found.body, found.file, found.length)


def _error(status: int, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    body = f"{status}\n".encode()
    own = (("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))))
    return Answer(status, own + headers, body=body)


def _not_modified(entity: _Entity, headers: Mapping[str, str]) -> bool:
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:  # RFC 9110 §13.2.2: it overrides If-Modified-Since
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == entity.etag for t in tags)
    since = _http_date(headers.get("if-modified-since"))
    return since is not None and entity.mtime <= since


def _http_date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _range(entity: _Entity, headers: Mapping[str, str]) -> ranges.ByteRange | str | None:
    if not _if_range_holds(entity, headers.get("if-range")):
        return None
    return ranges.parse(headers.get("range"), entity.size)


def _if_range_holds(entity: _Entity, if_range: str | None) -> bool:
    if if_range is None:
        return True
    if if_range.startswith('"'):
        return if_range == entity.etag
    return _http_date(if_range) == entity.mtime
