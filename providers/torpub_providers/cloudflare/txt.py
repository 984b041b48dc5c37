"""Cloudflare's ``content`` form of TXT values, quoted character-strings as in
RFC 1035, and the limits on its length."""

from __future__ import annotations

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

from torpub.errors import ProviderError
from torpub.format.records import Record
from torpub_providers.cloudflare.client import NAME

MAX_CONTENT = 4000  # characters of TXT content as sent, quoted
MAX_VALUE_LENGTH = 3950  # the longest torpub value whose quoted form fits


def txt_content(record: Record) -> str:
    """The value as Cloudflare's ``content``: quoted character-strings (RFC 1035)."""
    rdata = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, record.strings())
    return rdata.to_text()


def parse_content(content: str) -> tuple[bytes, ...]:
    """``content`` back to character-strings; unquoted content is one string."""
    if not content.startswith('"'):
        return (content.encode("utf-8", "surrogateescape"),)
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, content)
    except Exception as e:  # dnspython raises several kinds for bad text
        raise ProviderError(NAME, f"cannot read TXT content {content[:40]!r}: {e}") from e
    return tuple(rdata.strings)  # type: ignore[attr-defined]
