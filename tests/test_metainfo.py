"""torpub writes its torrents itself, byte for byte as torf wrote them: published
info-hashes and build-cache entries stay valid, and torf still reads them."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
import torf
from hypothesis import given, settings
from hypothesis import strategies as st

from torpub.format import bencode
from torpub.publish import metainfo
from torpub.publish.torrent import MAX_PIECE_SIZE, BuildSettings, torrent_bytes

BASE = "https://dl.example.com/pub/"


def torf_bytes(
    name: str, length: int, piece_size: int, pieces: bytes, urls: list[str], s: BuildSettings
) -> bytes:
    """How torpub made the torrent with torf, before it wrote torrents itself."""
    torrent = torf.Torrent(
        name=name,
        webseeds=urls,
        private=True if s.private else None,
        creation_date=None
        if s.creation_date is None
        else datetime.fromtimestamp(s.creation_date, UTC),
        created_by=None,
        piece_size_max=MAX_PIECE_SIZE,
    )
    torrent.trackers = [list(tier) for tier in s.trackers]
    torrent.metainfo["info"]["length"] = length
    torrent.piece_size = piece_size
    torrent.metainfo["info"]["pieces"] = pieces
    result: bytes = torrent.dump(validate=True)
    return result


hosts = st.sampled_from(["t.example", "u.example", "v.example:6969"])
tracker = st.builds(lambda h, p: f"http://{h}/{p}", hosts, st.sampled_from(["a", "b", "announce"]))
tiers = st.lists(st.lists(tracker, min_size=1, max_size=3), max_size=3)
mirrors = st.lists(st.sampled_from(["https://m.example/x/", BASE, "ftp://f.example/"]), max_size=3)
names = st.text(
    st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")),
    min_size=1,
    max_size=40,
).filter(lambda n: "/" not in n and "\\" not in n and not n.startswith("."))


@settings(max_examples=300, deadline=None)
@given(
    name=names,
    length=st.integers(1, 1 << 34),
    piece_exp=st.integers(14, 27),
    trackers=tiers,
    mirror_list=mirrors,
    private=st.booleans(),
    creation_date=st.none() | st.integers(0, 253_402_300_799),
)
def test_torrent_bytes_equal_torfs(
    name: str,
    length: int,
    piece_exp: int,
    trackers: list[list[str]],
    mirror_list: list[str],
    private: bool,
    creation_date: int | None,
) -> None:
    s = BuildSettings(
        BASE,
        mirrors=tuple(mirror_list),
        trackers=tuple(tuple(t) for t in trackers),
        private=private,
        creation_date=creation_date,
    )
    piece_size = 1 << piece_exp
    count = min(-(-length // piece_size), 50)  # torf checks the count; a few suffice
    length = min(length, count * piece_size)
    pieces = bytes(range(20)) * count
    urls = [BASE + "f.bin", *(m + "f.bin" for m in mirror_list)]
    ours = torrent_bytes(name, length, piece_size, pieces, urls, s)
    assert ours == torf_bytes(name, length, piece_size, pieces, urls, s)
    assert torf.Torrent.read_stream(io.BytesIO(ours)).infohash == bencode.info_hash(ours)


def _sizes() -> Iterable[int]:
    for exp in range(45):
        yield from (max((1 << exp) - 1, 1), 1 << exp, (1 << exp) + 1, 3 << exp)


def test_auto_piece_size_is_torfs() -> None:
    for size in _sizes():
        assert metainfo.auto_piece_size(size) == torf.Torrent.calculate_piece_size(size), size


def test_trackers_and_web_seeds_deduplicated_as_torf_does() -> None:
    torrent = bencode.decode(
        metainfo.encode(
            "a",
            1,
            1 << 14,
            bytes(20),
            webseeds=["http://w/1", "http://w/2", "http://w/1"],
            trackers=[["http://t/1", "http://t/1"], ["http://t/1"], ["http://t/2"]],
        )
    )
    assert torrent[b"announce"] == b"http://t/1"
    assert torrent[b"announce-list"] == [[b"http://t/1"], [b"http://t/2"]]
    assert torrent[b"url-list"] == [b"http://w/1", b"http://w/2"]


def test_bencode_encode_then_decode_is_the_value() -> None:
    value = {b"b": [1, -2, b"x", []], b"a": {b"k": b""}, b"\xff": 0}
    assert bencode.decode(bencode.encode(value)) == value
    assert bencode.encode({"b": 1, "a": "é"}) == b"d1:a2:\xc3\xa91:bi1ee"
    with pytest.raises(TypeError):
        bencode.encode(1.5)


def test_building_a_torrent_loads_no_torf() -> None:
    code = (
        "import sys; from torpub.publish.torrent import BuildSettings, choose_piece_size;"
        "s = BuildSettings('https://dl.example.com/pub/');"
        "choose_piece_size('a', 10**9, ['https://dl.example.com/pub/a'], s, 'a');"
        "print('torf' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
