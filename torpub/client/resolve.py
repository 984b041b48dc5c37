"""Fetch a URL's torrent from DNS (record format §4): the head, then every chunk at once.

The checks of §4 live in :mod:`torpub.format.records`; this module only asks the questions,
in parallel and with a bounded number in flight, and notes whether the resolver
vouched for every answer with its AD bit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.nameserver
import dns.rdatatype
import dns.resolver

from torpub.client import dnswire, doh
from torpub.client.chunkwindow import Address, fetch_chunks
from torpub.client.dnswire import TxtAnswer
from torpub.errors import (
    ChecksumMismatch,
    ConfigError,
    NotPublished,
    NotValidated,
    RecordError,
    ResolutionFailed,
)
from torpub.format import records
from torpub.format.names import TorrentNames, names_for
from torpub.format.records import Head, Limits
from torpub.format.torrentinfo import TorrentInfo, summarise
from torpub.hostport import HostPort

DEFAULT_CONCURRENCY = 32
DEFAULT_TIMEOUT = 2.0
DEFAULT_ATTEMPTS = 3


# A resolver to ask, by address.
Nameserver = HostPort


@dataclass(frozen=True)
class ResolveOptions:
    """How to ask; no nameservers means the system's resolvers (/etc/resolv.conf).
    A DoH URL (RFC 8484) takes every question instead of any nameserver."""

    nameservers: tuple[Nameserver, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS
    limits: Limits = field(default_factory=Limits)
    require_dnssec: bool = False
    doh: str | None = None

    def __post_init__(self) -> None:
        if self.doh is not None:
            doh.check_url(self.doh)
            if self.nameservers:
                raise ConfigError("--doh and --resolver exclude each other: DoH asks its own")


@dataclass(frozen=True)
class Resolved:
    """A torrent read from DNS and checked against its head."""

    names: TorrentNames
    head: Head
    payload: bytes | None  # None when the head publishes no chunks (n=0)
    validated: bool
    head_ttl: int
    queries: int

    @property
    def info(self) -> TorrentInfo | None:
        return summarise(self.payload) if self.payload is not None else None

    @property
    def magnet(self) -> str:
        info = self.info
        if info is not None:
            return info.magnet
        name = f"&dn={quote(self.head.display_name, safe='')}" if self.head.display_name else ""
        return f"magnet:?xt=urn:btih:{self.head.ih}{name}"


def resolve(url: str, options: ResolveOptions | None = None) -> Resolved:
    """Read and check ``url``'s torrent from DNS (blocking)."""
    return asyncio.run(resolve_async(url, options))


async def resolve_async(url: str, options: ResolveOptions | None = None) -> Resolved:
    """Read and check ``url``'s torrent from DNS."""
    options = options or ResolveOptions()
    names = names_for(url)
    async with _asker(options) as asker:
        return await _fetch(url, names, asker, options)


class _Asker(Protocol):
    """One way to ask for TXT records: plain DNS or DoH."""

    @property
    def answering(self) -> Address | None:
        """The plain-DNS server that answered the head, for the chunk window (None:
        every chunk through ``txt``)."""

    async def txt(self, name: str, tcp: bool = False) -> TxtAnswer | None: ...


@asynccontextmanager
async def _asker(options: ResolveOptions) -> AsyncIterator[_Asker]:
    if options.doh is None:
        yield _Do53(make_resolver(options))
        return
    width = options.concurrency
    async with doh.DohClient(options.doh, options.timeout, options.attempts, width) as client:
        yield client


async def _fetch(url: str, names: TorrentNames, asker: _Asker, options: ResolveOptions) -> Resolved:
    head_txt = await asker.txt(names.head_name)
    if head_txt is None:
        raise NotPublished(url)
    head = Head.from_text(only_value(head_txt.strings, "head"))
    options.limits.check(head)
    if options.require_dnssec and not head_txt.validated:
        raise NotValidated(url)
    if head.n == 0:
        return Resolved(names, head, None, head_txt.validated, head_txt.ttl, 1)
    try:
        chunks = await _chunks(asker, names, head, options)
        validated = head_txt.validated and all(c.validated for c in chunks.values())
        if options.require_dnssec and not validated:
            raise NotValidated(url)
        pieces = {i: only_value(a.strings, f"chunk {i}") for i, a in chunks.items()}
        payload = records.decode(head, pieces, names)
    except ChecksumMismatch as e:
        # Say how long to wait: the head's TTL, after which a fresh head names fresh chunks.
        raise ChecksumMismatch(e.what, head_txt.ttl) from None
    return Resolved(names, head, payload, validated, head_txt.ttl, 1 + head.n)


