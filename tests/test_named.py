"""What a resolver gets from a real named serving a zone that torpub wrote:
every head and chunk fits one 1232-octet UDP answer and reassembles the torrent."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from torpub.format.names import names_for
from torpub.format.records import DEFAULT_CHUNK_SIZE, Head, Record, decode, encode
from torpub.provider import Target
from torpub.publish.plan import build_plan
from torpub_providers.bind import BindProvider

if TYPE_CHECKING:
    from conftest import NamedServer, StartNamed

ZONE = "example.com."
HOST = "downloads-mirror-eu-west-01.cdn.example.com"  # 43 characters
EDNS_PAYLOAD = 1232
HEADER, QUESTION_FIXED, RR_FIXED, OPT_RR = 12, 4, 10, 11
SIZES = (50_000, 1 << 20, 6 << 20)  # 1, 3 and 12 chunks at C=900


def test_every_answer_fits_1232_octets_and_reassembles_the_torrent(
    zone_file: Path,
    make_torrent: Callable[..., bytes],
    named: StartNamed,
) -> None:
    payloads = {
        f"https://{HOST}/pub/file-{size}.iso": make_torrent(size, seed=size) for size in SIZES
    }
    desired = [encode(payload, names_for(url)) for url, payload in payloads.items()]
    provider = BindProvider(
        Target("bind", ZONE, {"zone_file": str(zone_file)}), today=lambda: dt.date(2026, 1, 2)
    )
    provider.apply(build_plan(ZONE, desired, provider.records()))
    server = named(ZONE, zone_file)
    assert server.serial() == 2026010200
    assert len({len(d.chunks) for d in desired}) == 3

    report = []
    for want in desired:
        for recursion_desired in (False, True):
            head_text = _answer(server, want.head_record, recursion_desired, report)
            head = Head.from_text(head_text)
            assert head == want.head
            pieces = {
                i: _answer(server, chunk, recursion_desired, report)
                for i, chunk in enumerate(want.chunks)
            }
            assert decode(head, pieces, want.names) == payloads[want.names.url]
    print("\n".join(["", "name  RD  answer-octets  floor  TXT-octets", *report]))
    biggest_chunk = max(len(r.value) for d in desired for r in d.chunks)
    assert biggest_chunk == DEFAULT_CHUNK_SIZE


def _answer(server: NamedServer, record: Record, recursion_desired: bool, report: list[str]) -> str:
    """Query one record as a resolver would and check the answer's size."""
    response, size = server.query(
        record.name, payload=EDNS_PAYLOAD, recursion_desired=recursion_desired
    )
    assert not response.flags & dns.flags.TC
    assert response.flags & dns.flags.AA
    assert size <= EDNS_PAYLOAD
    (rrset,) = response.answer
    assert rrset.rdtype == dns.rdatatype.TXT and len(rrset) == 1
    strings = rrset[0].strings
    value = b"".join(strings).decode()
    assert value == record.value

    floor = answer_floor(record.name, strings)
    # The answer is header, question, the TXT record and OPT, plus whatever the
    # server adds in the authority and additional sections (NS and glue when RD=0),
    # which named compresses less than it could.
    low, high = extra_octets(response)
    assert floor + low <= size <= floor + high
    if recursion_desired:
        assert size == floor  # named's default minimal-responses no-auth-recursive
    rdata_octets = sum(len(s) + 1 for s in strings)
    assert rdata_octets == len(record.value) + -(-len(record.value) // 255)
    report.append(f"{record.name[:24]}…  {int(recursion_desired)}  {size}  {floor}  {rdata_octets}")
    return value


def extra_octets(response: dns.message.Message) -> tuple[int, int]:
    """What the authority and additional sections (OPT aside) add on the wire:
    fully compressed, and not compressed at all."""
    bare = dns.message.from_wire(response.to_wire())
    bare.authority, bare.additional = [], []
    compressed = len(response.to_wire()) - len(bare.to_wire())
    plain = 0
    for rrset in (*response.authority, *response.additional):
        wire = io.BytesIO()
        rrset.to_wire(wire)
        plain += len(wire.getvalue())
    return compressed, plain


def answer_floor(name: str, strings: tuple[bytes, ...]) -> int:
    """Octets of a response holding just the question, one TXT answer (its owner
    compressed to a 2-octet pointer) and the OPT record."""
    qname = len(dns.name.from_text(name).to_wire())
    rdata = sum(len(s) + 1 for s in strings)
    return HEADER + qname + QUESTION_FIXED + 2 + RR_FIXED + rdata + OPT_RR


@pytest.mark.parametrize(("host", "length"), [("a.example", 10), (HOST, 900), (HOST, 1000)])
def test_the_floor_matches_a_message_dnspython_builds(host: str, length: int) -> None:
    name = f"0.0123456789abcdef.{'a' * 40}._torrent.{host}."
    record = Record(name, 60, "x" * length)
    query = dns.message.make_query(name, "TXT", use_edns=0, payload=EDNS_PAYLOAD)
    response = dns.message.make_response(query)
    rrset = response.find_rrset(
        response.answer, query.question[0].name, dns.rdataclass.IN, dns.rdatatype.TXT, create=True
    )
    text = " ".join(f'"{s}"' for s in _cut(record.value))
    rrset.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, text), 60)
    strings = tuple(s.encode() for s in _cut(record.value))
    assert len(response.to_wire()) == answer_floor(name, strings)


def _cut(value: str) -> list[str]:
    return [value[i : i + 255] for i in range(0, len(value), 255)]


def _big_ns_zone(path: Path, count: int) -> Path:
    """A zone with ``count`` name servers, each with A and AAAA glue."""
    servers = [f"ns{i}.a-rather-long-name-server-label.{ZONE}" for i in range(count)]
    lines = ["$TTL 3600", f"@ IN SOA {servers[0]} hostmaster.{ZONE} 1 7200 3600 1209600 300"]
    lines += [f"@ IN NS {ns}" for ns in servers]
    lines += [f"{ns} IN A 192.0.2.{i}\n{ns} IN AAAA 2001:db8::{i}" for i, ns in enumerate(servers)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("options", "truncated"),
    [
        # named's default (minimal-responses no-auth-recursive) puts the whole NS set
        # in the authority section of an RD=0 answer; 8 long NS names (~330 octets)
        # beside a full 900-character chunk do not fit 1232 octets, and rather than
        # drop the NS set named truncates: the resolver must retry over TCP.
        ("", True),
        ("minimal-responses no-auth;", False),
    ],
)
def test_a_big_ns_set_and_minimal_responses(
    tmp_path: Path,
    make_torrent: Callable[..., bytes],
    named: StartNamed,
    options: str,
    truncated: bool,
) -> None:
    zone_file = _big_ns_zone(tmp_path / "db.big-ns", 8)
    want = encode(make_torrent(1 << 20), names_for(f"https://{HOST}/pub/big.iso"))
    provider = BindProvider(Target("bind", ZONE, {"zone_file": str(zone_file)}))
    provider.apply(build_plan(ZONE, [want], provider.records()))
    server = named(ZONE, zone_file, options)
    chunk = want.chunks[0]
    response, size = server.query(chunk.name, payload=EDNS_PAYLOAD, recursion_desired=False)
    assert size <= EDNS_PAYLOAD
    assert bool(response.flags & dns.flags.TC) is truncated
    if truncated:
        assert not response.answer
        response, size = server.query(chunk.name, tcp=True)
        assert size > EDNS_PAYLOAD
    (rrset,) = response.answer
    assert b"".join(rrset[0].strings).decode() == chunk.value
