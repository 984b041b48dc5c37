"""The origin part of ``torpub check``: does the HTTP server still negotiate as
record format §6 says? A plain GET points at the torrent (Link: rel=describedby);
either torrent signal gets the torrent; a Range request gets the file's bytes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import httpx

from torpub.check.pieces import Pieces
from torpub.check.report import OriginResult, reason_of
from torpub.check.web import IDENTITY, Fetched, HostGates, Unreachable, fetch
from torpub.errors import RecordError
from torpub.format import bencode
from torpub.format.records import Limits
from torpub.http.negotiate import TORRENT_SUFFIX, TORRENT_TOKEN, TORRENT_TYPE

_LINK = re.compile(r"<([^>]*)>([^,]*)")
_REL = re.compile(r"""(?i);\s*rel\s*=\s*(?:"([^"]*)"|([^;\s]+))""")
_BOTH_SIGNALS = {"Accept": TORRENT_TYPE, "Accept-Encoding": TORRENT_TOKEN}


async def check_origin(
    client: httpx.AsyncClient,
    gates: HostGates,
    url: str,
    torrent: bytes | None,
    pieces: Pieces | None,
) -> OriginResult:
    if torrent is None or pieces is None:
        return OriginResult(
            url, False, "not checked: no torrent to compare with", None, None, None, None
        )
    start, end = pieces.span(0)
    asks = (
        fetch(client, gates, url, headers={**IDENTITY, "Accept": "*/*"}),
        fetch(
            client,
            gates,
            url,
            headers={**IDENTITY, "Accept": TORRENT_TYPE},
            limit=Limits().max_length,
        ),
        fetch(
            client,
            gates,
            url,
            headers={"Accept-Encoding": TORRENT_TOKEN},
            limit=Limits().max_length,
        ),
        fetch(
            client,
            gates,
            url,
            headers={**_BOTH_SIGNALS, "Range": f"bytes={start}-{end - 1}"},
            limit=end - start,
        ),
    )
    plain, by_type, by_coding, ranged = await asyncio.gather(*asks, return_exceptions=True)
    problems: list[str] = []
    link = _judge(problems, "a plain GET", plain, lambda f: _link_problem(f, url))
    accept = _judge(
        problems, f"Accept: {TORRENT_TYPE}", by_type, lambda f: _torrent_problem(f, torrent)
    )
    coding = _judge(
        problems,
        f"Accept-Encoding: {TORRENT_TOKEN}",
        by_coding,
        lambda f: _torrent_problem(f, torrent),
    )
    ranges = _judge(problems, "a Range request", ranged, lambda f: _range_problem(f, pieces))
    return OriginResult(url, not problems, reason_of(problems), link, accept, coding, ranges)


def _judge(
    problems: list[str],
    what: str,
    got: Fetched | BaseException,
    problem_of: Callable[[Fetched], str],
) -> bool:
    if isinstance(got, Unreachable):
        problems.append(f"{what}: no answer ({got})")
        return False
    if isinstance(got, BaseException):
        raise got
    found = problem_of(got)
    if found:
        problems.append(f"{what}: {found}")
    return not found


def _link_problem(got: Fetched, url: str) -> str:
    if got.status != 200:
        return f"answers {got.status} instead of 200"
    want = urlsplit(url).path + TORRENT_SUFFIX
    for target, params in _LINK.findall(",".join(got.headers.get_list("link"))):
        rels = [m.group(1) or m.group(2) for m in _REL.finditer(params)]
        if any("describedby" in r.lower().split() for r in rels):
            try:
                path = urlsplit(urljoin(url, target.strip())).path
            except ValueError:  # the header is the server's: "http://[" is no URL
                return "Link rel=describedby is not a URL"
            if path == want:
                return ""
            return "Link rel=describedby points elsewhere than the torrent"
    return "no Link: rel=describedby header"


def _torrent_problem(got: Fetched, torrent: bytes) -> str:
    if got.status != 200:
        return f"answers {got.status} instead of 200 with the torrent"
    if got.body == torrent and not got.overflow:
        return ""
    try:
        other = bencode.info_hash(got.body)
    except RecordError:
        return "answers something other than a torrent"
    if other == bencode.info_hash(torrent):
        return "answers the same info-hash in other bytes than the published torrent"
    return f"answers another torrent (ih {other})"


def _range_problem(got: Fetched, pieces: Pieces) -> str:
    if got.status != 206:
        return f"answers {got.status} instead of 206 with the file's bytes"
    if got.overflow or not pieces.matches(0, got.body):
        return "answers other bytes than the file's first piece"
    return ""
