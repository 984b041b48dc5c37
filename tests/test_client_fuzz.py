"""Property-based: whatever bytes DNS, an origin or a torrent hold, the client's
decoders either decode them or raise a TorpubError, never anything else."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torpub.client import dnswire, output
from torpub.errors import DownloadError, RecordError
from torpub.format import bencode, records
from torpub.format.filename import unsafe_reason
from torpub.format.records import Head
from torpub.format.torrentinfo import single_file, summarise

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAME = dnswire.qname("0.0123456789abcdef.438296e855494825557824b691a09d06a86a21f1._torrent.x.")


def encode(value: Any) -> bytes:
    """Bencode, for building hostile torrents (keys sorted, as the format asks)."""
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(encode(v) for v in value) + b"e"
    items = sorted(value.items())
    return b"d" + b"".join(encode(k) + encode(v) for k, v in items) + b"e"


values = st.recursive(
    st.integers(-(10**20) + 1, 10**20 - 1) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.binary(max_size=12), inner),
    max_leaves=20,
)
# Torrent-shaped dictionaries with fields of any type: the type confusion a hostile
# publisher tries.
FIELDS = [b"name", b"length", b"piece length", b"pieces", b"files", b"attr", b"url-list"]
torrents = st.fixed_dictionaries(
    {b"info": st.dictionaries(st.sampled_from(FIELDS), values) | values},
    optional={b"url-list": values, b"announce": values, b"announce-list": values},
)


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_decode_as_bencode_or_raise_a_record_error(data: bytes) -> None:
    with contextlib.suppress(RecordError):
        bencode.decode(data)


@FUZZ
@given(values)
def test_bencode_of_any_value_decodes_to_it(value: Any) -> None:
    assert bencode.decode(encode(value)) == value


@FUZZ
@given(torrents)
def test_a_torrent_with_fields_of_any_type_is_summarised_or_refused(meta: dict[bytes, Any]) -> None:
    torrent = encode(meta)
    for read in (summarise, single_file):
        with contextlib.suppress(RecordError):
            read(torrent)


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    for depth in (66, 10_000, 1_000_000):
        for nested in (b"l" * depth + b"e" * depth, b"d1:a" * depth + b"i0e" + b"e" * depth):
            with pytest.raises(RecordError, match="nested too deeply"):
                bencode.decode(nested)


@FUZZ
@given(st.text(max_size=200))
def test_any_head_text_parses_or_raises_a_record_error(text: str) -> None:
    with contextlib.suppress(RecordError):
        Head.from_text(text)


@FUZZ
@given(st.dictionaries(st.integers(0, 5), st.text(max_size=40)), st.binary(max_size=200))
def test_any_chunks_decode_to_the_announced_torrent_or_raise(
    pieces: dict[int, str], payload: bytes
) -> None:
    announced = base64.b64encode(payload).decode()
    pieces = pieces | {0: announced[:20]} if len(pieces) % 2 else pieces
    head = Head(len(pieces), len(payload), hashlib.sha256(payload).hexdigest(), "0" * 40)
    with contextlib.suppress(RecordError):
        assert records.decode(head, pieces) == payload


@FUZZ
@given(st.binary(max_size=600))
def test_any_packet_reads_as_a_txt_answer_or_none(packet: bytes) -> None:
    answer = dnswire.read_txt_answer(packet, NAME)
    assert answer is None or isinstance(answer, dnswire.TxtAnswer)


@FUZZ
@given(st.binary(min_size=12, max_size=600))
def test_any_answer_to_our_question_reads_or_is_left_to_the_resolver(tail: bytes) -> None:
    """Past the header and question, where the hostile bytes do the most."""
    question = dnswire.txt_query(7, NAME, 1232)
    packet = b"\0\x07\x81\x80\0\x01\0\x01\0\0\0\0" + question[12:-11] + tail
    answer = dnswire.read_txt_answer(packet, NAME)
    assert answer is None or all(isinstance(s, bytes) for r in answer.strings for s in r)


@FUZZ
@given(st.text(max_size=60))
def test_any_url_names_a_plain_file_or_is_refused(path: str) -> None:
    try:
        name = output.name_from_url(f"https://dl.example.com/{path}")
    except DownloadError:
        return
    assert unsafe_reason(name) is None
    assert "/" not in name and not name.startswith(".")
    assert not any(unicodedata.category(c)[0] == "C" for c in name)
