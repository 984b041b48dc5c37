"""The ``get`` flow (record format §6): ask the origin for a torrent, take what it
gives, and fall back to DNS (§4) and BitTorrent when it does not answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

from torpub import atomic
from torpub.client import download
from torpub.client.partial import Partial
from torpub.client.resolve import Resolved, ResolveOptions, resolve
from torpub.errors import DownloadError, RecordError
from torpub.format.torrentinfo import summarise

TORRENT_TYPE = "application/x-bittorrent"
# The torrent first, anything else rather than a 406 from a server that knows no torrents.
ACCEPT = f"{TORRENT_TYPE}, */*;q=0.1"
ACCEPT_ENCODING = "gzip, deflate, torrent"
# Far above what DNS may carry: a torrent fetched over HTTP is not bound by the chunk budget.
MAX_HTTP_TORRENT = 64 << 20
_CHUNK = 1 << 16

Notify = Callable[[str], None]


class Route(StrEnum):
    """Which way a download went."""

    torrent = "torrent"  # the origin answered with a torrent
    plain = "plain"  # the origin answered with the file itself
    dns = "dns"  # the origin did not answer; the torrent came from DNS


@dataclass(frozen=True)
class GetOptions:
    http_timeout: float = 30.0
    torrent_only: bool = False
    resolve: ResolveOptions = field(default_factory=ResolveOptions)
    session: download.SessionOptions = field(default_factory=download.SessionOptions)


@dataclass(frozen=True)
class Fetched:
    """Where the result went, and how it got there."""

    path: Path
    route: Route
    resolved: Resolved | None = None


def get(
    url: str,
    directory: Path,
    options: GetOptions | None = None,
    notify: Notify | None = None,
    progress: download.ProgressCallback | None = None,
) -> Fetched:
    """Fetch ``url`` into ``directory`` by whichever route works (see :class:`Route`)."""
    options = options or GetOptions()
    say = notify or (lambda _message: None)
    directory.mkdir(parents=True, exist_ok=True)
    headers = {"Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
    partial = Partial(directory / _file_name(url))
    if not options.torrent_only:
        headers |= partial.request_headers()
    with httpx.Client(timeout=options.http_timeout, follow_redirects=True, headers=headers) as http:
        try:
            with http.stream("GET", url) as response:
                answer = _take_answer(response, url, partial, options, say, progress)
        except httpx.TransportError as e:
            answer = _NoAnswer(_describe(e))
    if isinstance(answer, Fetched):
        return answer
    if isinstance(answer, bytes):
        fetched = _finish(answer, url, directory, options, Route.torrent, None, progress)
    else:
        say(f"{answer.reason}; resolving the torrent over DNS")
        fetched = _finish_from_dns(url, directory, options, say, progress)
    if fetched.path == partial.target:
        partial.discard()  # an earlier plain attempt's part, now of no use
    return fetched


def _finish_from_dns(
    url: str,
    directory: Path,
    options: GetOptions,
    say: Notify,
    progress: download.ProgressCallback | None,
) -> Fetched:
    resolved = resolve(url, options.resolve)
    say(f"resolved over DNS ({'DNSSEC-validated' if resolved.validated else 'not validated'})")
    torrent = resolved.payload
    if torrent is None:
        say("DNS publishes only the info-hash (n=0); asking peers for the torrent")
        torrent = download.fetch_metadata(resolved.head.ih, options.session, progress)
    return _finish(torrent, url, directory, options, Route.dns, resolved, progress)


@dataclass(frozen=True)
class _NoAnswer:
    reason: str


def _take_answer(
    response: httpx.Response,
    url: str,
    partial: Partial,
    options: GetOptions,
    say: Notify,
    progress: download.ProgressCallback | None,
) -> Fetched | bytes | _NoAnswer:
    """The origin's answer: a file on disk, torrent bytes, or why it gave neither."""
    if response.status_code >= 500:
        return _NoAnswer(f"the origin answered HTTP {response.status_code}")
    if response.status_code == 416:  # Range Not Satisfiable: the part is no prefix of the file
        partial.discard()
        raise DownloadError(
            url, "HTTP 416: the partial download does not fit; removed it, run again"
        )
    if response.status_code >= 400:
        raise DownloadError(url, f"HTTP {response.status_code} {response.reason_phrase}")
    if _is_torrent(response):
        if response.status_code != 200:  # a range of the torrent: If-Range should prevent it
            raise DownloadError(url, f"HTTP {response.status_code} for part of a torrent")
        say("the origin answered with a torrent")
        return _read_bounded(response, url)
    if options.torrent_only:
        return _NoAnswer("the origin sent the file, not a torrent")
    if partial.target.exists():
        raise DownloadError(str(partial.target), "already exists; remove it or choose another -o")
    if response.status_code == 206:
        say("the origin answered with the rest of the file; continuing the partial download")
    else:
        say("the origin answered with the file itself")
    return Fetched(partial.stream(response, progress), Route.plain)


def _is_torrent(response: httpx.Response) -> bool:
    kind: str = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == TORRENT_TYPE


def _read_bounded(response: httpx.Response, url: str) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes(_CHUNK):
        body += chunk
        if len(body) > MAX_HTTP_TORRENT:
            raise DownloadError(url, f"the origin's torrent exceeds {MAX_HTTP_TORRENT} bytes")
    return bytes(body)


def _finish(
    torrent: bytes,
    url: str,
    directory: Path,
    options: GetOptions,
    route: Route,
    resolved: Resolved | None,
    progress: download.ProgressCallback | None,
) -> Fetched:
    try:
        info = summarise(torrent)
    except RecordError as e:
        raise DownloadError(url, f"the torrent does not parse: {e}") from e
    if options.torrent_only:
        path = directory / f"{_safe_name(info.name)}.torrent"
        atomic.write_atomic(path, torrent)
        return Fetched(path, route, resolved)
    path = download.download(torrent, directory, options.session, progress)
    return Fetched(path, route, resolved)


def _file_name(url: str) -> str:
    return _safe_name(unquote(PurePosixPath(urlsplit(url).path).name)) or "index.html"


def _safe_name(name: str) -> str:
    """A name that stays inside the output directory."""
    name = name.replace("/", "_").replace("\0", "_")
    return "" if name in ("", ".", "..") else name


def _describe(error: httpx.TransportError) -> str:
    if isinstance(error, httpx.ConnectError):
        return f"the origin did not answer ({_root_cause(error)})"
    if isinstance(error, httpx.TimeoutException):
        return f"the origin did not answer in time ({type(error).__name__})"
    return f"the origin failed ({type(error).__name__}: {error})"


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    text = str(error)
    return "connection refused" if "refused" in text.lower() else text or type(error).__name__
