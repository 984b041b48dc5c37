"""Run every check for every URL, concurrently, bounded per DNS server and per HTTP
host; the result is one immutable :class:`Report`. Writes nothing anywhere."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver
import httpx

from torpub.check.dnscheck import ServerRead, read_from
from torpub.check.dnsverdict import DnsExpectation, dns_result
from torpub.check.origin import check_origin
from torpub.check.pieces import Pieces, pieces_of, sample
from torpub.check.report import Report, ServerKind, UrlReport, WebSeedResult
from torpub.check.web import HostGates, make_client
from torpub.check.webseeds import check_seed
from torpub.client.resolve import Nameserver, ResolveOptions, make_resolver
from torpub.errors import ConfigError, RecordError
from torpub.format import bencode
from torpub.format.names import names_for
from torpub.format.records import Limits

if TYPE_CHECKING:
    from torpub.publish.build import Built

# Told (done, total) as each part of each URL finishes: the CLI draws the bar.
Progress = Callable[[int, int], None]
PARTS_PER_URL = 3  # DNS, web seeds, origin


@dataclass(frozen=True)
class Expected:
    """One URL to check, and the torrent it should have (None: whatever DNS serves)."""

    url: str
    torrent: bytes | None = None
    head_ttl: int | None = None
    chunk_ttl: int | None = None


@dataclass(frozen=True)
class CheckOptions:
    resolvers: tuple[Nameserver, ...] = ()  # none: the system's (/etc/resolv.conf)
    authoritative: tuple[Nameserver, ...] = ()  # none: each zone's NS set, via the resolvers
    sample: int = 3
    full: bool = False
    timeout: float = 5.0
    per_host: int = 4  # HTTP requests in flight per host
    per_server: int = 16  # DNS queries in flight per server
    require_dnssec: bool = False
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.sample < 0:
            raise ConfigError(f"--sample {self.sample} is negative")
        if self.timeout <= 0:
            raise ConfigError(f"--timeout {self.timeout} is not positive")


def check(
    targets: Sequence[Expected], options: CheckOptions, progress: Progress | None = None
) -> Report:
    """Check every target (blocking)."""
    return asyncio.run(check_async(targets, options, progress))


async def check_async(
    targets: Sequence[Expected], options: CheckOptions, progress: Progress | None = None
) -> Report:
    resolvers = options.resolvers or system_resolvers()
    total = len(targets) * PARTS_PER_URL
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    run = _Run(options, resolvers, {}, HostGates(options.per_host), tick)
    async with make_client(options.timeout) as client:
        reports = await asyncio.gather(*(run.url(client, t) for t in targets))
    return Report(tuple(reports))


def system_resolvers() -> tuple[Nameserver, ...]:
    try:
        found = dns.resolver.Resolver().nameservers
    except dns.resolver.NoResolverConfiguration as e:
        raise ConfigError(f"no system resolver is configured ({e}); use --resolver") from e
    return tuple(Nameserver(str(ns)) for ns in found)


@dataclass(frozen=True)
class _Run:
    options: CheckOptions
    resolvers: tuple[Nameserver, ...]
    dns_gates: dict[Nameserver, asyncio.Semaphore]
    http_gates: HostGates
    tick: Callable[[], None]

    async def url(self, client: httpx.AsyncClient, target: Expected) -> UrlReport:
        reads, problems = await self._dns(target.url)
        torrent = target.torrent or next((r.payload for r in reads if r.payload), None)
        expected = DnsExpectation(
            bencode.info_hash(torrent) if torrent else None,
            target.head_ttl,
            target.chunk_ttl,
            self.options.require_dnssec,
        )
        dns_part = dns_result(reads, expected, problems)
        self.tick()
        pieces, seeds = await self._web_seeds(client, target.url, torrent)
        self.tick()
        origin = await check_origin(client, self.http_gates, target.url, torrent, pieces)
        self.tick()
        return UrlReport(target.url, expected.info_hash, dns_part, seeds, origin)

    async def _dns(self, url: str) -> tuple[list[ServerRead], list[str]]:
        names = names_for(url)
        problems = []
        authoritative = self.options.authoritative
        if not authoritative:
            try:
                authoritative = await find_authoritative(
                    names.host, self.resolvers, self.options.timeout
                )
            except LookupError as e:
                problems.append(str(e))
        servers: list[tuple[Nameserver, ServerKind]] = [(s, "resolver") for s in self.resolvers]
        servers += [(s, "authoritative") for s in authoritative]
        reads = await asyncio.gather(
            *(
                read_from(
                    server,
                    kind,
                    names,
                    self.options.limits,
                    self.options.timeout,
                    self._gate(server),
                )
                for server, kind in servers
            )
        )
        return list(reads), problems

    def _gate(self, server: Nameserver) -> asyncio.Semaphore:
        if server not in self.dns_gates:
            self.dns_gates[server] = asyncio.Semaphore(self.options.per_server)
        return self.dns_gates[server]

    async def _web_seeds(
        self, client: httpx.AsyncClient, url: str, torrent: bytes | None
    ) -> tuple[Pieces | None, tuple[WebSeedResult, ...]]:
        if torrent is None:
            return None, ()
        try:
            pieces = pieces_of(torrent)
        except RecordError as e:
            return None, (WebSeedResult(url, False, str(e), None, None, None, (), ()),)
        indices = sample(pieces, self.options.sample, self.options.full)
        seeds = await asyncio.gather(
            *(
                check_seed(client, self.http_gates, seed, pieces, indices)
                for seed in pieces.web_seeds
            )
        )
        return pieces, tuple(seeds)


async def find_authoritative(
    host: str, resolvers: tuple[Nameserver, ...], timeout: float
) -> tuple[Nameserver, ...]:
    """The addresses of the NS set of the zone holding ``host``, asked of the resolvers."""
    resolver = make_resolver(ResolveOptions(nameservers=resolvers, timeout=timeout))
    try:
        zone = await dns.asyncresolver.zone_for_name(host, resolver=resolver)
        ns_set = await resolver.resolve(zone, dns.rdatatype.NS)
        found: list[Nameserver] = []
        for ns in ns_set:
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                answer = await resolver.resolve(ns.target, rdtype, raise_on_no_answer=False)
                found += [Nameserver(a.address) for a in answer.rrset or ()]
    except dns.exception.DNSException as e:
        raise LookupError(f"cannot find the authoritative servers of {host}: {e}") from e
    if not found:
        raise LookupError(f"the authoritative servers of {host} have no address")
    return tuple(dict.fromkeys(found))


def expected_from(built: Sequence[Built], head_ttl: int, chunk_ttl: int) -> list[Expected]:
    """What a build produced, as targets: the torrent each URL should serve, and the
    TTLs its records were published with."""
    return [Expected(b.artifact.url, b.torrent, head_ttl, chunk_ttl) for b in built]
