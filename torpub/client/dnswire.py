"""The two DNS messages a chunk fetch exchanges, built and read without objects.

dnspython's message layer costs about 0.25 ms of CPU to build a query and parse a
900-character TXT answer; 64 chunks then spend more than a 20 ms round trip in the
client alone (``benchmarks/resolve.py``). Chunk queries all have one shape, so this
module writes them with a template and reads only the plain answer they expect: one
TXT RRset at the name asked, nothing else in the answer section. Everything else
(truncation, a referral, CNAME, an error code, an odd encoding) reads as ``None``,
and the caller asks again through dnspython's resolver, which handles the general
case. Tests hold this codec to dnspython's on real named answers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import dns.flags
import dns.name
import dns.rdataclass
import dns.rdatatype

_HEADER = struct.Struct("!6H")
_RR = struct.Struct("!HHIH")

# Recursion desired, and AD to ask for the resolver's DNSSEC verdict (RFC 6840 §5.7).
_QUERY_FLAGS = int(dns.flags.RD | dns.flags.AD)
_TC = int(dns.flags.TC)
# The header bits of a response that is neither truncated nor an error: QR, and
# zero in TC, the opcode (a standard query) and the RCODE (NOERROR).
_PLAIN_MASK = int(dns.flags.QR) | _TC | 0x7800 | 0x000F
_PLAIN = int(dns.flags.QR)
_AD = int(dns.flags.AD)
_OPT = int(dns.rdatatype.OPT)
_TXT, _IN = int(dns.rdatatype.TXT), int(dns.rdataclass.IN)
_TYPE_CLASS = struct.pack("!HH", _TXT, _IN)


@dataclass(frozen=True)
class TxtAnswer:
    """The TXT records at one name: each record's character-strings, in order."""

    strings: tuple[tuple[bytes, ...], ...]
    ttl: int
    validated: bool  # AD set by the resolver


def qname(name: str) -> bytes:
    """``name`` in wire form, lower-cased: what a query carries and an answer echoes."""
    return dns.name.from_text(name).to_digestable()


def child(label: str, parent: bytes) -> bytes:
    """The wire name of ``label`` (lower-case letters, digits and hyphens) under
    ``parent``: one label added without parsing the whole name again."""
    return len(label).to_bytes(1, "big") + label.encode("ascii") + parent


def txt_query(query_id: int, wire_name: bytes, udp_size: int) -> bytes:
    """A TXT query for ``wire_name`` with EDNS0 (version 0, no DO) at ``udp_size``."""
    header = _HEADER.pack(query_id, _QUERY_FLAGS, 1, 0, 0, 1)
    opt = b"\0" + _RR.pack(_OPT, udp_size, 0, 0)
    return header + wire_name + _TYPE_CLASS + opt


def is_truncated(packet: bytes) -> bool:
    """Whether a response says its answer did not fit (TC): ask again over TCP."""
    return len(packet) >= _HEADER.size and bool(int.from_bytes(packet[2:4], "big") & _TC)


def read_txt_answer(packet: bytes, wire_name: bytes) -> TxtAnswer | None:
    """The TXT RRset of a plain NOERROR answer to a query for ``wire_name``; None for
    any other response, to be asked again the general way."""
    try:
        return _read(packet, wire_name)
    except (IndexError, ValueError, struct.error):
        return None


def _read(packet: bytes, wire_name: bytes) -> TxtAnswer | None:
    _, flags, questions, answers, _, _ = _HEADER.unpack_from(packet)
    if flags & _PLAIN_MASK != _PLAIN:
        return None
    if questions != 1 or answers == 0:
        return None
    name, at = _name(packet, _HEADER.size)
    if name != wire_name or packet[at : at + 4] != _TYPE_CLASS:
        return None
    at += 4
    records: list[tuple[bytes, ...]] = []
    ttl = 0xFFFFFFFF
    for _ in range(answers):
        owner, at = _name(packet, at)
        rtype, rclass, rttl, length = _RR.unpack_from(packet, at)
        at += _RR.size
        if owner != wire_name or rtype != _TXT or rclass != _IN:
            return None
        records.append(_strings(packet[at : at + length], length))
        at += length
        ttl = min(ttl, rttl)
    return TxtAnswer(tuple(records), ttl, bool(flags & _AD))


def _strings(rdata: bytes, length: int) -> tuple[bytes, ...]:
    if len(rdata) != length or length == 0:
        raise ValueError("TXT rdata cut short")
    strings = []
    at = 0
    while at < length:
        end = at + 1 + rdata[at]
        if end > length:
            raise ValueError("character-string runs past its record")
        strings.append(rdata[at + 1 : end])
        at = end
    return tuple(strings)


def _name(packet: bytes, at: int) -> tuple[bytes, int]:
    """The lower-cased wire form of the name at ``at`` (following compression
    pointers), and where the record continues after it."""
    labels = bytearray()
    resume = None
    for _ in range(128):  # more jumps than a 255-octet name can need: a pointer loop
        length = packet[at]
        if length >= 0xC0:
            resume = resume if resume is not None else at + 2
            at = ((length & 0x3F) << 8) | packet[at + 1]
            continue
        if length > 63:
            raise ValueError("unknown label type")
        labels += packet[at : at + 1 + length]
        if len(packet) < at + 1 + length or len(labels) > 255:
            raise ValueError("name cut short or too long")
        if length == 0:
            return bytes(labels).lower(), (resume if resume is not None else at + 1)
        at += 1 + length
    raise ValueError("compression pointer loop")
