"""HTTP requests of ``torpub check``: a bounded number in flight per host, and never
more of a body read than the check needs (a mirror is as untrusted as DNS)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

# No content coding: the bytes compared must be the file's, and a compressed body
# would cost memory out of proportion to what is read.
IDENTITY = {"Accept-Encoding": "identity"}


class Unreachable(Exception):
    """No HTTP answer: refused, reset, timed out, a broken response."""


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: httpx.Headers
    body: bytes  # at most ``limit`` + 1 octets of it
    overflow: bool  # the server had more than ``limit`` octets to send


class HostGates:
    """One semaphore per host and port, so a check never piles onto one server."""

    def __init__(self, width: int) -> None:
        self.width = max(1, width)
        self._gates: dict[str, asyncio.Semaphore] = {}

    def gate(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        if host not in self._gates:
            self._gates[host] = asyncio.Semaphore(self.width)
        return self._gates[host]


def make_client(timeout: float) -> httpx.AsyncClient:
    # Mirrors often redirect (to a CDN, a nearer server); a few hops are normal.
    return httpx.AsyncClient(timeout=timeout, follow_redirects=True, max_redirects=5)


async def fetch(
    client: httpx.AsyncClient,
    gates: HostGates,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    limit: int = 0,
) -> Fetched:
    """The status, headers and first ``limit`` (+1) octets of the body. A URL that
    cannot be asked (a web seed's comes from the torrent) is Unreachable too."""
    try:
        gate = gates.gate(url)
    except ValueError as e:
        raise Unreachable(f"not a URL ({e})") from e
    async with gate:
        try:
            async with client.stream(method, url, headers=headers) as response:
                body = bytearray()
                if limit > 0 and method != "HEAD":
                    async for part in response.aiter_raw():
                        body += part
                        if len(body) > limit:
                            break
                return Fetched(
                    response.status_code,
                    response.headers,
                    bytes(body[: limit + 1]),
                    len(body) > limit,
                )
        except httpx.TimeoutException as e:
            raise Unreachable("timed out") from e
        except httpx.InvalidURL as e:
            raise Unreachable(f"not a URL ({e})") from e
        except httpx.HTTPError as e:
            raise Unreachable(str(e) or type(e).__name__) from e


def content_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() else None
