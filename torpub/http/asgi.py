"""ASGI middleware: serve an artifact tree, or wrap an app, with torrent negotiation.

    app = TorrentMiddleware(Path("/srv/pub"), mount="/pub/")            # the tree
    app = TorrentMiddleware(Path("/srv/pub"), mount="/pub/", app=inner)  # wrap an app

Wrapping, the middleware answers only torrent requests (negotiated, or a
``.torrent`` URL) from the tree and adds ``Vary``/``Link`` to the app's answers
for artifacts that have one; everything else, lifespan included, is the app's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from torpub.http import static
from torpub.http.cors import Cors

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TorrentMiddleware:
    """``cors``: the origin allowed to read the answers (``*`` for any), or None."""

    def __init__(
        self,
        root: Path,
        *,
        mount: str = "/",
        app: ASGIApp | None = None,
        cors: str | None = None,
    ) -> None:
        self.site = static.Site(root, mount, None if cors is None else Cors(cors))
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if self.app is not None:
                await self.app(scope, receive, send)
            elif scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        url_path = request_path(scope)
        method = str(scope.get("method", "GET")).upper()
        headers = request_headers(scope)
        if self.app is None:
            answer = await asyncio.to_thread(static.answer, self.site, url_path, method, headers)
            await _send(answer, send)
            return
        torrent = await asyncio.to_thread(
            static.torrent_answer, self.site, url_path, method, headers
        )
        if torrent is not None:
            await _send(torrent, send)
            return
        extra: tuple[tuple[str, str], ...] = ()
        if method in ("GET", "HEAD"):
            extra = await asyncio.to_thread(static.decoration, self.site, url_path)
        await self.app(scope, receive, _adding(send, extra))


def request_path(scope: Scope) -> str:
    """The decoded URL path; from the raw bytes when the server gives them, so that
    a name that is not UTF-8 still reaches its file."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return unquote_to_bytes(raw.split(b"?", 1)[0]).decode("utf-8", "surrogateescape")
    return str(scope.get("path", "/")) or "/"


def request_headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        # RFC 9110 §5.3: repeated list headers combine with commas.
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _adding(send: Send, extra: tuple[tuple[str, str], ...]) -> Send:
    if not extra:
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            added = [(n.lower().encode(), v.encode("latin-1")) for n, v in extra]
            message["headers"] = headers + [h for h in added if h[0] not in present]
        await send(message)

    return sending


async def _send(answer: static.Answer, send: Send) -> None:
    headers = [(n.lower().encode(), v.encode("latin-1", "replace")) for n, v in answer.headers]
    start = {"type": "http.response.start", "status": answer.status, "headers": headers}
    if answer.file is None:
        await send(start)
        await send({"type": "http.response.body", "body": answer.body})
        return
    with answer.file as f:
        await send(start)
        left = answer.length
        while left > 0:
            block = await asyncio.to_thread(f.read, min(left, static.CHUNK_SIZE))
            if not block:
                # The file shrank while being sent. Returning without the last
                # message makes the server close the connection, so the client
                # sees an incomplete answer, never a short one taken as whole.
                return
            left -= len(block)
            await send({"type": "http.response.body", "body": block, "more_body": left > 0})
    if answer.length == 0:
        await send({"type": "http.response.body", "body": b""})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
