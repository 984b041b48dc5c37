"""The Range header parser (RFC 9110 §14): the cases servers disagree on, and a
property that no header value, however hostile, raises or reaches past the file."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from torpub.http import ranges
from torpub.http.ranges import UNSATISFIABLE, ByteRange

SIZE = 1000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes=0-0", ByteRange(0, 1)),
        ("bytes=10-", ByteRange(10, 990)),
        ("bytes=10-19", ByteRange(10, 10)),
        ("bytes=990-5000", ByteRange(990, 10)),
        ("bytes=-10", ByteRange(990, 10)),
        ("bytes=-5000", ByteRange(0, SIZE)),
        ("BYTES=1-2", ByteRange(1, 2)),  # the unit is case-insensitive
        ("bytes=1-2, ", ByteRange(1, 2)),  # empty list elements do not count
        ("bytes=1000-", UNSATISFIABLE),
        ("bytes=-0", UNSATISFIABLE),
        ("bytes=" + "9" * 5000 + "-", UNSATISFIABLE),  # past any end, not a 500
        ("bytes=0-" + "9" * 5000, ByteRange(0, SIZE)),
        ("bytes=-" + "9" * 5000, ByteRange(0, SIZE)),
        ("bytes=" + "0" * 5000 + "1-2", ByteRange(1, 2)),
        ("bytes=5-2", None),  # last before first: invalid, ignored
        ("bytes=0-1,5-6", None),  # several: the whole file
        ("bytes=\u0661-\u0662", None),  # Arabic-Indic digits are not DIGIT
        ("bytes=\u00b2-", None),  # nor is a superscript two
        ("bytes=1 - 2", None),
        ("bytes 1-2", None),
        ("bytes=-", None),
        ("bytes=1-2-3", None),
        ("items=0-1", None),
        ("bytes=+1-2", None),
        ("=0-1", None),
        ("", None),
        (None, None),
    ],
)
def test_parse(value: str | None, expected: object) -> None:
    assert ranges.parse(value, SIZE) == expected


def test_an_empty_file_satisfies_no_range() -> None:
    assert ranges.parse("bytes=0-", 0) == UNSATISFIABLE
    assert ranges.parse("bytes=-1", 0) == UNSATISFIABLE


SPECS = st.one_of(
    st.text(max_size=40),
    st.builds(
        "bytes={}-{}".format,
        st.one_of(
            st.just(""), st.integers(0, 10**30).map(str), st.text("0123456789٠١²", max_size=30)
        ),
        st.one_of(
            st.just(""), st.integers(0, 10**30).map(str), st.text("0123456789٠١²", max_size=30)
        ),
    ),
)


@given(SPECS, st.integers(0, 2**63))
@example("bytes=" + "1" * 10000 + "-", 10)
@example("bytes=٣-", 10)
def test_any_value_parses_within_bounds(value: str, size: int) -> None:
    parsed = ranges.parse(value, size)
    if isinstance(parsed, ByteRange):
        assert 0 <= parsed.start <= parsed.end < size
        assert parsed.length >= 1
        assert parsed.content_range(size) == f"bytes {parsed.start}-{parsed.end}/{size}"
    else:
        assert parsed in (None, UNSATISFIABLE)
