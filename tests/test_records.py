"""Torrent bytes ⇄ records: the golden vector, round trips and every check of §4."""

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torpub.errors import ChecksumMismatch, LimitExceeded, MissingChunk, RecordError
from torpub.format import bencode
from torpub.format.names import names_for
from torpub.format.records import Encoding, Head, Limits, Record, chunk_count, decode, encode

VECTOR = json.loads((Path(__file__).parent / "vectors" / "records.json").read_text())
URL = "https://downloads.example.com/pub/myfile.tar.gz"


def torrent(blob: bytes, name: bytes = b"file") -> bytes:
    """A minimal well-formed single-file torrent whose pieces field is ``blob``."""
    info = b"d6:lengthi%de4:name%d:%s12:piece lengthi16384e6:pieces%d:%se" % (
        len(blob) * 100,
        len(name),
        name,
        len(blob),
        blob,
    )
    return b"d4:info" + info + b"e"


def test_golden_vector() -> None:
    payload = base64.b64decode(VECTOR["payload_base64"])
    encoding = Encoding(chunk_size=VECTOR["chunk_size"], owner=VECTOR["owner"])
    result = encode(payload, names_for(VECTOR["url"]), encoding, VECTOR["display_name"])
    assert [(r.name, r.ttl, r.value) for r in result.records] == [
        (r["name"], r["ttl"], r["value"]) for r in VECTOR["records"]
    ]


def test_golden_vector_matches_the_format_independently() -> None:
    payload = base64.b64decode(VECTOR["payload_base64"])
    head = Head.from_text(VECTOR["records"][0]["value"])
    assert head.sha256 == hashlib.sha256(payload).hexdigest()
    start = payload.index(b"4:info") + len(b"4:info")
    end = payload.index(b"e8:url-list") + 1
    assert head.ih == hashlib.sha1(payload[start:end]).hexdigest()
    assert VECTOR["records"][1]["name"].startswith(f"0.{head.sha256[:16]}.")
    assert "".join(r["value"] for r in VECTOR["records"][1:]) == VECTOR["payload_base64"]


@settings(max_examples=200)
@given(
    blob=st.binary(max_size=3000),
    chunk_size=st.integers(1, 300).map(lambda n: n * 4),
    owner=st.none() | st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
    name=st.text(max_size=40),
)
def test_round_trip(blob: bytes, chunk_size: int, owner: str | None, name: str) -> None:
    payload = torrent(blob)
    result = encode(payload, names_for(URL), Encoding(chunk_size, owner=owner), name)
    head = Head.from_text(result.head_record.value)
    assert head == result.head
    assert head.n == len(result.chunks) == chunk_count(len(payload), chunk_size)
    pieces = {i: r.value for i, r in enumerate(result.chunks)}
    assert decode(head, pieces) == payload
    assert all(len(r.value) <= chunk_size for r in result.chunks)
    assert all(len(s) <= 255 for r in result.records for s in r.strings())
    for forbidden in ('"', "\\", "\t", "\n"):
        assert forbidden not in result.head_record.value


