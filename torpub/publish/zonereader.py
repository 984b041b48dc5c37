"""torpub's block of a zone file → its TXT records, in time linear in the records.

The lines torpub writes (``record_line``: absolute lowercase name, TTL, ``IN
TXT``, quoted strings) are read by one regular expression. A block holding any
other line, edited by hand, is read whole by dnspython's own reader instead, so
both paths mean exactly what dnspython (and so named) reads.

Why not only ``dns.zonefile.read_rrsets`` (dnspython 2.x, up to 2.9 at least): its
reader checks each record against the node it joins (CNAME and other data),
asking the transaction for that node, and ``RRsetsReaderTransaction._get_node``
answers by scanning every rdataset read so far, comparing names one by one.
N records cost N²/2 name comparisons: 10,000 torpub records took minutes,
100,000 would take hours. Here the same tokenizer and record parser run over
a transaction that also indexes its rdatasets by name, so reading is linear.
"""

from __future__ import annotations

import re
from typing import Any

import dns.exception
import dns.name
import dns.node
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tokenizer
import dns.zonefile

from torpub.errors import RecordError, ZoneError
from torpub.format import txt
from torpub.format.names import MAX_NAME_OCTETS, canonical_name
from torpub.format.records import MAX_TTL, Record

_Key = tuple[dns.rdatatype.RdataType, dns.rdatatype.RdataType]


class _IndexedTransaction(dns.zonefile.RRsetsReaderTransaction):
    """The rdatasets read so far, also by name, for the reader's per-record checks."""

    def __init__(self, manager: Any, replacement: bool, read_only: bool) -> None:
        super().__init__(manager, replacement, read_only)  # type: ignore[no-untyped-call]
        self._by_name: dict[dns.name.Name, dict[_Key, dns.rdataset.Rdataset]] = {}

    def _get_node(self, name: dns.name.Name) -> dns.node.Node | None:
        held = self._by_name.get(name)
        if not held:
            return None
        node = dns.node.Node()  # type: ignore[no-untyped-call]
        node.rdatasets = list(held.values())
        return node

    def _name_exists(self, name: dns.name.Name) -> bool:
        return bool(self._by_name.get(name))

    def _put_rdataset(self, name: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> None:
        key = (rdataset.rdtype, rdataset.covers)
        self.rdatasets[(name, *key)] = rdataset
        self._by_name.setdefault(name, {})[key] = rdataset

    def _delete_name(self, name: dns.name.Name) -> None:
        for key in self._by_name.pop(name, {}):
            del self.rdatasets[(name, *key)]

    def _delete_rdataset(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, covers: Any
    ) -> None:
        self.rdatasets.pop((name, rdtype, covers), None)
        self._by_name.get(name, {}).pop((rdtype, covers), None)


class _IndexedManager(dns.zonefile.RRSetsReaderManager):
    def writer(self, replacement: bool = False) -> _IndexedTransaction:
        return _IndexedTransaction(self, True, False)


# A line exactly as torpub writes it: a lowercase absolute name of LDH and
# underscore labels, a TTL, IN TXT, and strings of printable ASCII with \DDD
# escapes for the rest; anything else takes dnspython's path.
# Runs of plain characters are taken whole (possessive ``++``): matching them one
# alternative per character made this regex a third of a 100,000-artifact sync.
_OWN_LINE = re.compile(
    r"([a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\.) ([0-9]{1,10}) IN TXT "
    r'("(?:[ !#-\[\]-~]++|\\[0-9]{3}|\\["\\])*+"(?: "(?:[ !#-\[\]-~]++|\\[0-9]{3}|\\["\\])*+")*+)'
)
_STRING = re.compile(r'"((?:[^"\\]++|\\.)*+)"')


class _NotOwn(Exception):
    """A line torpub would not have written: read the block the slow, exact way."""


def read_block(body: str, origin: str) -> list[Record]:
    """The TXT records in a block's body, unordered; ZoneError for anything else in it."""
    try:
        return _own_records(body, origin)
    except _NotOwn:
        return _dnspython_records(body, origin)


def _own_records(body: str, origin: str) -> list[Record]:
    zone = origin.lower()
    suffix = "." + zone
    ttls: dict[str, int] = {}
    values: dict[str, dict[str, None]] = {}  # an ordered set per name, as an RRset
    for line in body.split("\n"):
        line = line.rstrip("\r")
        match = _OWN_LINE.fullmatch(line)
        if match is None:
            if line.strip() and not line.lstrip().startswith(";"):
                raise _NotOwn
            continue
        name, ttl_text, strings = match.groups()
        ttl = int(ttl_text)
        if (
            len(name) >= MAX_NAME_OCTETS or ttl > MAX_TTL
        ):  # dnspython takes up to 2**32 - 1, DNS 2**31 - 1
            raise _NotOwn
        if name != zone and not name.endswith(suffix):
            raise _NotOwn  # dnspython, comparing names as DNS does, says where it is
        # An RRset has one TTL: dnspython (and named) keep the smallest given.
        ttls[name] = min(ttl, ttls.get(name, ttl))
        values.setdefault(name, {})[_value(strings)] = None
    return [Record(name, ttls[name], value) for name, held in values.items() for value in held]


def _value(strings: str) -> str:
    if "\\" not in strings:
        parts = [s.encode("ascii") for s in _STRING.findall(strings)]
    else:
        try:
            parts = [txt.unescape(s) for s in _STRING.findall(strings)]
        except RecordError:
            raise _NotOwn from None  # dnspython says why
    if any(len(part) > 255 for part in parts):
        raise _NotOwn  # dnspython says why
    return b"".join(parts).decode("utf-8", "surrogateescape")


def _dnspython_records(body: str, origin: str) -> list[Record]:
    zone = dns.name.from_text(origin)
    try:
        # Read against the root, where nothing is out of zone: a zone reader would
        # silently drop a foreign name, and the next write would lose its line.
        rrsets = read_rrsets(body)
    except (dns.exception.DNSException, ValueError) as e:
        raise ZoneError(f"torpub's block in the zone file does not parse: {e}") from e
    records = []
    for rrset in rrsets:
        if rrset.rdtype != dns.rdatatype.TXT or rrset.rdclass != dns.rdataclass.IN:
            kind = dns.rdatatype.to_text(rrset.rdtype)
            raise ZoneError(
                f"torpub's block holds a {kind} record at {rrset.name}; only TXT belongs"
            )
        if not rrset.name.is_subdomain(zone):
            raise _outside(rrset.name.to_text(), origin)
        owner = canonical_name(rrset.name)
        for rdata in rrset:
            value = b"".join(rdata.strings).decode("utf-8", "surrogateescape")
            records.append(Record(owner, rrset.ttl, value))
    return records


def _outside(name: str, origin: str) -> ZoneError:
    return ZoneError(
        f"torpub's block holds {name}, outside zone {origin} (names in the block are absolute)"
    )


def read_rrsets(text: str) -> list[dns.rrset.RRset]:
    """The RRsets of zone-file lines with absolute owners, the class optional (IN):
    what ``dns.zonefile.read_rrsets(text, rdclass=None, relativize=False)`` returns,
    in linear time. Raises what that raises on bad input."""
    manager = _IndexedManager(dns.name.root, False, dns.rdataclass.IN)
    with manager.writer(True) as txn:
        reader = dns.zonefile.Reader(
            dns.tokenizer.Tokenizer(text, "<input>"),
            dns.rdataclass.IN,
            txn,
            allow_directives=False,
        )
        reader.read()
    return manager.rrsets
