"""TXT character-strings as text: the one quoting, against dnspython's reading of it."""

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from hypothesis import given
from hypothesis import strategies as st

from torpub.errors import RecordError
from torpub.format import txt

STRINGS = st.lists(st.binary(max_size=255), min_size=1, max_size=4).map(tuple)


@given(STRINGS)
def test_written_as_dnspython_writes_and_reads_it(strings: tuple[bytes, ...]) -> None:
    text = txt.to_text(strings)
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, text)
    assert tuple(rdata.strings) == strings  # type: ignore[attr-defined]
    assert rdata.to_text() == text
    assert txt.from_text(text) == strings


@given(STRINGS)
def test_octal_escapes_round_trip(strings: tuple[bytes, ...]) -> None:
    text = txt.to_text(strings, octal=True)
    assert txt.from_text(text, octal=True) == strings


def test_escapes_in_each_base() -> None:
    assert txt.quote(b'a"\\\x00\xff') == '"a\\"\\\\\\000\\255"'
    assert txt.quote(b'a"\\\x00\xff', octal=True) == '"a\\"\\\\\\000\\377"'
    assert txt.from_text('"\\065\\066" plain') == (b"AB", b"plain")
    assert txt.from_text('"\\101"', octal=True) == (b"A",)
    assert txt.from_text('"ü"') == ("ü".encode(),)  # beyond ASCII: its UTF-8 octets


@pytest.mark.parametrize(
    ("text", "octal"),
    [('"open', False), ('"\\256"', False), ('"\\400"', True), ('"a" "b', False)],
)
def test_bad_text_is_a_record_error(text: str, octal: bool) -> None:
    with pytest.raises(RecordError):
        txt.from_text(text, octal=octal)
