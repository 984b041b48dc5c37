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

from torpub.http import negotiate

CHUNK_SIZE = 64 << 10


@dataclass(frozen=True)
class Answer:
    """A response to send; ``file`` and ``start``/``length`` give the body, if any."""

    status: int
    headers: tuple[tuple[str, str], ...]
    file: Path | None = None
    start: int = 0
    length: int = 0
    body: bytes = b""


@dataclass(frozen=True)
class _Entity:
    path: Path
    size: int
    mtime: int  # whole seconds, as HTTP dates carry them
    etag: str
    content_type: str


def locate(root: Path, mount: str, url_path: str) -> Path | None:
    """The file under ``root`` (served at the URL path ``mount``) that a decoded
    URL path names, or None.

    Dot segments are refused rather than resolved, so no request leaves ``root``
    through ``..``; symbolic links inside the tree are followed, as nginx does.
    """
    if not url_path.startswith(mount_path(mount)):
        return None
    segments = [s for s in url_path[len(mount_path(mount)) :].split("/") if s]
    if any(s in (".", "..") or "\0" in s or os.sep in s for s in segments):
        return None
    return root.joinpath(*segments) if segments else None


def answer(
    root: Path, mount: str, url_path: str, method: str, headers: Mapping[str, str]
) -> Answer:
    """The static answer for ``url_path`` (decoded) when ``root`` is served at ``mount``.

    ``headers`` are the request's, keyed in lower case.
    """
    if method not in ("GET", "HEAD"):
        return _error(405, (("Allow", "GET, HEAD"),))
    chosen = _choose(root, mount, url_path, headers)
    if chosen is None:
        return _error(404)
    entity, extra, _torrent = chosen
    return _respond(entity, method, headers, extra)


def torrent_answer(
    root: Path, mount: str, url_path: str, method: str, headers: Mapping[str, str]
) -> Answer | None:
    """The answer when a request negotiates a torrent or names one, else None
    (the wrapped app's turn)."""
    if method not in ("GET", "HEAD"):
        return None
    chosen = _choose(root, mount, url_path, headers)
    if chosen is None or not chosen[2]:
        return None
    entity, extra, _torrent = chosen
    return _respond(entity, method, headers, extra)


def _choose(
    root: Path, mount: str, url_path: str, headers: Mapping[str, str]
) -> tuple[_Entity, tuple[tuple[str, str], ...], bool] | None:
    """The file to send (the artifact or its torrent), the headers negotiation
    adds, and whether it is a torrent; None when there is nothing to send."""
    path = locate(root, mount, url_path)
    entity = _entity(path) if path is not None else None
    if entity is None:
        return None
    if negotiate.is_torrent_path(url_path):
        return _with_type(entity, negotiate.TORRENT_TYPE), (), True
    torrent = _entity(entity.path.with_name(entity.path.name + negotiate.TORRENT_SUFFIX))
    decision = negotiate.negotiate(
        url_path, torrent is not None, headers.get("accept"), headers.get("accept-encoding")
    )
    if decision.torrent and torrent is not None:
        return _with_type(torrent, negotiate.TORRENT_TYPE), decision.headers, True
    return entity, decision.headers, False


def decoration(root: Path, mount: str, url_path: str) -> tuple[tuple[str, str], ...]:
    """The headers (Vary, Link) to add to a wrapped app's answer for an artifact."""
    path = locate(root, mount, url_path)
    if path is None or negotiate.is_torrent_path(url_path):
        return ()
    torrent = _entity(path.with_name(path.name + negotiate.TORRENT_SUFFIX))
    decision = negotiate.negotiate(url_path, torrent is not None, None, None)
    return decision.headers


def mount_path(mount: str) -> str:
    """``mount`` as a URL path prefix that ends in ``/``."""
    return "/" + mount.strip("/") + "/" if mount.strip("/") else "/"


def _respond(
    entity: _Entity, method: str, headers: Mapping[str, str], extra: tuple[tuple[str, str], ...]
) -> Answer:
    """The answer for one file: 304, 206, 416 or 200, per RFC 9110 §13 and §14."""
    own: tuple[tuple[str, str], ...] = (("Content-Type", entity.content_type),)
    own += tuple(h for h in extra if h[0] != "Content-Type")
    validators = (
        ("ETag", entity.etag),
        ("Last-Modified", formatdate(entity.mtime, usegmt=True)),
        ("Accept-Ranges", "bytes"),
    )
    if _not_modified(entity, headers):
        return Answer(304, validators + tuple(h for h in own if h[0] != "Content-Type"))
    span = _range(entity, headers) if method == "GET" else None
    if span == "unsatisfiable":
        return _error(416, (("Content-Range", f"bytes */{entity.size}"),))
    start, length = span if isinstance(span, tuple) else (0, entity.size)
    status_headers: tuple[tuple[str, str], ...] = ()
    if isinstance(span, tuple):
        end = start + length - 1
        status_headers = (("Content-Range", f"bytes {start}-{end}/{entity.size}"),)
    all_headers = own + validators + status_headers + (("Content-Length", str(length)),)
    status = 206 if isinstance(span, tuple) else 200
    if method == "HEAD":
        return Answer(status, all_headers)
    return Answer(status, all_headers, entity.path, start, length)


def _entity(path: Path) -> _Entity | None:
    try:
        st = path.stat()
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    mtime = int(st.st_mtime)
    guessed = mimetypes.guess_type(path.name, strict=False)[0]
    etag = f'"{mtime:x}-{st.st_size:x}"'
    return _Entity(path, st.st_size, mtime, etag, guessed or "application/octet-stream")


def _with_type(entity: _Entity, content_type: str) -> _Entity:
    return _Entity(entity.path, entity.size, entity.mtime, entity.etag, content_type)


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


def _range(entity: _Entity, headers: Mapping[str, str]) -> tuple[int, int] | str | None:
    """(start, length) of a satisfiable single range, "unsatisfiable", or None (whole file)."""
    value = headers.get("range")
    if value is None or not _if_range_holds(entity, headers.get("if-range")):
        return None
    unit, _, spec = value.partition("=")
    specs = [s.strip() for s in spec.split(",") if s.strip()]
    if unit.strip().lower() != "bytes" or len(specs) != 1:
        return None  # a server may ignore any Range it does not serve (RFC 9110 §14.2)
    first, dash, last = specs[0].partition("-")
    if not dash or not (first or last) or not (first + last).isdigit():
        return None
    if not first:  # the last N bytes
        length = min(int(last), entity.size)
        return (entity.size - length, length) if length else "unsatisfiable"
    start = int(first)
    if start >= entity.size:
        return "unsatisfiable"
    end = min(int(last), entity.size - 1) if last else entity.size - 1
    return (start, end - start + 1) if end >= start else None


def _if_range_holds(entity: _Entity, if_range: str | None) -> bool:
    if if_range is None:
        return True
    if if_range.startswith('"'):
        return if_range == entity.etag
    return _http_date(if_range) == entity.mtime