def make_resolver(options: ResolveOptions) -> dns.asyncresolver.Resolver:
    """A resolver with EDNS at 1232 octets that asks for AD (RFC 6840 §5.7) and
    falls back to TCP only when an answer comes back truncated."""
    if options.nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(ns.host, ns.port) for ns in options.nameservers
        ]
    else:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration as e:
            raise ConfigError(f"no system resolver is configured ({e}); use --resolver") from e
    resolver.use_edns(0, 0, records.UDP_ANSWER_LIMIT)
    # AD without DO: the resolver's verdict, without RRSIGs swelling every answer.
    resolver.flags = dns.flags.RD | dns.flags.AD
    resolver.timeout = options.timeout
    resolver.lifetime = options.timeout * options.attempts * len(resolver.nameservers)
    resolver.retry_servfail = False
    return resolver


async def _query(
    resolver: dns.asyncresolver.Resolver, name: str, tcp: bool = False
) -> dns.resolver.Answer | None:
    """One name's TXT records; None when the name or the TXT set does not exist."""
    try:
        answer = await resolver.resolve(name, dns.rdatatype.TXT, tcp=tcp, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return None
    except dns.exception.DNSException as e:
        raise ResolutionFailed(name, str(e) or type(e).__name__) from e
    return answer if answer.rrset is not None else None


@dataclass
class _Do53:
    """Plain DNS through dnspython's resolver; notes who answered first (the head)."""

    resolver: dns.asyncresolver.Resolver
    answering: Address | None = None

    async def txt(self, name: str, tcp: bool = False) -> TxtAnswer | None:
        answer = await _query(self.resolver, name, tcp)
        if answer is None:
            return None
        if self.answering is None:
            self.answering = _answering(self.resolver, answer)
        return _txt(answer)


def _txt(answer: dns.resolver.Answer) -> TxtAnswer:
    assert answer.rrset is not None
    strings = tuple(tuple(rdata.strings) for rdata in answer.rrset)
    return TxtAnswer(strings, answer.rrset.ttl, bool(answer.response.flags & dns.flags.AD))


def _answering(resolver: dns.asyncresolver.Resolver, answer: dns.resolver.Answer) -> Address | None:
    """The plain-DNS resolver that answered the head, for the chunks to ask first."""
    for server in resolver.nameservers:
        if not isinstance(server, dns.nameserver.Do53Nameserver):
            continue
        if (server.address, server.port) == (answer.nameserver, answer.port):
            return server.address, server.port
    return None


async def _chunks(
    asker: _Asker,
    names: TorrentNames,
    head: Head,
    options: ResolveOptions,
) -> dict[int, TxtAnswer]:
    """Every chunk's answer by index, at most ``options.concurrency`` in flight;
    stops at the first error, and once the chunks hold more text than the head
    announces."""
    budget = _Budget(4 * -(-head.length // 3))
    found: dict[int, TxtAnswer] = {}

    def collect(index: int, answer: TxtAnswer | None) -> None:
        if answer is not None:
            budget.spend(sum(len(s) for strings in answer.strings for s in strings))
            found[index] = answer

    # Every chunk name is "<index>." before one parent: parse that once, not n times.
    parent = dnswire.qname(names.chunk_name(head.chunk_id, 0).partition(".")[2])
    questions = [
        (names.chunk_name(head.chunk_id, i), dnswire.child(str(i), parent)) for i in range(head.n)
    ]
    await fetch_chunks(
        questions,
        asker.answering,
        asker.txt,
        collect,
        options.concurrency,
        options.timeout,
        records.UDP_ANSWER_LIMIT,
    )
    return found


@dataclass
class _Budget:
    """How much chunk text may still arrive, so a hostile zone cannot fill memory."""

    left: int

    def spend(self, octets: int) -> None:
        self.left -= octets
        if self.left < 0:
            raise ChecksumMismatch("length (the chunks hold more than the head announces)")


def only_value(strings: tuple[tuple[bytes, ...], ...], what: str) -> str:
    """The one TXT record at a head or chunk name (its strings joined), as text."""
    if len(strings) != 1:
        raise RecordError(f"the {what} has {len(strings)} TXT records, not one")
    return b"".join(strings[0]).decode("utf-8", "replace")


def nameservers(texts: Sequence[str]) -> tuple[Nameserver, ...]:
    return tuple(Nameserver.from_text(t, "resolver") for t in texts)
