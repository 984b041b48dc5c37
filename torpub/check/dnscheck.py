"""The DNS part of ``torpub check``: a URL's head and chunks from one server at a time.

:mod:`torpub.client.resolve` answers "which torrent is this?" and hides the wire;
a check needs the wire itself: each answer's size on the wire, its TC bit, TTL, AD
bit and RRSIGs, and what each authoritative server says on its own (no recursion).
So this module sends one plain query per name, and leaves the checks of the format
(record format §4) to :func:`torpub.format.records.decode`, as the client does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from torpub.check.report import ServerKind
from torpub.client.resolve import Nameserver, only_value
from torpub.errors import RecordError
from torpub.format import bencode, records
from torpub.format.names import TorrentNames
from torpub.format.records import Head, Limits

_ATTEMPTS = 2


class _NoAnswer(Exception):
    """The server did not answer usefully (timeout, refused, SERVFAIL)."""


@dataclass(frozen=True)
class Answer:
    """One name's TXT records as one server answered them."""

    strings: tuple[tuple[bytes, ...], ...]  # each record's character-strings
    size: int  # octets on the wire (over TCP when UDP came back truncated)
    truncated: bool  # TC over UDP at 1232 octets
    ttl: int
    validated: bool  # AD
    signed: bool  # an RRSIG covering the TXT set came along


@dataclass(frozen=True)
class ServerRead:
    """What one server serves for one URL: the torrent, or why there is none."""

    server: Nameserver
    kind: ServerKind
    payload: bytes | None
    problem: str | None
    head: Answer | None
    chunks: tuple[Answer, ...]
    serial: int | None

    @property
    def answers(self) -> tuple[Answer, ...]:
        return ((self.head,) if self.head else ()) + self.chunks

    @property
    def info_hash(self) -> str | None:
        return bencode.info_hash(self.payload) if self.payload is not None else None


async def read_from(
    server: Nameserver,
    kind: ServerKind,
    names: TorrentNames,
    limits: Limits,
    timeout: float,
    gate: asyncio.Semaphore,
) -> ServerRead:
    """The URL's records at ``server``, as many queries in flight as ``gate`` allows
    (one gate per server, shared by every URL checked)."""

    async def ask(name: str) -> Answer | None:
        async with gate:
            return await _ask(server, kind, name, timeout)

    serial = await _serial(server, kind, names.host, timeout) if kind == "authoritative" else None
    head_answer: Answer | None = None
    found: list[Answer] = []
    try:
        head_answer = await ask(names.head_name)
        if head_answer is None:
            raise RecordError("nothing is published (no TXT record at the head name)")
        head = Head.from_text(only_value(head_answer.strings, "head"))
        limits.check(head)
        chunk_names = [names.chunk_name(head.chunk_id, i) for i in range(head.n)]
        answers = await asyncio.gather(*(ask(name) for name in chunk_names))
        found = [a for a in answers if a is not None]
        pieces = {
            i: only_value(a.strings, f"chunk {i}") for i, a in enumerate(answers) if a is not None
        }
        payload = records.decode(head, pieces, names)
    except (RecordError, _NoAnswer) as e:
        return ServerRead(server, kind, None, str(e), head_answer, tuple(found), serial)
    return ServerRead(server, kind, payload, None, head_answer, tuple(found), serial)


async def _ask(server: Nameserver, kind: ServerKind, name: str, timeout: float) -> Answer | None:
    """One TXT query as a validating resolver's client (RD, AD) or as a resolver
    asks an authoritative server (no RD, DO for the RRSIGs); None for NXDOMAIN/NODATA."""
    query = _query(name, dns.rdatatype.TXT, kind)
    wire = await _udp(query, server, timeout)
    response = _parse(query, wire, name)
    truncated = bool(response.flags & dns.flags.TC)
    size = len(wire)
    if truncated:
        response, size = await _tcp(query, server, timeout, name)
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return None
    if rcode != dns.rcode.NOERROR:
        raise _NoAnswer(
            f"{server.host}:{server.port} answered {dns.rcode.to_text(rcode)} for {name}"
        )
    qname = dns.name.from_text(name)
    txt = response.get_rrset(response.answer, qname, dns.rdataclass.IN, dns.rdatatype.TXT)
    if txt is None:
        return None
    sigs = response.get_rrset(
        response.answer, qname, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.TXT
    )
    strings = tuple(tuple(rdata.strings) for rdata in txt)
    validated = bool(response.flags & dns.flags.AD)
    return Answer(strings, size, truncated, txt.ttl, validated, sigs is not None)


async def _serial(server: Nameserver, kind: ServerKind, host: str, timeout: float) -> int | None:
    """The zone's SOA serial at an authoritative server: in the answer at the apex,
    in the authority section anywhere below it."""
    query = _query(host + ".", dns.rdatatype.SOA, kind)
    try:
        response = _parse(query, await _udp(query, server, timeout), host)
    except _NoAnswer:
        return None
    for rrset in (*response.answer, *response.authority):
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            return int(rrset[0].serial)
    return None


def _query(name: str, rdtype: dns.rdatatype.RdataType, kind: ServerKind) -> dns.message.Message:
    authoritative = kind == "authoritative"
    query = dns.message.make_query(
        name, rdtype, use_edns=0, payload=records.UDP_ANSWER_LIMIT, want_dnssec=authoritative
    )
    if authoritative:
        query.flags &= ~dns.flags.RD
    else:
        query.flags |= dns.flags.AD  # the resolver's verdict (RFC 6840 §5.7)
    return query


async def _udp(query: dns.message.Message, server: Nameserver, timeout: float) -> bytes:
    """The raw answer, so its size on the wire is known; tried twice."""
    wire = query.to_wire()
    last = "timed out"
    for _ in range(_ATTEMPTS):
        try:
            return await asyncio.wait_for(_exchange(wire, server), timeout)
        except TimeoutError:
            last = "timed out"
        except OSError as e:
            last = e.strerror or type(e).__name__
    raise _NoAnswer(
        f"{server.host}:{server.port} did not answer for {query.question[0].name}: {last}"
    )


async def _exchange(wire: bytes, server: Nameserver) -> bytes:
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bytes] = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _OneAnswer(wire[:2], answer), remote_addr=(server.host, server.port)
    )
    try:
        transport.sendto(wire)
        return await answer
    finally:
        transport.close()


class _OneAnswer(asyncio.DatagramProtocol):
    """The first datagram with the query's ID; the connected socket drops strangers'."""

    def __init__(self, query_id: bytes, answer: asyncio.Future[bytes]) -> None:
        self.query_id = query_id
        self.answer = answer

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data[:2] == self.query_id and not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def _tcp(
    query: dns.message.Message, server: Nameserver, timeout: float, name: str
) -> tuple[dns.message.Message, int]:
    try:
        response = await dns.asyncquery.tcp(query, server.host, timeout=timeout, port=server.port)
    except (OSError, dns.exception.DNSException) as e:
        raise _NoAnswer(
            f"{server.host}:{server.port} did not answer over TCP for {name}: {e}"
        ) from e
    return response, len(response.to_wire())


def _parse(query: dns.message.Message, wire: bytes, name: str) -> dns.message.Message:
    try:
        response = dns.message.from_wire(wire)
    except dns.exception.DNSException as e:
        raise _NoAnswer(f"an unreadable answer for {name}: {e}") from e
    if not query.is_response(response):
        raise _NoAnswer(f"an answer to another question than {name}")
    return response
