"""Route 53's text form of TXT values and record names: each character-string
quoted and escaped, unusual octets in names written as ``\\ooo``."""

from __future__ import annotations

import re

from torpub.errors import ProviderError, RecordError
from torpub.format import txt
from torpub.format.records import Record
from torpub_providers.route53.client import NAME

MAX_VALUE_CHARS = 4000  # one TXT value as sent: its strings quoted and escaped
# The longest torpub value whose quoted form stays within MAX_VALUE_CHARS.
MAX_VALUE_LENGTH = 3950
# Three octal digits, ASCII only: a listed name is the endpoint's text, and
# isdigit() would take '9' and other scripts' digits, which int(…, 8) refuses.
_OCTAL = re.compile(r"[0-7]{3}")


def txt_value(record: Record) -> str:
    """The value as Route 53 takes it: each character-string quoted, ``"`` and
    ``\\`` escaped, other octets outside printable ASCII as ``\\ooo`` (octal, as
    Route 53 documents, where zone files write decimal)."""
    return txt.to_text(record.strings(), octal=True)


def parse_txt_value(value: str) -> tuple[bytes, ...]:
    """Route 53's TXT value back to its character-strings; ProviderError for text
    that does not parse."""
    try:
        return txt.from_text(value, octal=True)
    except RecordError as e:
        raise ProviderError(NAME, f"cannot read TXT value {value[:40]!r}: {e}") from e


def name_text(name: str) -> str:
    """Route 53 writes unusual octets in names as ``\\ooo``; names are case-blind."""
    out = bytearray()
    i = 0
    while i < len(name):
        if name[i] == "\\" and _OCTAL.fullmatch(name, i + 1, i + 4):
            out.append(int(name[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out += name[i].encode("utf-8", "surrogateescape")
            i += 1
    return out.decode("utf-8", "surrogateescape").lower()