def test_head_tags_in_any_order_with_spaces_and_unknown_tags() -> None:
    head = Head.from_text(
        " v = torrent1 ;ih=" + "A" * 40 + ";  future=1;len=10 ; n=2; sha256=" + "b" * 64 + ";"
    )
    assert (head.n, head.length, head.ih, head.owner) == (2, 10, "a" * 40, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v=torrent2; n=1; len=1; sha256=" + "a" * 64 + "; ih=" + "a" * 40, "version"),
        ("n=1; v=torrent1; len=1; sha256=" + "a" * 64 + "; ih=" + "a" * 40, "start with v="),
        ("v=torrent1; len=1; sha256=" + "a" * 64 + "; ih=" + "a" * 40, "'n'"),
        ("v=torrent1; n=x; len=1; sha256=" + "a" * 64 + "; ih=" + "a" * 40, "integers"),
        # int() takes these; the browser client does not, so neither does this side.
        ("v=torrent1; n=+1; len=1; sha256=" + "a" * 64 + "; ih=" + "a" * 40, "integers"),
        ("v=torrent1; n=1_0; len=1; sha256=" + "a" * 64 + "; ih=" + "a" * 40, "integers"),
        ("v=torrent1; n=1; len=\u0661; sha256=" + "a" * 64 + "; ih=" + "a" * 40, "integers"),
        ("v=torrent1; n=1; len=1; sha256=abc; ih=" + "a" * 40, "malformed"),
        ("v=torrent1; n=1; len=1; sha256=" + "a" * 64 + "; ih=" + "a" * 40 + "; o=a b", "owner"),
        ("v=torrent1; n=1; len=1; sha256=" + "a" * 64 + "; ih=" + "a" * 40 + "; p=zz", "previous"),
        ("v=torrent1; n", "no '='"),
    ],
)
def test_bad_heads_are_refused(text: str, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        Head.from_text(text)


def _published(blob: bytes = b"x" * 2000) -> tuple[Head, dict[int, str], bytes]:
    payload = torrent(blob)
    result = encode(payload, names_for(URL), Encoding(chunk_size=400))
    return result.head, {i: r.value for i, r in enumerate(result.chunks)}, payload


def test_missing_chunk_names_its_index() -> None:
    head, pieces, _ = _published()
    del pieces[3]
    with pytest.raises(MissingChunk, match=r"chunk 3 is missing \(3\.") as info:
        decode(head, pieces, names_for(URL))
    assert info.value.index == 3


def test_tampered_chunk_is_a_mid_update_mismatch() -> None:
    head, pieces, _ = _published()
    pieces[1] = pieces[1][:-4] + "AAAA"
    with pytest.raises(ChecksumMismatch, match=r"SHA-256 differs.*mid-update.*retry"):
        decode(head, pieces)


def test_bad_base64_is_refused() -> None:
    head, pieces, _ = _published()
    pieces[0] = "!!!!" + pieces[0][4:]
    with pytest.raises(ChecksumMismatch, match="base64"):
        decode(head, pieces)


def test_wrong_length_is_refused() -> None:
    head, pieces, _ = _published()
    with pytest.raises(ChecksumMismatch, match="length"):
        decode(Head(head.n, head.length + 1, head.sha256, head.ih), pieces)


def test_wrong_info_hash_is_refused() -> None:
    head, pieces, _ = _published()
    with pytest.raises(ChecksumMismatch, match="info-hash"):
        decode(Head(head.n, head.length, head.sha256, "0" * 40), pieces)


def test_limits_refuse_big_heads_before_any_chunk() -> None:
    limits = Limits(max_chunks=256, max_length=1 << 20)
    with pytest.raises(LimitExceeded, match="257 chunks"):
        limits.check(Head(257, 10, "a" * 64, "a" * 40))
    with pytest.raises(LimitExceeded, match="bytes"):
        limits.check(Head(1, (1 << 20) + 1, "a" * 64, "a" * 40))
    limits.check(Head(256, 1 << 20, "a" * 64, "a" * 40))


def test_strings_cut_at_255_octets_and_join_back() -> None:
    record = Record("x.", 1, "é" * 300)
    strings = record.strings()
    assert all(len(s) <= 255 for s in strings)
    assert Record.from_strings("X.", 1, strings) == record


def test_answer_size_counts_header_question_answer_and_opt() -> None:
    name = "0.0123456789abcdef." + "a" * 40 + "._torrent.example.com."
    record = Record(name, 86400, "A" * 900)
    question = len(name) + 1 + 4
    assert record.answer_size() == 12 + question + 12 + 900 + 4 + 11


def test_bencode_rejects_garbage() -> None:
    for bad in (b"", b"d", b"i1", b"d1:ai1e1:ai2ee", b"5:abc", b"x"):
        with pytest.raises(RecordError):
            bencode.decode(bad)
    assert bencode.decode(b"d1:ali1ei-2e3:xyzee") == {b"a": [1, -2, b"xyz"]}
