"""Hostile and awkward requests against nginx and Apache with the shipped
configs, ``torpub serve`` and the WSGI middleware: odd Range values, dot-files
however spelled, files that cannot be read or shrink while being sent."""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_servers import (
    HttpServer,
    Tree,
    http_server,
    make_tree,
    part_of,
    served_tree,
    start_on_free_port,
    start_serve,
)

from torpub.cli import main
from torpub.http import asgi, static, wsgi
from torpub.http.negotiate import TORRENT_TYPE

__all__ = ["http_server"]  # the fixture, imported for pytest


@pytest.mark.parametrize("path", ["/pub/%2eenv", "/pub/%2Egit/config", "/pub/sub/../.env"])
def test_dot_files_are_not_served_however_spelled(http_server: HttpServer, path: str) -> None:
    url = f"http://127.0.0.1:{http_server.port}{path}"
    response = httpx.get(httpx.URL(url), headers={"Accept-Encoding": "torrent"})
    assert response.status_code == 404
    assert b"SECRET" not in response.content


HOSTILE_RANGES = [
    "bytes=" + "9" * 5000 + "-",
    "bytes=0-" + "9" * 5000,
    "bytes=-" + "9" * 5000,
    "bytes=" + "0" * 4000 + "1-" + "0" * 4000 + "9",
    "bytes=\u00b2-",  # superscript two: str.isdigit() says yes, int() says no
    "bytes=\u0661-\u0662",  # Arabic-Indic digits
    "bytes=1-2-3",
    "bytes=--1",
]


@pytest.mark.parametrize("value", HOSTILE_RANGES, ids=range(len(HOSTILE_RANGES)))
def test_hostile_ranges_get_an_answer(http_server: HttpServer, value: str) -> None:
    """Any Range gets a well-formed 200, 206 or 416 (RFC 9110 §14.2), never a 500."""
    data = http_server.tree.file(Tree.ARTIFACT)
    headers = {"Range": value.encode("utf-8"), "Accept-Encoding": b"torrent"}
    response = httpx.get(http_server.url(Tree.ARTIFACT), headers=headers)
    assert response.status_code in (200, 206, 416), http_server.log()
    if response.status_code == 200:
        assert response.content == data
    elif response.status_code == 206:
        assert response.content == part_of(data, response.headers["content-range"])
    assert "Traceback" not in http_server.log()


def test_serve_refuses_what_it_cannot_read() -> None:
    """Opened before answering: a 403, not a 200 with a body that never comes."""
    with served_tree("asgi") as top:
        start = functools.partial(start_serve, unprivileged=True)
        server = start_on_free_port(top, start, "asgi")
        try:
            (server.tree.root / Tree.ARTIFACT).chmod(0)
            (server.tree.root / f"{Tree.AWKWARD}.torrent").chmod(0)
            assert httpx.get(server.url(Tree.ARTIFACT)).status_code == 403
            asked = httpx.get(server.url(Tree.AWKWARD), headers={"Accept": TORRENT_TYPE})
            assert asked.status_code == 403
            assert httpx.get(server.url(Tree.AWKWARD)).content == server.tree.file(Tree.AWKWARD)
        finally:
            server.stop()
        assert "Traceback" not in server.log()


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return make_tree(tmp_path / "pub", "http://testserver/pub/")


def test_asgi_does_not_finish_a_file_that_shrank(tree: Tree) -> None:
    """Fewer bytes than Content-Length, then no end of body: the server closes
    the connection, and the client sees an incomplete answer, not a whole one."""
    path = tree.root / Tree.ARTIFACT
    app = asgi.TorrentMiddleware(tree.root, mount="/pub/")
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)
        if len(messages) == 2:
            os.truncate(path, static.CHUNK_SIZE + 10)

    scope = {"type": "http", "method": "GET", "path": "/pub/artifact.bin", "headers": []}
    asyncio.run(app(scope, receive, send))
    announced = int(dict(messages[0]["headers"])[b"content-length"])
    assert sum(len(m["body"]) for m in messages[1:]) == static.CHUNK_SIZE + 10 < announced
    assert all(m["more_body"] for m in messages[1:])


def test_wsgi_aborts_a_file_that_shrank(tree: Tree) -> None:
    path = tree.root / Tree.ARTIFACT
    app = wsgi.TorrentMiddleware(tree.root, mount="/pub/")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/pub/artifact.bin"}
    body = iter(app(environ, lambda status, headers, exc_info=None: lambda data: None))
    assert len(next(body)) == static.CHUNK_SIZE
    os.truncate(path, static.CHUNK_SIZE + 10)
    assert next(body) == path.read_bytes()[static.CHUNK_SIZE :]
    with pytest.raises(wsgi.ShortFile):
        next(body)


def test_wsgi_closes_the_file_of_a_body_never_read(tree: Tree) -> None:
    app = wsgi.TorrentMiddleware(tree.root, mount="/pub/")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/pub/artifact.bin"}
    body = app(environ, lambda status, headers, exc_info=None: lambda data: None)
    opened = body._file  # type: ignore[attr-defined]
    body.close()  # type: ignore[attr-defined]  # what a server does when the client left
    assert opened.closed


@pytest.mark.parametrize("origin", ["https://www.example.com/", "HTTPS://X.EXAMPLE", "null", "a b"])
def test_cors_origin_must_be_an_origin(
    tmp_path: Path, origin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["server-config", "nginx", "--root", str(tmp_path)], ["serve", str(tmp_path)]):
        assert main([*command, "--cors", origin]) == 1
        err = capsys.readouterr().err
        assert "CORS origin" in err
        assert len(err.strip().splitlines()) == 1
