"""WSGI middleware: serve an artifact tree, or wrap an app, with torrent negotiation.

    application = TorrentMiddleware(Path("/srv/pub"), mount="/pub/")           # the tree
    application = TorrentMiddleware(Path("/srv/pub"), mount="/pub/", app=app)  # wrap an app

Wrapping, the middleware answers only torrent requests (negotiated, or a
``.torrent`` URL) from the tree and adds ``Vary``/``Link`` to the app's answers
for artifacts that have one; everything else is the app's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol

from torpub.http import static
from torpub.http.cors import Cors

Environ = dict[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
Headers = list[tuple[str, str]]


class StartResponse(Protocol):
    def __call__(
        self, status: str, headers: Headers, exc_info: ExcInfo | None = ..., /
    ) -> Callable[[bytes], object]: ...


WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_REASONS = {
    200: "OK",
    204: "No Content",
    206: "Partial Content",
    304: "Not Modified",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    416: "Range Not Satisfiable",
}


class TorrentMiddleware:
    """``cors``: the origin allowed to read the answers (``*`` for any), or None."""

    def __init__(
        self,
        root: Path,
        *,
        mount: str = "/",
        app: WSGIApp | None = None,
        cors: str | None = None,
    ) -> None:
        self.site = static.Site(root, mount, None if cors is None else Cors(cors))
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        url_path = request_path(environ)
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        headers = request_headers(environ)
        if self.app is None:
            return _send(static.answer(self.site, url_path, method, headers), start_response)
        torrent = static.torrent_answer(self.site, url_path, method, headers)
        if torrent is not None:
            return _send(torrent, start_response)
        extra = static.decoration(self.site, url_path) if method in ("GET", "HEAD") else ()
        return self.app(environ, _adding(start_response, extra))


def request_path(environ: Environ) -> str:
    """The decoded URL path; WSGI hands it over as bytes in latin-1 (PEP 3333)."""
    raw = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    return raw.encode("latin-1").decode("utf-8", "surrogateescape") or "/"


def request_headers(environ: Environ) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    return headers


def _adding(start_response: StartResponse, extra: tuple[tuple[str, str], ...]) -> StartResponse:
    if not extra:
        return start_response

    def start(
        status: str, headers: Headers, exc_info: ExcInfo | None = None, /
    ) -> Callable[[bytes], object]:
        present = {name.lower() for name, _ in headers}
        added = [h for h in extra if h[0].lower() not in present]
        return start_response(status, [*headers, *added], exc_info)

    return start


def _send(answer: static.Answer, start_response: StartResponse) -> Iterable[bytes]:
    status = f"{answer.status} {_REASONS.get(answer.status, '')}".rstrip()
    start_response(status, list(answer.headers))
    if answer.file is None:
        return [answer.body]
    return _FileBody(answer.file, answer.length)


class ShortFile(OSError):
    """The file shrank while being sent: raised so the server aborts the
    connection (PEP 3333) instead of ending a short body as if it were whole."""


class _FileBody:
    """``length`` bytes of an open file as a WSGI body. The server calls ``close``
    (PEP 3333) whether or not it read the body: a client gone before the first
    byte must not leave the file open until the garbage collector finds it, as a
    generator's ``with`` would."""

    def __init__(self, file: BinaryIO, length: int) -> None:
        self._file = file
        self._length = length

    def __iter__(self) -> Iterator[bytes]:
        with self._file:
            length = self._length
            while length > 0:
                block = self._file.read(min(length, static.CHUNK_SIZE))
                if not block:
                    raise ShortFile(f"the file ended {length} bytes before the answer did")
                length -= len(block)
                yield block

    def close(self) -> None:
        self._file.close()
