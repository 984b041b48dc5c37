"""torpub.publish.zonefile: the marked block, the SOA serial and the origin, as pure text."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import subprocess
import tempfile
from pathlib import Path

import dns.rdatatype
import dns.zone
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torpub.errors import ZoneError
from torpub.format.names import names_for
from torpub.format.records import Encoding, Record, encode
from torpub.publish import zonefile

TODAY = dt.date(2026, 1, 2)
ZONE = "example.com."
ZONE_TEXT = """\
$TTL 3600
; the operator's part: every byte of it must survive
@   IN SOA ns1.example.com. hostmaster.example.com. (
        2024010101 ; serial (date-based)
        7200 3600 1209600 300 ) ; refresh retry expire minimum
    IN NS ns1.example.com.
ns1 IN A 192.0.2.1
note IN TXT "a ; comment-like" "(paren" ; and a comment
"""
RECORDS = (
    Record("a.example.com.", 300, 'v=1; "quoted" \\ back;slash'),
    Record("b.example.com.", 86400, "x" * 600),
)


def test_block_is_appended_after_every_byte_of_the_file() -> None:
    new = zonefile.with_block(ZONE_TEXT, RECORDS)
    assert new.startswith(ZONE_TEXT)
    assert new[len(ZONE_TEXT) :] == zonefile.render_block(RECORDS)


def test_file_without_final_line_break_gets_one_before_the_block() -> None:
    text = ZONE_TEXT.rstrip("\n")
    new = zonefile.with_block(text, RECORDS)
    assert new == text + "\n" + zonefile.render_block(RECORDS)
    assert zonefile.parse_block(_body(new), ZONE) == tuple(sorted(RECORDS))


def test_block_is_replaced_in_place_keeping_prefix_and_suffix() -> None:
    prefix = ZONE_TEXT + "; before \udcff latin-1 byte\n"
    suffix = 'after IN TXT "tail" ; no final newline'
    text = prefix + zonefile.render_block(RECORDS) + suffix
    other = [Record("c.example.com.", 60, "new")]
    new = zonefile.with_block(text, other)
    assert new == prefix + zonefile.render_block(other) + suffix
    assert zonefile.without_block(new) == prefix + suffix


def test_crlf_file_keeps_its_line_breaks() -> None:
    text = ZONE_TEXT.replace("\n", "\r\n")
    new = zonefile.with_block(text, RECORDS)
    assert new.startswith(text)
    assert "\n" not in new.replace("\r\n", "")
    assert zonefile.parse_block(_body(new), ZONE) == tuple(sorted(RECORDS))


def test_empty_block_keeps_its_markers() -> None:
    new = zonefile.with_block(ZONE_TEXT, [])
    assert new == ZONE_TEXT + zonefile.BEGIN + "\n" + zonefile.END + "\n"
    assert zonefile.parse_block(_body(new), ZONE) == ()


@pytest.mark.parametrize(
    "text",
    [
        f"{zonefile.BEGIN}\n{zonefile.BEGIN}\n{zonefile.END}\n",
        f"{zonefile.END}\n{zonefile.BEGIN}\n",
        f"{zonefile.BEGIN}\n",
        f"{zonefile.END}\n",
    ],
)
def test_broken_markers_are_refused(text: str) -> None:
    with pytest.raises(ZoneError, match="markers"):
        zonefile.find_block(ZONE_TEXT + text)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x.example.com. 60 IN A 192.0.2.1\n", "holds a A record"),
        ('x.example.net. 60 IN TXT "v"\n', "outside zone example.com."),
        ('x 60 IN TXT "v"\n', "holds x., outside zone"),  # hand-written relative name
        ('$TTL 60\nx.example.com. IN TXT "v"\n', "does not parse"),
        ('x.example.com. 60 IN TXT "unterminated\n', "does not parse"),
    ],
)
def test_a_block_torpub_would_not_write_back_faithfully_is_refused(body: str, message: str) -> None:
    # Each of these would otherwise be dropped or changed on the next write.
    with pytest.raises(ZoneError, match=re.escape(message)):
        zonefile.parse_block(body, ZONE)


def test_record_line_is_absolute_with_ttl_class_and_escapes() -> None:
    line = zonefile.record_line(Record("a.example.com.", 300, 'q"b\\s; ü\t'))
    assert line == 'a.example.com. 300 IN TXT "q\\"b\\\\s; \\195\\188\\009"'


def test_character_strings_cut_at_255_octets_between_characters() -> None:
    def strings(value: str) -> tuple[bytes, ...]:
        return Record("x.", 1, value).strings()

    assert strings("x" * 600) == (b"x" * 255, b"x" * 255, b"x" * 90)
    pieces = strings("é" * 200)  # 2 octets each: 255 would split one
    assert [len(p) for p in pieces] == [254, 146]
    assert all(p.decode() for p in pieces)
    assert strings("") == (b"",)


def test_block_groups_each_url_head_then_chunks_in_index_order() -> None:
    payload = b"d4:infod6:lengthi1e4:name1:x12:piece lengthi16384e6:pieces20:" + b"p" * 20 + b"ee"
    small = Encoding(chunk_size=8)  # a dozen chunks or more: index 10 must follow 9, not 1
    torrents = sorted(
        (encode(payload, names_for(f"https://dl.example.com/{p}"), small) for p in "ab"),
        key=lambda t: t.names.key,
    )
    assert all(len(t.chunks) > 10 for t in torrents)
    expected = [r.name for t in torrents for r in (t.head_record, *t.chunks)]
    shuffled = [r for t in reversed(torrents) for r in reversed(t.records)]
    lines = zonefile.render_block(shuffled).splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == expected
    assert lines[0] == zonefile.BEGIN
    assert lines[-1] == zonefile.END


# --- SOA serial ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (2026010203, 2026010204),  # today's: the next number
        (2025123105, 2026010200),  # an older day: today's first
        (2026010299, 2026010300),  # today's numbers used up: still higher
        (2030010100, 2030010101),  # a date in the future: count on
        (12345, 12346),  # not a date: count on
        (2026130100, 2026130101),  # date-shaped but month 13: count on
        (4294967295, 0),  # the top of 32 bits wraps (RFC 1982)
    ],
)
def test_next_serial(old: int, new: int) -> None:
    assert zonefile.next_serial(old, TODAY) == new
    assert zonefile.serial_gt(new, old)


def test_serial_arithmetic_follows_rfc_1982() -> None:
    assert zonefile.serial_gt(0, 4294967295)
    assert zonefile.serial_gt(2**31 - 1, 0)
    assert not zonefile.serial_gt(2**31, 0)  # undefined in RFC 1982: never "greater"
    assert not zonefile.serial_gt(5, 5)
    assert not zonefile.serial_gt(4294967295, 0)


def test_multi_line_soa_serial_is_raised_and_nothing_else_changes() -> None:
    trap = 'trap IN TXT "SOA a b 1 2 3 4 5 (" ; SOA x y 99 1 2 3 4\n'
    text = trap + ZONE_TEXT
    new, serial = zonefile.raise_serial(text, TODAY)
    assert serial == 2026010200
    assert new == text.replace("2024010101", "2026010200")


@pytest.mark.parametrize(
    "soa",
    [
        "example.com. 3600 IN SOA ns1 hm 77 1 2 3 4\n",
        "@ IN 3600 SOA ns1 hm 77 1 2 3 4\n",
        "@ soa ns1 hm (\n ; serial next\n 77\n 1 2 3 4 )\n",
        '@ IN SOA ns1 hm ( 77 ; "quote\n 1 2 3 4 )\n',
        "x IN A 192.0.2.1\n  IN SOA ns1 hm 77 1 2 3 4\n",
    ],
)
def test_serial_is_found_in_any_soa_layout(soa: str) -> None:
    text = "$TTL 60\n" + soa
    found = zonefile.find_soa(text)
    assert found.serial == 77
    assert text[found.start : found.end] == "77"
    assert zonefile.raise_serial(text, TODAY)[0] == text.replace(" 77", " 78")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@ IN A 192.0.2.1\n", "no SOA"),
        ("@ IN SOA ns1 hm x 1 2 3 4\n", "not a decimal"),
        ("@ IN SOA ns1 hm 4294967296 1 2 3 4\n", "32 bits"),
        ("@ IN SOA ns1 hm 1 2 3\n", "fewer than 7"),
    ],
)
def test_bad_soa_is_a_zone_error(text: str, message: str) -> None:
    with pytest.raises(ZoneError, match=message):
        zonefile.find_soa(text)


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("$ORIGIN Example.ORG.\n@ IN SOA ns1 hm 1 2 3 4 5\n", "example.org."),
        ("example.net. IN SOA ns1 hm 1 2 3 4 5\n", "example.net."),
        ("$ORIGIN org.\nexample IN SOA ns1 hm 1 2 3 4 5\n", "example.org."),
        ("$ORIGIN org.\n$ORIGIN example\n@ IN SOA ns1 hm 1 2 3 4 5\n", "example.org."),
        ("$ORIGIN other.\n; $ORIGIN wrong.\n@ 60 IN SOA ns1 hm 1 2 3 4 5\n", "other."),
        (ZONE_TEXT, None),
        ("example IN SOA ns1 hm 1 2 3 4 5\n", None),
    ],
)
def test_zone_origin(text: str, origin: str | None) -> None:
    assert zonefile.zone_origin(text) == origin


# --- round trips ----------------------------------------------------------------

_label = st.from_regex(r"\A[a-z0-9_]([a-z0-9_-]{0,14}[a-z0-9_])?\Z")
_names = st.lists(_label, min_size=1, max_size=3).map(lambda ls: ".".join(ls) + "." + ZONE)
_values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=700),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
)
# One TTL per name: an RRset has one TTL, so mixed ones would not come back as written.
_record_sets = st.dictionaries(
    _names,
    st.tuples(st.integers(0, 2**31 - 1), st.sets(_values, min_size=1, max_size=3)),
    max_size=6,
).map(lambda d: {Record(name, ttl, v) for name, (ttl, values) in d.items() for v in values})


@given(_record_sets)
@settings(max_examples=300)
def test_records_round_trip_through_the_block(records: set[Record]) -> None:
    text = zonefile.with_block(ZONE_TEXT, records)
    assert text.startswith(ZONE_TEXT)
    assert text.isascii()
    assert set(zonefile.parse_block(_body(text), ZONE)) == records


@given(_record_sets)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_named_checkzone_reads_the_block_as_written(checkzone: str, records: set[Record]) -> None:
    text, _ = zonefile.raise_serial(zonefile.with_block(ZONE_TEXT, records), TODAY)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "db"
        path.write_text(text)
        result = subprocess.run(
            [checkzone, "-D", "-o", "-", ZONE, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr + result.stdout
    dumped = dns.zone.from_text(result.stdout, origin=ZONE, relativize=False)
    loaded = {
        Record(name.to_text(), rds.ttl, b"".join(rd.strings).decode())
        for name, node in dumped.nodes.items()
        for rds in node.rdatasets
        if rds.rdtype == dns.rdatatype.TXT and name.to_text() != "note." + ZONE
        for rd in rds
    }
    assert loaded == records


def _body(text: str) -> str:
    block = zonefile.find_block(text)
    assert block is not None
    return block.body


# --- any text: parsed, or refused with a ZoneError ---------------------------------

# Zone-file syntax is made of few characters: draw mostly from them, so the fuzzer
# builds markers, quotes, parentheses, escapes and directives rather than noise.
_SYNTAX = st.sampled_from(
    [zonefile.BEGIN, zonefile.END, "\n", "\r\n", " ", "\t", '"', "\\", "(", ")", ";", "@",
     "$ORIGIN ", "$TTL ", "$INCLUDE ", "IN ", "TXT ", "SOA ", "A ", "3600 ", "1w2d ",
     "example.com.", "x._torrent.dl.example.com. ", "\\065", "\\999", "\x00", "é", "\udce9"]
)  # fmt: skip
_fuzz_text = st.one_of(
    st.lists(st.one_of(_SYNTAX, st.text(max_size=8)), max_size=40).map("".join),
    st.text(),
)


@given(_fuzz_text)
@settings(max_examples=1500)
def test_any_text_parses_or_is_a_zone_error(text: str) -> None:
    with contextlib.suppress(ZoneError):
        block = zonefile.find_block(text)
        if block is not None:
            assert text[block.start :].lstrip().startswith("; BEGIN torpub-managed records")
            assert block.body in text[block.start : block.end]
            outside = zonefile.without_block(text)
            assert outside == text[: block.start] + text[block.end :]
    with contextlib.suppress(ZoneError):
        origin = zonefile.zone_origin(text)
        assert origin is None or origin.endswith(".")
    with contextlib.suppress(ZoneError):
        raised, serial = zonefile.raise_serial(text, TODAY)
        assert zonefile.find_soa(raised).serial == serial
        assert serial == zonefile.next_serial(zonefile.find_soa(text).serial, TODAY)
    try:
        records = zonefile.parse_block(text, ZONE)
    except ZoneError:
        return
    # What parsed is written back as it was read.
    assert set(zonefile.parse_block(zonefile.render_block(records), ZONE)) == set(records)


@given(_fuzz_text, _record_sets)
@settings(max_examples=300)
def test_what_torpub_writes_into_any_file_reads_back(text: str, records: set[Record]) -> None:
    try:
        written = zonefile.with_block(text, records)
    except ZoneError:
        return  # the file's own markers are broken: refused, nothing written
    assert set(zonefile.parse_block(_body(written), ZONE)) == records
    assert zonefile.without_block(written).startswith(zonefile.without_block(text).rstrip("\n"))
