"""The chunk-query codec, held to dnspython: the same query bytes, the same reading
of a real named's answers, and None for everything it leaves to the resolver."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from client_servers import ZONE, append_records

from torpub.client import dnswire
from torpub.client.dnswire import TxtAnswer, child, is_truncated, qname, read_txt_answer, txt_query
from torpub.format.records import Record

if TYPE_CHECKING:
    from conftest import StartNamed

NAME = "7.0123456789abcdef.438296e855494825557824b691a09d06a86a21f1._torrent.dl.example.com."


def dnspython_query(name: str, query_id: int) -> dns.message.QueryMessage:
    query = dns.message.make_query(name, "TXT", use_edns=0, payload=1232)
    query.flags = dns.flags.RD | dns.flags.AD
    query.id = query_id
    return query


def response(name: str, *texts: str, flags: int = 0, rcode: int = 0) -> dns.message.Message:
    """An answer to NAME's query as dnspython writes one (compressing names)."""
    answer = dns.message.make_response(dnspython_query(name, 4242))
    answer.flags |= flags
    answer.set_rcode(dns.rcode.Rcode(rcode))
    if texts:
        answer.answer.append(dns.rrset.from_text(name, 300, "IN", "TXT", *texts))
    return answer


def wire(message: dns.message.Message) -> bytes:
    data = message.to_wire()
    assert data is not None
    return data


def test_the_query_is_the_one_dnspython_writes() -> None:
    for query_id in (0, 1, 4242, 65535):
        assert txt_query(query_id, qname(NAME), 1232) == wire(dnspython_query(NAME, query_id))


def test_a_child_label_is_the_name_dnspython_parses() -> None:
    parent = NAME.partition(".")[2]
    assert child("7", qname(parent)) == qname(NAME)
    assert qname(NAME.upper()) == qname(NAME)


def test_a_plain_answer_reads_as_dnspython_reads_it() -> None:
    long = '"' + "A" * 255 + '" "' + "B" * 100 + '"'
    message = response(NAME, long, '"second"', flags=dns.flags.AD)
    answer = read_txt_answer(wire(message), qname(NAME))
    assert answer is not None and (answer.ttl, answer.validated) == (300, True)
    # An RRset has no order: the same records, in whatever order the wire holds them.
    assert sorted(answer.strings) == sorted(tuple(r.strings) for r in message.answer[0])
    assert read_txt_answer(wire(response(NAME, '"x"')), qname(NAME)) == TxtAnswer(
        ((b"x",),), 300, validated=False
    )


def test_the_answer_name_may_differ_in_case() -> None:
    """Resolvers may echo a 0x20-mixed name; DNS names compare without case."""
    message = response(NAME.upper(), '"x"')
    assert read_txt_answer(wire(message), qname(NAME)) is not None


@pytest.mark.parametrize(
    ("why", "packet"),
    [
        ("truncated", wire(response(NAME, '"x"', flags=dns.flags.TC))),
        ("NXDOMAIN", wire(response(NAME, rcode=dns.rcode.NXDOMAIN))),
        ("SERVFAIL", wire(response(NAME, rcode=dns.rcode.SERVFAIL))),
        ("NODATA", wire(response(NAME))),
        ("another question", wire(response("other.example.com.", '"x"'))),
        ("a query, not a response", wire(dnspython_query(NAME, 4242))),
        ("cut short", wire(response(NAME, '"' + "x" * 200 + '"'))[:-20]),
        ("not DNS", b"\x00\x01garbage"),
    ],
)
def test_anything_but_a_plain_answer_is_left_to_the_resolver(why: str, packet: bytes) -> None:
    assert read_txt_answer(packet, qname(NAME)) is None, why


def test_a_cname_is_left_to_the_resolver() -> None:
    message = response(NAME)
    message.answer.append(dns.rrset.from_text(NAME, 300, "IN", "CNAME", "elsewhere.example.com."))
    message.answer.append(dns.rrset.from_text("elsewhere.example.com.", 300, "IN", "TXT", '"x"'))
    assert read_txt_answer(wire(message), qname(NAME)) is None


def test_truncation_is_told_apart() -> None:
    assert is_truncated(wire(response(NAME, '"x"', flags=dns.flags.TC)))
    assert not is_truncated(wire(response(NAME, '"x"')))
    assert not is_truncated(b"\x02")


def test_a_compression_loop_is_refused() -> None:
    packet = bytearray(wire(response(NAME, '"x"')))
    packet[12:14] = b"\xc0\x0c"  # the question's name points at itself
    with pytest.raises(ValueError, match="loop"):
        dnswire._name(bytes(packet), 12)
    assert read_txt_answer(bytes(packet), qname(NAME)) is None


def test_named_answers_read_as_dnspython_reads_them(named: StartNamed, zone_file: Path) -> None:
    """A real named's answers, with its own compression, across record sizes."""
    values = {f"{size}.t.{ZONE}": "QUFB" * size for size in (1, 63, 64, 200, 280)}
    append_records(zone_file, [Record(name, 60, value) for name, value in values.items()])
    server = named(ZONE, zone_file)
    for query_id, name in enumerate(values, start=100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(2)
            udp.sendto(txt_query(query_id, qname(name), 1232), ("127.0.0.1", server.port))
            packet = udp.recv(65535)
        expected = dns.message.from_wire(packet)
        assert expected.id == query_id
        rrset = expected.find_rrset(expected.answer, dns.name.from_text(name), 1, 16)
        answer = read_txt_answer(packet, qname(name))
        assert answer == TxtAnswer(tuple(tuple(r.strings) for r in rrset), rrset.ttl, False)
        assert b"".join(answer.strings[0]).decode() == values[name]
