"""torpub.publish.zonereader: the block read in linear time, meaning what dnspython reads."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import dns.name
import dns.zonefile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torpub.format.records import Record
from torpub.publish import zonefile, zonereader

ZONE = "example.com."
SOA = "@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300\n"
NS = "@ 3600 IN NS ns1.example.com.\nns1 3600 IN A 192.0.2.1\n"
# Lines torpub would not write, each read by dnspython's path: mixed TTLs in
# one RRset, a repeated record, an upper-case name, a class left out, a
# multi-line entry, an owner carried over from the line before, escapes.
HAND_EDITED = """\
a.example.com. 300 IN TXT "one"
a.example.com. 60 IN TXT "two"
a.example.com. 300 IN TXT "one"
B.Example.COM. 300 TXT "upper" ; a comment
c.example.com. 300 IN TXT ( "multi"
    "line" )
    300 IN TXT "same owner as c"
d.example.com. 300 IN TXT "\\255\\000" "\\"q\\"" "semi;colon"
"""


def _dnspython(body: str) -> set[Record]:
    """What dnspython's own (quadratic) reader makes of ``body``."""
    return {
        Record(rrset.name.canonicalize().to_text(), rrset.ttl, value)
        for rrset in dns.zonefile.read_rrsets(body, rdclass=None, relativize=False)
        for value in (b"".join(rd.strings).decode("utf-8", "surrogateescape") for rd in rrset)
    }


_label = st.from_regex(r"\A[a-z0-9_]([a-z0-9_-]{0,14}[a-z0-9_])?\Z")
_names = st.lists(_label, min_size=1, max_size=3).map(lambda ls: ".".join(ls) + "." + ZONE)
_values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=700),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
)
_records = st.sets(st.builds(Record, _names, st.integers(0, 2**31 - 1), _values), max_size=8)


@given(_records)
@settings(max_examples=300)
def test_own_lines_read_as_dnspython_reads_them(records: set[Record]) -> None:
    # Mixed TTLs per name included: both readers keep an RRset's smallest.
    body = zonefile.find_block(zonefile.with_block("", records))
    assert body is not None
    assert set(zonereader.read_block(body.body, ZONE)) == _dnspython(body.body)


def test_hand_edited_lines_read_as_dnspython_reads_them(checkzone: str, tmp_path: Path) -> None:
    # A zone named loads: the block means what named makes of it.
    zone = tmp_path / "db"
    zone.write_text(SOA + NS + HAND_EDITED)
    loaded = subprocess.run([checkzone, ZONE, str(zone)], capture_output=True, check=False)
    assert loaded.returncode == 0, loaded.stdout
    records = zonereader.read_block(HAND_EDITED, ZONE)
    assert set(records) == _dnspython(HAND_EDITED)
    assert Record("a.example.com.", 60, "one") in records
    assert Record("c.example.com.", 300, "same owner as c") in records


def test_one_hand_edited_line_sends_the_whole_block_to_dnspython() -> None:
    # The TTL-less line takes the TTL of the torpub line before it.
    body = 'a.example.com. 120 IN TXT "x"\nb.example.com. IN TXT "y"\n'
    assert set(zonereader.read_block(body, ZONE)) == {
        Record("a.example.com.", 120, "x"),
        Record("b.example.com.", 120, "y"),
    }


@pytest.fixture
def name_comparisons(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    count = [0]
    compare = dns.name.Name.__eq__

    def counted(self: dns.name.Name, other: object) -> bool:
        count[0] += 1
        return compare(self, other)

    monkeypatch.setattr(dns.name.Name, "__eq__", counted)
    yield count


@pytest.mark.parametrize("n", [500, 2000])
def test_reading_costs_name_comparisons_linear_in_the_records(
    name_comparisons: list[int], n: int
) -> None:
    # Upper-case names send the block through dnspython's reader; its own
    # transaction compares each new record with every one before (n²/2).
    body = "".join(f'K{i}.EXAMPLE.COM. 300 IN TXT "v{i}"\n' for i in range(n))
    assert len(zonereader.read_block(body, ZONE)) == n
    assert name_comparisons[0] <= 4 * n
