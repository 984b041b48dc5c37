"""URL → DNS names: the format's vectors and the normalisation rules behind them."""

import hashlib
import json
from pathlib import Path
from urllib.parse import quote

import dns.name
import pytest
from hypothesis import given
from hypothesis import strategies as st

from torpub.errors import InvalidURL, ZoneError
from torpub.format.names import (
    canonical_name,
    in_zone,
    names_for,
    parse_name,
    remove_dot_segments,
    url_target,
)
from torpub.publish.artifacts import Artifact
from torpub.publish.pipeline import check_zone_holds

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


# --- the one DNS-name normaliser ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("example.com.", "example.com."),
        ("Example.COM", "example.com."),  # relative names are read from the root
        ("_Torrent.Example.com.", "_torrent.example.com."),
        ("Bücher.Example.", "xn--bcher-kva.example."),  # IDNA 2008, as URLs' hosts
        ("XN--BCHER-KVA.example.", "xn--bcher-kva.example."),
        ("a\\065b.example.", "aab.example."),  # presentation escapes, read then lowered
        ("a\\.b.example.", "a\\.b.example."),  # a dot inside a label stays escaped
        (".", "."),
    ],
)
def test_canonical_name_gives_one_spelling(text: str, canonical: str) -> None:
    assert canonical_name(text) == canonical
    assert canonical_name(dns.name.from_text(text)) == canonical
    assert canonical_name(canonical) == canonical


@pytest.mark.parametrize("bad", ["a..b.", "x" * 64 + ".example.", ("a" * 60 + ".") * 5])
def test_canonical_name_refuses_what_is_no_name(bad: str) -> None:
    with pytest.raises(ZoneError, match="is not a DNS name"):
        canonical_name(bad)


def test_in_zone_compares_canonical_names() -> None:
    assert in_zone("A.Example.com", "example.COM.")
    assert in_zone("example.com.", "example.com")
    assert in_zone("xn--bcher-kva.example", "bücher.example")
    assert in_zone("anything.example.", ".")
    assert not in_zone("badexample.com.", "example.com.")
    assert not in_zone("example.com.", "a.example.com.")


def test_the_root_is_no_host() -> None:
    with pytest.raises(InvalidURL, match="is not a DNS name"):
        names_for("https://./file")


def test_a_zone_in_unicode_holds_its_hosts(tmp_path: Path) -> None:
    url = "https://dl.bücher.example/a.iso"
    artifact = Artifact(tmp_path / "a.iso", "a.iso", url, tmp_path / "a.iso.torrent", tmp_path)
    check_zone_holds([artifact], "Bücher.Example.")
    with pytest.raises(ZoneError, match="not inside zone"):
        check_zone_holds([artifact], "buecher.example.")
