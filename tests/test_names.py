"""URL → DNS names: the format's vectors and the normalisation rules behind them."""

import hashlib
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from torpub.errors import InvalidURL
from torpub.format.names import names_for, parse_name, remove_dot_segments, url_target

VECTORS = json.loads((Path(__file__).parent / "vectors" / "names.json").read_text())


@pytest.mark.parametrize("vector", VECTORS, ids=[v["url"] for v in VECTORS])
def test_format_vectors(vector: dict[str, str]) -> None:
    names = names_for(vector["url"])
    assert names.target == vector["target"]
    assert names.head_name == vector["head"]
    assert names.key == hashlib.sha1(vector["target"].encode()).hexdigest()


def test_key_of_the_documented_example() -> None:
    assert names_for("https://downloads.example.com/pub/myfile.tar.gz").key == (
        "438296e855494825557824b691a09d06a86a21f1"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (b"/a/b/c/./../../g", b"/a/g"),
        (b"mid/content=5/../6", b"mid/6"),
        (b"/..", b"/"),
        (b"/a/..", b"/"),
        (b"/a/.", b"/a/"),
        (b"/../../x", b"/x"),
        (b"", b""),
    ],
)
def test_remove_dot_segments_follows_rfc3986(path: bytes, expected: bytes) -> None:
    assert remove_dot_segments(path) == expected


def test_query_keeps_plus_and_escapes_apart() -> None:
    assert url_target("http://h/p?a=+") != url_target("http://h/p?a=%2B")
    assert url_target("http://h/p?a=%2b") == url_target("http://h/p?a=%2B")


def test_empty_query_is_kept_and_fragment_dropped() -> None:
    assert url_target("http://h/p?") == "/p?"
    assert url_target("http://h/p#x?y") == "/p"


def test_chunk_name_is_under_the_head() -> None:
    names = names_for("https://downloads.example.com/pub/myfile.tar.gz")
    assert names.chunk_name("0123456789abcdef", 7) == f"7.0123456789abcdef.{names.head_name}"


@pytest.mark.parametrize("url", ["/just/a/path", "file:///etc/passwd", "https:///nohost"])
def test_url_without_host_is_refused(url: str) -> None:
    with pytest.raises(InvalidURL, match="no host"):
        names_for(url)


def test_bad_host_label_is_refused() -> None:
    with pytest.raises(InvalidURL, match="not a DNS name"):
        names_for("https://" + "a" * 64 + ".example/x")


def test_parse_name_recognises_heads_and_chunks() -> None:
    names = names_for("https://downloads.example.com/pub/myfile.tar.gz")
    head = parse_name(names.head_name)
    chunk = parse_name(names.chunk_name("0123456789abcdef", 12).upper())
    assert head is not None and head.chunk_id is None and head.host == "downloads.example.com"
    assert chunk is not None and (chunk.chunk_id, chunk.index) == ("0123456789abcdef", 12)
    assert chunk.key == head.key


@pytest.mark.parametrize(
    "name",
    [
        "example.com.",
        "_torrent.example.com.",
        "nothex._torrent.example.com.",
        "01.0123456789abcdef.438296e855494825557824b691a09d06a86a21f1._torrent.h.",
        "x.0123456789abcdef.438296e855494825557824b691a09d06a86a21f1._torrent.h.",
        "0.0123.438296e855494825557824b691a09d06a86a21f1._torrent.h.",
        "438296e855494825557824b691a09d06a86a21f1._torrent.",
    ],
)
def test_parse_name_ignores_foreign_names(name: str) -> None:
    assert parse_name(name) is None


segment = st.text(
    st.characters(codec="utf-8", exclude_characters="/?#", exclude_categories=["Cc", "Cs"]),
    min_size=1,
    max_size=12,
)


@given(st.lists(segment, min_size=1, max_size=6))
def test_escaped_raw_and_dotted_paths_share_one_key(segments: list[str]) -> None:
    escaped = "/".join(quote(s, safe="") for s in segments)
    raw = "/".join(segments).replace("%", "%25")
    keys = {
        names_for(f"https://h.example/{escaped}").key,
        names_for(f"https://h.example/{raw}").key,
        names_for(f"https://h.example/./zz/../{escaped}").key,
    }
    assert len(keys) == 1
    target = names_for(f"https://h.example/{escaped}").target
    assert target.isascii() and " " not in target and "\\" not in target
