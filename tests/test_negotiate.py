"""The negotiation rule (record format §6), the header parsing under it, and how
closely the nginx/Apache regular expressions follow it."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from torpub.http import negotiate, serverconfig
from torpub.http.negotiate import (
    TORRENT_TYPE,
    Preference,
    accept_prefers_torrent,
    content_disposition,
    encoding_lists_torrent,
    parse_preferences,
)

FLAGS = re.IGNORECASE | re.ASCII
ACCEPT_TOP = re.compile(serverconfig.ACCEPT_TOP, FLAGS)
ACCEPT_ONLY = re.compile(serverconfig.ACCEPT_ONLY, FLAGS)
ENCODING = re.compile(serverconfig.ENCODING, FLAGS)


@pytest.mark.parametrize(
    ("accept", "torrent"),
    [
        (TORRENT_TYPE, True),
        (f"{TORRENT_TYPE}, */*;q=0.8", True),
        (f"{TORRENT_TYPE};q=0.5, */*", False),
        (f"{TORRENT_TYPE};q=0.5", True),
        (f"{TORRENT_TYPE};q=0.9, */*;q=0.8", True),
        (f"{TORRENT_TYPE};q=0.5, text/html;q=0.5", True),  # a tie: nothing weighs more
        (f"{TORRENT_TYPE};q=0", False),
        (f"{TORRENT_TYPE};q=0.000, */*", False),
        ("*/*", False),
        ("application/*", False),
        ("application/*, */*", False),
        ("", False),
        (None, False),
        ("  APPLICATION/X-BITTORRENT ;  Q=1.0  ", True),
        (f'{TORRENT_TYPE};note="a, b";q=1, text/html', True),  # a comma inside quotes
        (f"{TORRENT_TYPE};q=1.5, */*", False),  # a malformed weight names nothing
        (f"{TORRENT_TYPE};q=0.1234", False),
        ("application/x-bittorrent-v2", False),
        (f",, {TORRENT_TYPE} ,,", True),  # empty list elements (RFC 9110 §5.6.1)
    ],
)
def test_accept(accept: str | None, torrent: bool) -> None:
    assert accept_prefers_torrent(accept) is torrent


@pytest.mark.parametrize(
    ("accept_encoding", "torrent"),
    [
        ("gzip, deflate, torrent", True),
        ("torrent", True),
        ("TORRENT;Q=0.001", True),
        ("torrent;q=0", False),
        ("torrent;q=0.0, gzip", False),
        ("*", False),
        ("gzip, deflate", False),
        ("torrents", False),
        ("x-torrent", False),
        (None, False),
        ("gzip;q=1, torrent ; q=0.5", True),
    ],
)
def test_accept_encoding(accept_encoding: str | None, torrent: bool) -> None:
    assert encoding_lists_torrent(accept_encoding) is torrent


def test_parse_keeps_weights_in_thousandths() -> None:
    parsed = parse_preferences("text/html;level=1;q=0.25, */*;q=0, image/png", media_ranges=True)
    assert parsed == (
        Preference("text/html", 250),
        Preference("*/*", 0),
        Preference("image/png", 1000),
    )


def test_no_torrent_means_the_file_and_no_headers() -> None:
    answer = negotiate.negotiate("/pub/a.iso", False, TORRENT_TYPE, "torrent", None)
    assert answer == negotiate.Answer(torrent=False, headers=())


def test_torrent_answer_headers() -> None:
    answer = negotiate.negotiate("/pub/my file.iso", True, None, "gzip, torrent", None)
    assert answer.torrent
    assert dict(answer.headers) == {
        "Content-Type": TORRENT_TYPE,
        "Content-Disposition": 'attachment; filename="my file.iso.torrent"',
        "Vary": "Accept, Accept-Encoding",
        "Link": f'</pub/my%20file.iso.torrent>; rel=describedby; type="{TORRENT_TYPE}"',
    }
    assert "Content-Encoding" not in dict(answer.headers)


@pytest.mark.parametrize("range_header", ["bytes=0-", "bytes=0-16383", "bytes=-1", "junk"])
def test_a_range_request_never_gets_the_torrent(range_header: str) -> None:
    """Web seeds send their torrent signal with their Range requests (record format §6)."""
    answer = negotiate.negotiate("/pub/a.iso", True, TORRENT_TYPE, "gzip, torrent", range_header)
    assert not answer.torrent
    assert dict(answer.headers) == dict(
        negotiate.negotiate("/pub/a.iso", True, None, None, None).headers
    )


def test_file_answer_headers() -> None:
    answer = negotiate.negotiate("/pub/a.iso", True, "*/*", "gzip", None)
    assert not answer.torrent
    assert dict(answer.headers) == {
        "Vary": "Accept, Accept-Encoding",
        "Link": f'</pub/a.iso.torrent>; rel=describedby; type="{TORRENT_TYPE}"',
    }


def test_content_disposition_of_awkward_names() -> None:
    assert content_disposition('a"b.torrent') == (
        "attachment; filename=\"a_b.torrent\"; filename*=UTF-8''a%22b.torrent"
    )
    assert content_disposition("ü.torrent") == (
        "attachment; filename=\"_.torrent\"; filename*=UTF-8''%C3%BC.torrent"
    )


@given(st.text(max_size=40))
def test_servers_quote_exactly_the_names_the_middleware_quotes(name: str) -> None:
    """serverconfig.PLAIN_NAME decides for nginx and Apache what
    content_disposition decides for the middleware: a plain quoted name."""
    plain = re.fullmatch(serverconfig.PLAIN_NAME.strip("^$"), name) is not None
    assert plain == (content_disposition(name) == f'attachment; filename="{name}"')


# --- Properties --------------------------------------------------------------

RANGES = [TORRENT_TYPE, "*/*", "application/*", "text/html", "application/octet-stream"]
CODINGS = ["torrent", "gzip", "deflate", "br", "identity", "*"]
QVALUES = st.one_of(
    st.integers(0, 1000).map(lambda q: "1" if q == 1000 else f"0.{q:03d}".rstrip("0") or "0"),
    st.sampled_from(["1", "1.", "1.0", "1.00", "1.000", "0", "0.", "0.0", "0.000"]),
)
OWS = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def elements(draw: st.DrawFn, values: list[str]) -> str:
    value = draw(st.sampled_from(values))
    value = "".join(c.upper() if draw(st.booleans()) else c for c in value)
    text = value + draw(OWS)
    if draw(st.booleans()):
        text += f";{draw(OWS)}level=1{draw(OWS)}"
    if draw(st.booleans()):
        q = draw(st.sampled_from(["q", "Q"]))
        text += f";{draw(OWS)}{q}={draw(QVALUES)}{draw(OWS)}"
    return draw(OWS) + text


def headers(values: list[str]) -> st.SearchStrategy[str]:
    return st.lists(elements(values), max_size=5).map(",".join)


def _weights(header: str) -> tuple[list[int], list[int]]:
    parsed = parse_preferences(header, media_ranges=True)
    torrent = [p.q for p in parsed if p.value == TORRENT_TYPE]
    return torrent, [p.q for p in parsed if p.value != TORRENT_TYPE]


@given(headers(RANGES))
@example(f"{TORRENT_TYPE};q=0.9, */*;q=0.8")
def test_servers_never_give_a_torrent_the_rule_refuses(accept: str) -> None:
    if ACCEPT_TOP.search(accept) or ACCEPT_ONLY.search(accept):
        assert accept_prefers_torrent(accept)


@given(headers(RANGES))
def test_servers_agree_where_docs_say_they_do(accept: str) -> None:
    """Exact agreement when the torrent type is listed once at q=1, or alone."""
    torrent, others = _weights(accept)
    if len(torrent) != 1 or (torrent != [1000] and others):
        return
    servers = bool(ACCEPT_TOP.search(accept) or ACCEPT_ONLY.search(accept))
    assert servers == accept_prefers_torrent(accept)


@given(headers(CODINGS))
def test_servers_read_accept_encoding_exactly(accept_encoding: str) -> None:
    assert bool(ENCODING.search(accept_encoding)) == encoding_lists_torrent(accept_encoding)


@given(st.integers(0, 1000))
def test_qvalues_round_trip(q: int) -> None:
    text = f"{q // 1000}.{q % 1000:03d}"
    assert parse_preferences(f"gzip;q={text}", media_ranges=False) == (Preference("gzip", q),)


@given(headers(RANGES), headers(CODINGS))
def test_case_does_not_matter(accept: str, accept_encoding: str) -> None:
    assert negotiate.wants_torrent(accept, accept_encoding) == negotiate.wants_torrent(
        accept.upper(), accept_encoding.lower()
    )


@given(st.text(max_size=60), st.text(max_size=60))
def test_any_header_gets_an_answer(accept: str, accept_encoding: str) -> None:
    answer = negotiate.negotiate("/a", True, accept, accept_encoding, None)
    assert [name for name, _ in answer.headers][-2:] == ["Vary", "Link"]
