"""The ``get`` flow (record format §6): ask the origin for a torrent, take what it
gives, and fall back to DNS (§4) and BitTorrent when it does not answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx

from torpub import atomic
from torpub.client import download, output
from torpub.client.partial import Partial
from torpub.client.resolve import Resolved, ResolveOptions, resolve
from torpub.errors import DownloadError, RecordError
from torpub.format.torrentinfo import TORRENT_TYPE, single_file

# The torrent first, anything else rather than a 406 from a server that knows no torrents.
ACCEPT = f"{TORRENT_TYPE}, */*;q=0.1"
ACCEPT_ENCODING = "gzip, deflate, torrent"
# Far above what DNS may carry (a torrent fetched over HTTP is not bound by the chunk
# budget), and libtorrent's own limit for loading a torrent (load_torrent_limits).
MAX_HTTP_TORRENT = 10_000_000
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
    detail: Notify | None = None,
) -> Fetched:
    """Fetch ``url`` into ``directory`` by whichever route works (see :class:`Route`).

    The file is ``directory/<the URL's last path segment>`` (``.torrent`` added with
    ``torrent_only``), whatever the torrent calls it. ``notify`` hears which route
    was taken, ``detail`` what a verbose run shows besides.
    """
    options = options or GetOptions()
    say = notify or (lambda _message: None)
    name = output.name_from_url(url)
    directory = output.output_directory(directory)
    headers = {"Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
    partial = Partial(directory / name)
    if not options.torrent_only:
        headers |= partial.request_headers()
    with httpx.Client(timeout=options.http_timeout, follow_redirects=True, headers=headers) as http:
        try:
            with http.stream("GET", url) as response:
                answer = _take_answer(response, url, partial, options, say, progress)
        except httpx.TransportError as e:
            answer = _NoAnswer(_describe(e))
        except httpx.HTTPError as e:  # too many redirects, a body that does not decode
            raise DownloadError(url, _describe(e)) from None
    if isinstance(answer, Fetched):
        return answer
    finish = _Finish(url, partial.target, options, detail or (lambda _message: None), progress)
    if isinstance(answer, bytes):
        fetched = finish(answer, Route.torrent, None)
    else:
        say(f"{answer.reason}; resolving the torrent over DNS")
        fetched = _finish_from_dns(finish, say)
    if fetched.path == partial.target:
        partial.discard()  # an earlier plain attempt's part, now of no use
    return fetched


def _finish_from_dns(finish: _Finish, say: Notify) -> Fetched:
    resolved = resolve(finish.url, finish.options.resolve)
    say(f"resolved over DNS ({'DNSSEC-validated' if resolved.validated else 'not validated'})")
    torrent = resolved.payload
    if torrent is None:
        say("DNS publishes only the info-hash (n=0); asking peers for the torrent")
        session = finish.options.session
        torrent = download.fetch_metadata(resolved.head.ih, session, finish.progress)
    return finish(torrent, Route.dns, resolved)


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
    if response.status_code not in (200, 206):
        # A 3xx left here was not followed (no Location): its body is not the file.
        raise DownloadError(url, f"HTTP {response.status_code} {response.reason_phrase}")
    if _is_torrent(response):
        if response.status_code != 200:  # a range of the torrent: If-Range should prevent it
            raise DownloadError(url, f"HTTP {response.status_code} for part of a torrent")
        say("the origin answered with a torrent")
        return _read_bounded(response, url)
    if options.torrent_only:
        return _NoAnswer("the origin sent the file, not a torrent")
    output.refuse_existing(partial.target)
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


@dataclass(frozen=True)
class _Finish:
    """The last step of every route: check the torrent, then save it or download."""

    url: str
    target: Path
    options: GetOptions
    detail: Notify
    progress: download.ProgressCallback | None

    def __call__(self, torrent: bytes, route: Route, resolved: Resolved | None) -> Fetched:
        try:
            info = single_file(torrent)  # before anything is written
        except RecordError as e:
            raise DownloadError(self.url, f"refusing the torrent: {e}") from e
        if self.options.torrent_only:
            path = self.target.with_name(f"{self.target.name}.torrent")
            output.refuse_existing(path)
            atomic.write_atomic(path, torrent)
            return Fetched(path, route, resolved)
        for seed in download.web_seeds(info.web_seeds)[1]:
            self.detail(f"ignoring web seed {seed}: only http and https web seeds are used")
        directory, name = self.target.parent, self.target.name
        path = download.download(torrent, directory, name, self.options.session, self.progress)
        return Fetched(path, route, resolved)


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectError):
        return f"the origin did not answer ({_root_cause(error)})"
    if isinstance(error, httpx.TimeoutException):
        return f"the origin did not answer in time ({type(error).__name__})"
    if isinstance(error, httpx.TooManyRedirects):
        return "the origin redirects in a loop (too many redirects)"
    return f"the origin failed ({type(error).__name__}: {error})"


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    text = str(error)
    return "connection refused" if "refused" in text.lower() else text or type(error).__name__
