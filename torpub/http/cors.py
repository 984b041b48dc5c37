"""CORS for web seeds (record format §6): the headers a browser needs before a
page on another origin may fetch a torrent and read a file's bytes by Range.
Pure: an origin in, header lists out; the middleware and the nginx and Apache
configs all take their headers from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from torpub.errors import ConfigError

ANY_ORIGIN: Final = "*"
# What a browser client reads besides the CORS-safelisted response headers
# (Content-Type, Content-Length, Last-Modified, ...): Range answers
# (Content-Range, Accept-Ranges), the ETag it sends back in If-Range so a file
# replaced mid-download is noticed, the torrent's Link and name, and an
# encoding a front server may add. Content-Length is safelisted only in
# newer browsers, so it is named too.
EXPOSE_HEADERS: Final = (
    "Content-Range, Content-Length, Accept-Ranges, Content-Encoding, Link, ETag, "
    "Content-Disposition"
)
ALLOW_METHODS: Final = "GET, HEAD"
# Range is the one header a web seed needs that browsers do not safelist.
# WebTorrent also sends Cache-Control (no-store) on every web-seed request, so a
# preflight that allows Range alone blocks the browser BitTorrent client
# (web/, tests/test_browser.py). Accept-Encoding cannot be set by a page at all
# (a forbidden header name); Accept can, and is safelisted.
ALLOW_HEADERS: Final = "Range, Cache-Control"
MAX_AGE: Final = "86400"  # browsers cap it lower (Chromium: 2 h); fewer preflights
# RFC 6454 serialised origin: scheme "://" host [":" port], nothing more.
_ORIGIN = re.compile(
    r"[a-z][a-z0-9+.-]*://(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?", re.ASCII
)


@dataclass(frozen=True)
class Cors:
    """Which origin may read the answers: ``*`` (any) or one serialised origin."""

    origin: str = ANY_ORIGIN

    def __post_init__(self) -> None:
        if self.origin != ANY_ORIGIN and not _ORIGIN.fullmatch(self.origin):
            raise ConfigError(
                f"CORS origin {self.origin!r} is neither '*' nor an origin such as "
                "https://www.example.com (lower case, no path)"
            )

    @property
    def varies(self) -> bool:
        """Whether a cache must key on Origin: only when one origin is named."""
        return self.origin != ANY_ORIGIN

    def headers(self) -> tuple[tuple[str, str], ...]:
        """For every answer, errors included, so a page can read why it failed."""
        return (
            ("Access-Control-Allow-Origin", self.origin),
            ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
        )

    def preflight_headers(self) -> tuple[tuple[str, str], ...]:
        """For the 204 answer to a preflight (OPTIONS with Access-Control-Request-Method)."""
        return (
            ("Access-Control-Allow-Origin", self.origin),
            ("Access-Control-Allow-Methods", ALLOW_METHODS),
            ("Access-Control-Allow-Headers", ALLOW_HEADERS),
            ("Access-Control-Max-Age", MAX_AGE),
        ) + ((("Vary", "Origin"),) if self.varies else ())


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """An OPTIONS request that asks what another method may do (Fetch standard).

    ``headers`` are the request's, keyed in lower case.
    """
    return method == "OPTIONS" and bool(headers.get("access-control-request-method"))
