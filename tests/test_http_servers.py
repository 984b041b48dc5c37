"""One table of requests, run against nginx, Apache, and the ASGI and WSGI
middleware on loopback, so that the four cannot drift apart (record format §6)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import libtorrent as lt  # type: ignore[import-untyped]
import pytest
from http_servers import HttpServer, Tree, http_server, make_tree, part_of
from processes import wait_until

from torpub.cli import main
from torpub.http import asgi, cors, static, wsgi
from torpub.http.negotiate import TORRENT_TYPE, torrent_url_path

__all__ = ["http_server"]  # the fixture, imported for pytest

FILE, TORRENT, TORRENT_URL = "file", "torrent", "torrent URL"
PART, MISSING = "part of the file", "404"
WEB_SEED_TIMEOUT = 60.0


@dataclass(frozen=True)
class Case:
    name: str
    relpath: str
    headers: dict[str, str]
    # FILE, TORRENT (negotiated), TORRENT_URL (the .torrent's own URL), PART
    # (206 with the bytes the Range names) or MISSING
    expect: str
    # Servers that answer otherwise, as docs/http.md says they do.
    otherwise: frozenset[str] = field(default_factory=frozenset)


CASES = [
    Case("plain GET", Tree.ARTIFACT, {}, FILE),
    Case(
        "torrent in Accept-Encoding",
        Tree.ARTIFACT,
        {"Accept-Encoding": "gzip, deflate, torrent"},
        TORRENT,
    ),
    Case("torrent type in Accept", Tree.ARTIFACT, {"Accept": TORRENT_TYPE}, TORRENT),
    Case("torrent type over */*", Tree.ARTIFACT, {"Accept": f"{TORRENT_TYPE}, */*;q=0.8"}, TORRENT),
    Case("torrent type alone, q<1", Tree.ARTIFACT, {"Accept": f"{TORRENT_TYPE};q=0.3"}, TORRENT),
    Case(
        "case and white space",
        Tree.ARTIFACT,
        {"Accept": "text/html , Application/X-BitTorrent ; Q=1.000 ,"},
        TORRENT,
    ),
    Case("torrent;q=0", Tree.ARTIFACT, {"Accept-Encoding": "gzip, torrent;q=0"}, FILE),
    Case("torrent type;q=0", Tree.ARTIFACT, {"Accept": f"{TORRENT_TYPE};q=0, */*"}, FILE),
    Case("*/* alone", Tree.ARTIFACT, {"Accept": "*/*"}, FILE),
    Case("application/* alone", Tree.ARTIFACT, {"Accept": "application/*"}, FILE),
    Case("torrent type below */*", Tree.ARTIFACT, {"Accept": f"{TORRENT_TYPE};q=0.5, */*"}, FILE),
    Case("a longer token", Tree.ARTIFACT, {"Accept-Encoding": "torrents, x-torrent"}, FILE),
    Case(
        "torrent type at q<1 above the rest",
        Tree.ARTIFACT,
        {"Accept": f"{TORRENT_TYPE};q=0.9, */*;q=0.8"},
        TORRENT,
        otherwise=frozenset({"nginx", "apache"}),  # no q arithmetic in a config file
    ),
    Case("no torrent beside the file", Tree.PLAIN, {"Accept-Encoding": "torrent"}, FILE),
    Case("no torrent, Accept", Tree.PLAIN, {"Accept": TORRENT_TYPE}, FILE),
    Case("a name to percent-encode", Tree.AWKWARD, {"Accept-Encoding": "torrent"}, TORRENT),
    Case("a name to percent-encode, plain", Tree.AWKWARD, {}, FILE),
    Case("the .torrent's own URL", f"{Tree.ARTIFACT}.torrent", {}, TORRENT_URL),
    Case("a name a quoted-string cannot hold", Tree.QUOTED, {"Accept": TORRENT_TYPE}, TORRENT),
    # A web seed's own Range requests carry its torrent signal too (record format §6).
    Case(
        "Range with torrent in Accept-Encoding",
        Tree.ARTIFACT,
        {"Accept-Encoding": "gzip, torrent", "Range": "bytes=0-16383"},
        PART,
    ),
    Case(
        "Range with torrent type",
        Tree.ARTIFACT,
        {"Accept": TORRENT_TYPE, "Range": "bytes=-5"},
        PART,
    ),
    Case(
        "Range with both signals, as aria2 sends",
        Tree.ARTIFACT,
        {
            "Accept": f"{TORRENT_TYPE}, */*",
            "Accept-Encoding": "deflate, gzip, torrent",
            "Range": "bytes=16384-32767",
        },
        PART,
    ),
    Case(
        "Range on an awkward name",
        Tree.AWKWARD,
        {"Accept-Encoding": "torrent", "Range": "bytes=10-"},
        PART,
    ),
    Case("a dot-file", Tree.DOT_FILE, {}, MISSING),
    Case("a dot-file, torrent asked", Tree.DOT_FILE, {"Accept-Encoding": "torrent"}, MISSING),
    Case("a dot-file's .torrent", f"{Tree.DOT_FILE}.torrent", {}, MISSING),
    Case("in a dot-directory", Tree.IN_DOT_DIR, {}, MISSING),
]


def _vary(response: httpx.Response) -> set[str]:
    values = response.headers.get_list("vary")
    return {
        token.strip().lower() for value in values for token in value.split(",") if token.strip()
    }


def _link(relpath: str) -> str:
    return f'<{torrent_url_path("/pub/" + relpath)}>; rel=describedby; type="{TORRENT_TYPE}"'


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_negotiation(http_server: HttpServer, case: Case) -> None:
    tree = http_server.tree
    response = httpx.get(http_server.url(case.relpath), headers=case.headers)
    expect = case.expect
    if http_server.kind in case.otherwise:
        expect = FILE if expect == TORRENT else TORRENT
    if expect == MISSING:
        assert response.status_code == 404
        assert b"SECRET" not in response.content
        return
    assert response.status_code == (206 if expect == PART else 200), http_server.log()
    assert "content-encoding" not in response.headers
    has_torrent = (tree.root / f"{case.relpath}.torrent").exists()
    if expect == TORRENT_URL:
        assert response.headers["content-type"] == TORRENT_TYPE
        assert response.content == tree.file(case.relpath)
        return
    if has_torrent:
        assert response.headers.get("link") == _link(case.relpath)
        assert _vary(response) >= {"accept", "accept-encoding"}
    else:
        assert "link" not in response.headers
        assert "accept" not in _vary(response)
    if expect == TORRENT:
        name = case.relpath.rsplit("/", 1)[-1]
        assert response.headers["content-type"] == TORRENT_TYPE
        assert _attachment_name(response.headers["content-disposition"]) == f"{name}.torrent"
        assert response.content == tree.torrent(case.relpath)
        return
    assert response.headers["content-type"] != TORRENT_TYPE
    assert "content-disposition" not in response.headers
    data = tree.file(case.relpath)
    if expect == PART:
        assert response.content == part_of(data, response.headers["content-range"])
    else:
        assert response.content == data


# RFC 6266 with RFC 8187: a quoted name that needs no escapes, an encoded one, or both.
_DISPOSITION = re.compile(
    r"attachment"
    r"(?:; filename=\"(?P<plain>[ !#-\[\]-~]*)\")?"
    r"(?:; filename\*=UTF-8''(?P<encoded>(?:[!#$&+.^_`|~0-9A-Za-z-]|%[0-9A-F]{2})+))?",
    re.ASCII,
)


def _attachment_name(value: str) -> str | None:
    """The file name a Content-Disposition value gives, after checking its syntax."""
    found = _DISPOSITION.fullmatch(value)
    assert found, f"not a valid Content-Disposition: {value!r}"
    if found["encoded"]:
        return unquote(found["encoded"], errors="strict")
    return found["plain"]


def test_range_gives_the_part(http_server: HttpServer) -> None:
    data = http_server.tree.file(Tree.ARTIFACT)
    response = httpx.get(http_server.url(Tree.ARTIFACT), headers={"Range": "bytes=1000-1999"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert response.content == data[1000:2000]
    assert response.headers["link"] == _link(Tree.ARTIFACT)


def test_suffix_range_gives_the_end(http_server: HttpServer) -> None:
    data = http_server.tree.file(Tree.ARTIFACT)
    response = httpx.get(http_server.url(Tree.ARTIFACT), headers={"Range": "bytes=-100"})
    assert response.status_code == 206
    assert response.content == data[-100:]


def test_unsatisfiable_range_is_416(http_server: HttpServer) -> None:
    size = len(http_server.tree.file(Tree.ARTIFACT))
    response = httpx.get(http_server.url(Tree.ARTIFACT), headers={"Range": f"bytes={size}-"})
    assert response.status_code == 416
    # RFC 9110 says SHOULD; Apache 2.4 leaves Content-Range out of its 416.
    if http_server.kind != "apache":
        assert response.headers["content-range"] == f"bytes */{size}"


def test_head_has_the_headers_and_no_body(http_server: HttpServer) -> None:
    size = len(http_server.tree.file(Tree.ARTIFACT))
    response = httpx.head(http_server.url(Tree.ARTIFACT))
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == size
    assert response.headers["link"] == _link(Tree.ARTIFACT)


def test_head_of_the_torrent(http_server: HttpServer) -> None:
    size = len(http_server.tree.torrent(Tree.ARTIFACT))
    response = httpx.head(http_server.url(Tree.ARTIFACT), headers={"Accept": TORRENT_TYPE})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == TORRENT_TYPE
    assert int(response.headers["content-length"]) == size


def test_if_none_match_gives_304(http_server: HttpServer) -> None:
    url = http_server.url(Tree.ARTIFACT)
    etag = httpx.head(url).headers["etag"]
    response = httpx.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    torrent_etag = httpx.head(url, headers={"Accept-Encoding": "torrent"}).headers["etag"]
    assert torrent_etag != etag  # another representation, another validator


def test_if_modified_since_gives_304(http_server: HttpServer) -> None:
    url = http_server.url(Tree.ARTIFACT)
    modified = httpx.head(url).headers["last-modified"]
    assert httpx.get(url, headers={"If-Modified-Since": modified}).status_code == 304


def test_missing_file_is_404(http_server: HttpServer) -> None:
    assert httpx.get(http_server.url("nothing.bin")).status_code == 404


def test_no_cors_unless_asked(http_server: HttpServer) -> None:
    url = http_server.url(Tree.ARTIFACT)
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    for response in (
        httpx.get(url, headers={"Origin": "https://app.example"}),
        httpx.options(url, headers=preflight),
    ):
        assert "access-control-allow-origin" not in response.headers
        assert response.status_code != 204


def test_libtorrent_downloads_from_the_web_seed(http_server: HttpServer, tmp_path: Path) -> None:
    """A client that takes the torrent by negotiation, then the bytes from the
    server as its only web seed (BEP 19: it uses Range)."""
    url = http_server.url(Tree.ARTIFACT)
    torrent = httpx.get(url, headers={"Accept-Encoding": "gzip, torrent"}).content
    metainfo = lt.bdecode(torrent)
    assert metainfo[b"url-list"] in ([url.encode()], url.encode())
    info = lt.torrent_info(metainfo)
    session = lt.session(
        {
            "listen_interfaces": "127.0.0.1:0",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "alert_mask": lt.alert.category_t.error_notification,
        }
    )
    params = lt.add_torrent_params()
    params.ti = info
    params.save_path = str(tmp_path)
    handle = session.add_torrent(params)
    wait_until(
        # Bound as defaults: the session must be dropped below, so that it shuts down.
        lambda h=handle: bool(h.status().is_seeding),
        "the download from the web seed",
        WEB_SEED_TIMEOUT,
        log=lambda s=session: f"{[a.message() for a in s.pop_alerts()]}\n{http_server.log()}",
    )
    # A piece passes its check before its last blocks reach the disk: only a
    # session that has shut down has written everything (torpub.client.download does the same).
    session.remove_torrent(handle)
    del handle, session
    assert (tmp_path / Tree.ARTIFACT).read_bytes() == http_server.tree.file(Tree.ARTIFACT)


# --- In process: wrapping an app, and the edges of static serving -----------


def _inner_wsgi(environ: dict[str, object], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Vary", "Cookie")])
    return [b"from the app"]


async def _inner_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = [(b"content-type", b"text/plain"), (b"vary", b"Cookie")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"from the app"})


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return make_tree(tmp_path / "pub", "http://testserver/pub/")


def _dashed(headers: dict[str, str]) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in headers.items()}


def _wsgi_get(app: Any, path: str, method: str = "GET", **headers: str) -> httpx.Response:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver") as c:
        return c.request(method, path, headers=_dashed(headers))


def _asgi_get(app: Any, path: str, method: str = "GET", **headers: str) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, path, headers=_dashed(headers))

    return asyncio.run(get())


WRAPPERS = [
    pytest.param(
        lambda root: wsgi.TorrentMiddleware(root, mount="/pub", app=_inner_wsgi),
        _wsgi_get,
        id="wsgi",
    ),
    pytest.param(
        lambda root: asgi.TorrentMiddleware(root, mount="/pub", app=_inner_asgi),
        _asgi_get,
        id="asgi",
    ),
]


@pytest.mark.parametrize(("wrap", "get"), WRAPPERS)
def test_wrapped_app_serves_the_files_with_link(tree: Tree, wrap: Any, get: Any) -> None:
    response = get(wrap(tree.root), "/pub/artifact.bin")
    assert response.content == b"from the app"
    assert response.headers["link"] == _link(Tree.ARTIFACT)
    assert response.headers["vary"] == "Cookie"  # the app's own Vary is left alone


@pytest.mark.parametrize(("wrap", "get"), WRAPPERS)
def test_wrapped_app_leaves_torrents_to_the_middleware(tree: Tree, wrap: Any, get: Any) -> None:
    app = wrap(tree.root)
    response = get(app, "/pub/artifact.bin", accept_encoding="torrent")
    assert response.content == tree.torrent(Tree.ARTIFACT)
    assert response.headers["content-type"] == TORRENT_TYPE
    assert get(app, "/pub/artifact.bin.torrent").content == tree.torrent(Tree.ARTIFACT)


CORS_WRAPPERS = [
    pytest.param(
        lambda root: wsgi.TorrentMiddleware(root, mount="/pub", app=_inner_wsgi, cors="*"),
        _wsgi_get,
        id="wsgi",
    ),
    pytest.param(
        lambda root: asgi.TorrentMiddleware(root, mount="/pub", app=_inner_asgi, cors="*"),
        _asgi_get,
        id="asgi",
    ),
]


@pytest.mark.parametrize(("wrap", "get"), CORS_WRAPPERS)
def test_wrapped_app_gets_cors_under_the_mount(tree: Tree, wrap: Any, get: Any) -> None:
    app = wrap(tree.root)
    response = get(app, "/pub/artifact.bin", origin="https://app.example")
    assert response.content == b"from the app"
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = get(app, "/pub/artifact.bin", "OPTIONS", access_control_request_method="GET")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-headers"] == cors.ALLOW_HEADERS
    elsewhere = get(app, "/elsewhere", "OPTIONS", access_control_request_method="GET")
    assert elsewhere.content == b"from the app"


@pytest.mark.parametrize(("wrap", "get"), WRAPPERS)
def test_wrapped_app_keeps_the_rest(tree: Tree, wrap: Any, get: Any) -> None:
    app = wrap(tree.root)
    for path, method in (
        ("/elsewhere", "GET"),
        ("/pub/plain.txt", "GET"),
        ("/pub/artifact.bin", "POST"),
    ):
        response = get(app, path, method, accept_encoding="torrent")
        assert response.content == b"from the app"
        assert "link" not in response.headers


@pytest.mark.parametrize(
    ("range_header", "status", "part"),
    [
        ("bytes=0-0", 206, slice(0, 1)),
        ("bytes=10-", 206, slice(10, None)),
        ("bytes=-999999999", 206, slice(None)),
        ("bytes=5-2", 200, slice(None)),  # invalid: ignored
        ("bytes=0-1,5-6", 200, slice(None)),  # several: served whole
        ("items=0-1", 200, slice(None)),
        ("bytes=-0", 416, slice(0)),
    ],
)
def test_static_ranges(tree: Tree, range_header: str, status: int, part: slice) -> None:
    app = wsgi.TorrentMiddleware(tree.root, mount="/pub/")
    response = _wsgi_get(app, "/pub/artifact.bin", range=range_header)
    assert response.status_code == status
    if status != 416:
        assert response.content == tree.file(Tree.ARTIFACT)[part]


def test_if_range_that_does_not_match_gives_the_whole_file(tree: Tree) -> None:
    app = wsgi.TorrentMiddleware(tree.root, mount="/pub/")
    response = _wsgi_get(app, "/pub/artifact.bin", range="bytes=0-9", if_range='"other"')
    assert response.status_code == 200
    etag = response.headers["etag"]
    assert _wsgi_get(app, "/pub/artifact.bin", range="bytes=0-9", if_range=etag).status_code == 206


def test_static_refuses_other_methods(tree: Tree) -> None:
    response = _wsgi_get(wsgi.TorrentMiddleware(tree.root), "/pub/artifact.bin", "POST")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/pub/%2e%2e/secret", "/pub/sub/%2E%2E/%2e%2e/secret", "/secret"])
def test_no_path_leaves_the_tree(tree: Tree, path: str) -> None:
    (tree.root.parent / "secret").write_text("not for the web")
    for app, get in (
        (wsgi.TorrentMiddleware(tree.root, mount="/pub/"), _wsgi_get),
        (asgi.TorrentMiddleware(tree.root, mount="/pub/"), _asgi_get),
    ):
        assert get(app, path).status_code == 404


def test_locate_refuses_dot_segments(tmp_path: Path) -> None:
    assert static.locate(tmp_path, "/", "/a/../b") is None
    assert static.locate(tmp_path, "/", "/a/./b") is None
    assert static.locate(tmp_path, "/pub/", "/other/b") is None
    assert static.locate(tmp_path, "/pub/", "/pub/a//b") == tmp_path / "a" / "b"


# --- The CLI ------------------------------------------------------------------


def test_server_config_prints_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server-config", "nginx", "--root", str(tmp_path), "--location", "/pub"]) == 0
    out = capsys.readouterr().out
    assert f"alias {tmp_path}/;" in out
    assert "location /pub/ {" in out
    assert main(["server-config", "apache", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f'Alias "/" "{tmp_path}/"' in out
    assert "RewriteEngine On" in out


def test_server_config_refuses_what_it_cannot_quote(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server-config", "nginx", "--root", "/srv/my files"]) == 1
    assert "cannot quote" in capsys.readouterr().err


def test_serve_needs_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(tmp_path / "missing"), "--port", "1"]) == 1
    assert "not a directory" in capsys.readouterr().err
