"""CORS for browser web seeds (record format §6), one table against nginx and
Apache with the configs torpub ships, ``torpub serve`` and the WSGI middleware,
each started with ``--cors *`` and with ``--cors <one origin>``."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest
from http_servers import HttpServer, Tree, cors_server

from torpub.http.negotiate import TORRENT_TYPE

__all__ = ["cors_server"]  # the fixture, imported for pytest

PAGE = "https://app.example"  # the origin of the page that fetches
# What a browser web-seed client must be able to read (besides the safelisted).
MUST_EXPOSE = {"content-range", "content-length", "accept-ranges", "link", "etag"}


@dataclass(frozen=True)
class Simple:
    name: str
    relpath: str
    status: int
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)


SIMPLE = [
    Simple("GET", Tree.ARTIFACT, 200),
    Simple("HEAD", Tree.ARTIFACT, 200, "HEAD"),
    Simple("a web seed's Range", Tree.ARTIFACT, 206, headers={"Range": "bytes=0-16383"}),
    Simple("the torrent, negotiated", Tree.ARTIFACT, 200, headers={"Accept": TORRENT_TYPE}),
    Simple("the torrent's URL", f"{Tree.ARTIFACT}.torrent", 200),
    Simple("a file without a torrent", Tree.PLAIN, 200),
    Simple("a missing file", "nothing.bin", 404),
    Simple("past the end", Tree.PLAIN, 416, headers={"Range": "bytes=100000-"}),
]


def _tokens(response: httpx.Response, name: str) -> set[str]:
    return {
        token.strip().lower()
        for value in response.headers.get_list(name)
        for token in value.split(",")
        if token.strip()
    }


def _origin_checks(server: HttpServer, response: httpx.Response) -> None:
    assert response.headers.get_list("access-control-allow-origin") == [server.cors]
    assert ("origin" in _tokens(response, "vary")) == (server.cors != "*")


@pytest.mark.parametrize("case", SIMPLE, ids=[c.name for c in SIMPLE])
def test_simple_requests(cors_server: HttpServer, case: Simple) -> None:
    headers = {"Origin": PAGE, **case.headers}
    response = httpx.request(case.method, cors_server.url(case.relpath), headers=headers)
    assert response.status_code == case.status, cors_server.log()
    _origin_checks(cors_server, response)
    assert _tokens(response, "access-control-expose-headers") >= MUST_EXPOSE
    assert "access-control-allow-methods" not in response.headers


@pytest.mark.parametrize(
    "relpath",
    [Tree.ARTIFACT, f"{Tree.ARTIFACT}.torrent", Tree.AWKWARD, "nothing.bin"],
    ids=["artifact", "torrent URL", "awkward name", "missing"],
)
def test_preflight_for_range(cors_server: HttpServer, relpath: str) -> None:
    headers = {
        "Origin": PAGE,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range",
    }
    response = httpx.options(cors_server.url(relpath), headers=headers)
    assert response.status_code == 204, cors_server.log()
    assert response.content == b""
    _origin_checks(cors_server, response)
    assert _tokens(response, "access-control-allow-methods") >= {"get", "head"}
    assert "range" in _tokens(response, "access-control-allow-headers")
    assert int(response.headers["access-control-max-age"]) > 0
