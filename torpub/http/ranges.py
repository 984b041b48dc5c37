"""The Range request header (RFC 9110 §14.1-14.2): which bytes of a file a request
asks for. Pure: the header and the file's size in, one byte range or a verdict out.

The value comes from the network: only ASCII digits count as digits, and a
number longer than any file can be is read as "beyond the end" rather than
converted, so no value, however long or odd, raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

# More than any file holds; a position with more digits than this is past every end.
_BEYOND: Final = 10**18
_MAX_DIGITS: Final = 18
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
# RFC 9110 §5.6.2 token, the range unit.
_UNIT = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", re.ASCII)

UNSATISFIABLE: Final = "unsatisfiable"
Unsatisfiable = Literal["unsatisfiable"]


@dataclass(frozen=True)
class ByteRange:
    """``length`` bytes from ``start``; never empty, never past the file's end."""

    start: int
    length: int

    @property
    def end(self) -> int:
        return self.start + self.length - 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse(value: str | None, size: int) -> ByteRange | Unsatisfiable | None:
    """The one byte range a Range header asks of a file of ``size`` bytes.

    None means "send the whole file": no header, another unit, a syntax error,
    or several ranges (a server may ignore any Range, RFC 9110 §14.2; torpub
    sends no multipart answers). ``UNSATISFIABLE`` means 416.
    """
    if not value:
        return None
    unit, equals, range_set = value.partition("=")
    if not equals or not _UNIT.fullmatch(unit) or unit.lower() != "bytes":
        return None
    specs = [s.strip(" \t") for s in range_set.split(",")]
    specs = [s for s in specs if s]  # RFC 9110 §5.6.1: empty list elements do not count
    if len(specs) != 1:
        return None
    first, dash, last = specs[0].partition("-")
    if not dash or not _is_number(last, optional=True) or not _is_number(first, optional=True):
        return None
    if not first:
        return _suffix(_number(last), size) if last else None
    return _from(_number(first), _number(last) if last else None, size)


def _suffix(length: int, size: int) -> ByteRange | Unsatisfiable:
    """The last ``length`` bytes (``bytes=-N``)."""
    length = min(length, size)
    return ByteRange(size - length, length) if length else UNSATISFIABLE


def _from(first: int, last: int | None, size: int) -> ByteRange | Unsatisfiable | None:
    """``bytes=first-last`` or ``bytes=first-``."""
    if last is not None and last < first:
        return None  # invalid, so ignored (RFC 9110 §14.1.1)
    if first >= size:
        return UNSATISFIABLE
    end = size - 1 if last is None else min(last, size - 1)
    return ByteRange(first, end - first + 1)


def _is_number(text: str, *, optional: bool) -> bool:
    return (optional and not text) or bool(_DIGITS.fullmatch(text))


def _number(digits: str) -> int:
    """ASCII ``digits`` as an int, capped at :data:`_BEYOND` before conversion."""
    significant = digits.lstrip("0")
    return _BEYOND if len(significant) > _MAX_DIGITS else int(significant or "0")
