"""What ``torpub check`` found: immutable data, one record per URL and part.

Every part has ``ok`` and ``reason`` (empty when ok; otherwise every problem found,
joined by "; "). Renderers in :mod:`torpub.check.render` turn a :class:`Report`
into text, JSON, Markdown or Prometheus lines; ``to_dict`` is the JSON schema of
docs/check-json.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

ServerKind = Literal["resolver", "authoritative"]


def reason_of(problems: Sequence[str]) -> str:
    """A part's ``reason``: every problem found, in order (empty when none)."""
    return "; ".join(problems)


@dataclass(frozen=True)
class DnsServerResult:
    """One URL's records as one server answers them."""

    server: str  # HOST:PORT
    kind: ServerKind
    ok: bool
    reason: str
    info_hash: str | None  # of the torrent the records reassemble to
    queries: int
    largest_answer: int  # octets of the largest answer, over TCP where UDP was truncated
    truncated: int  # answers that came back truncated (TC) over UDP at 1232 octets
    head_ttl: int | None
    chunk_ttl: int | None  # the lowest chunk TTL
    validated: bool | None  # resolver: AD on every answer; None at an authoritative server
    signed: bool | None  # authoritative: an RRSIG with every answer; None at a resolver
    serial: int | None  # authoritative: the zone's SOA serial, to name a lagging server

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "kind": self.kind,
            "ok": self.ok,
            "reason": self.reason,
            "info_hash": self.info_hash,
            "queries": self.queries,
            "largest_answer": self.largest_answer,
            "truncated": self.truncated,
            "head_ttl": self.head_ttl,
            "chunk_ttl": self.chunk_ttl,
            "validated": self.validated,
            "signed": self.signed,
            "serial": self.serial,
        }


@dataclass(frozen=True)
class DnsResult:
    ok: bool
    reason: str
    servers: tuple[DnsServerResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reason": self.reason,
            "servers": [s.to_dict() for s in self.servers],
        }


@dataclass(frozen=True)
class WebSeedResult:
    """One url-list entry (BEP 19) and the pieces it served."""

    url: str
    ok: bool
    reason: str
    status: int | None  # of the HEAD request; None when the server did not answer
    length: int | None  # its Content-Length
    ranges: bool | None  # whether it answered a Range request with 206
    pieces_checked: tuple[int, ...]
    pieces_bad: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.ok,
            "reason": self.reason,
            "status": self.status,
            "length": self.length,
            "ranges": self.ranges,
            "pieces_checked": list(self.pieces_checked),
            "pieces_bad": list(self.pieces_bad),
        }


@dataclass(frozen=True)
class OriginResult:
    """What the origin answers (record format §6); None where it was not asked."""

    url: str
    ok: bool
    reason: str
    link: bool | None  # a plain GET carries Link: rel=describedby
    accept: bool | None  # Accept: application/x-bittorrent gives the torrent
    accept_encoding: bool | None  # Accept-Encoding: torrent gives the torrent
    range: bool | None  # a Range request gets the file's bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.ok,
            "reason": self.reason,
            "link": self.link,
            "accept": self.accept,
            "accept_encoding": self.accept_encoding,
            "range": self.range,
        }


@dataclass(frozen=True)
class UrlReport:
    url: str
    info_hash: str | None  # the torrent checked against: built locally, or read from DNS
    dns: DnsResult
    web_seeds: tuple[WebSeedResult, ...]
    origin: OriginResult

    @property
    def ok(self) -> bool:
        return self.dns.ok and self.origin.ok and all(s.ok for s in self.web_seeds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.ok,
            "info_hash": self.info_hash,
            "dns": self.dns.to_dict(),
            "web_seeds": [s.to_dict() for s in self.web_seeds],
            "origin": self.origin.to_dict(),
        }


@dataclass(frozen=True)
class Report:
    urls: tuple[UrlReport, ...]

    @property
    def ok(self) -> bool:
        return all(u.ok for u in self.urls)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "torpub-check",
            "version": 1,
            "ok": self.ok,
            "urls": [u.to_dict() for u in self.urls],
        }
