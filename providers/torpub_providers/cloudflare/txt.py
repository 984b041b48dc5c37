"""Cloudflare's ``content`` form of TXT values, quoted character-strings as in
RFC 1035, and the limits on its length."""

from __future__ import annotations

from torpub.errors import ProviderError, RecordError
from torpub.format import txt
from torpub.format.records import Record
from torpub_providers.cloudflare.client import NAME

MAX_CONTENT = 4000  # characters of TXT content as sent, quoted
MAX_VALUE_LENGTH = 3950  # the longest torpub value whose quoted form fits


def txt_content(record: Record) -> str:
    """The value as Cloudflare's ``content``: quoted character-strings (RFC 1035)."""
    return txt.to_text(record.strings())


def parse_content(content: str) -> tuple[bytes, ...]:
    """``content`` back to character-strings; unquoted content is one string."""
    # Cloudflare's own difference: content made in its dashboard is stored as typed,
    # without quotes, and means one string, spaces included.
    if not content.startswith('"'):
        return (content.encode("utf-8", "surrogateescape"),)
    try:
        return txt.from_text(content)
    except RecordError as e:
        raise ProviderError(NAME, f"cannot read TXT content {content[:40]!r}: {e}") from e
