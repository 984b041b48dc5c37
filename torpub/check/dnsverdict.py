"""Pure verdicts on what the DNS servers answered for one URL: the torrent, answer
sizes and truncation, TTLs, DNSSEC, and which authoritative server lags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torpub.check.dnscheck import ServerRead
from torpub.check.report import DnsResult, DnsServerResult, reason_of
from torpub.format.records import UDP_ANSWER_LIMIT


@dataclass(frozen=True)
class DnsExpectation:
    info_hash: str | None  # None: nothing to compare with (no server served a torrent)
    head_ttl: int | None = None  # what the authoritative servers should serve, when known
    chunk_ttl: int | None = None
    require_dnssec: bool = False


def dns_result(
    reads: Sequence[ServerRead], expected: DnsExpectation, problems: Sequence[str] = ()
) -> DnsResult:
    newest = max((r.serial for r in reads if r.serial is not None), default=None)
    servers = tuple(server_result(r, expected, newest) for r in reads)
    found = list(problems)
    if not reads:
        found.append("no DNS server to ask")
    found += [f"{s.kind} {s.server}: {s.reason}" for s in servers if not s.ok]
    return DnsResult(not found, reason_of(found), servers)


def server_result(
    read: ServerRead, expected: DnsExpectation, newest_serial: int | None = None
) -> DnsServerResult:
    problems = []
    if read.problem:
        problems.append(read.problem)
    elif expected.info_hash is not None and read.info_hash != expected.info_hash:
        problems.append(
            f"serves another torrent (ih {read.info_hash}) than expected (ih {expected.info_hash})"
        )
    lagging = read.serial is not None and newest_serial is not None and read.serial < newest_serial
    if problems and lagging:
        problems.append(
            f"lags behind: zone serial {read.serial}, another server has {newest_serial}"
        )
    answers = read.answers
    largest = max((a.size for a in answers), default=0)
    truncated = sum(a.truncated for a in answers)
    if truncated:
        problems.append(
            f"{truncated} of {len(answers)} answers exceed {UDP_ANSWER_LIMIT} octets and come back "
            f"truncated over UDP (largest {largest} octets)"
        )
    head_ttl = read.head.ttl if read.head is not None else None
    chunk_ttl = min((a.ttl for a in read.chunks), default=None)
    authoritative = read.kind == "authoritative"
    if authoritative:
        problems += _ttl_problems(head_ttl, chunk_ttl, expected)
    validated = None if authoritative else bool(answers) and all(a.validated for a in answers)
    signed = bool(answers) and all(a.signed for a in answers) if authoritative else None
    if expected.require_dnssec and answers:
        if validated is False:
            problems.append("answers are not DNSSEC-validated (no AD bit)")
        if signed is False:
            problems.append("answers come without RRSIG records")
    return DnsServerResult(
        server=str(read.server),
        kind=read.kind,
        ok=not problems,
        reason=reason_of(problems),
        info_hash=read.info_hash,
        queries=len(answers) + (1 if read.head is None else 0),
        largest_answer=largest,
        truncated=truncated,
        head_ttl=head_ttl,
        chunk_ttl=chunk_ttl,
        validated=validated,
        signed=signed,
        serial=read.serial,
    )


def _ttl_problems(head: int | None, chunk: int | None, expected: DnsExpectation) -> list[str]:
    """At an authoritative server a TTL is what was published (a resolver's counts down)."""
    problems = []
    if head is not None and expected.head_ttl is not None and head != expected.head_ttl:
        problems.append(f"head TTL {head} s, the settings say {expected.head_ttl} s")
    if chunk is not None and expected.chunk_ttl is not None and chunk != expected.chunk_ttl:
        problems.append(f"chunk TTL {chunk} s, the settings say {expected.chunk_ttl} s")
    return problems
