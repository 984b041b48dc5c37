"""Zone-file text ⇄ torpub's records: the marked block torpub owns, and the SOA serial.

Pure text functions, no I/O. torpub rewrites only the lines between its two
markers and the digits of the SOA serial; every other byte of the file is the
operator's and is returned unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype

from torpub.errors import ZoneError
from torpub.format import txt
from torpub.format.names import canonical_name, is_plain_name, parse_name
from torpub.format.records import Record
from torpub.publish import zonereader

BEGIN = "; BEGIN torpub-managed records (do not edit by hand)"
END = "; END torpub-managed records"
# Markers are recognised by these prefixes, so a reworded hint in parentheses still matches.
_BEGIN_PREFIX = "; BEGIN torpub-managed records"
_END_PREFIX = "; END torpub-managed records"

SERIAL_MODULUS = 1 << 32
_TTL = re.compile(r"\d+([smhdw](\d+[smhdw])*)?", re.IGNORECASE)
_CLASS = re.compile(r"IN|CH|CS|HS|CLASS\d+", re.IGNORECASE)
_DATE_SERIAL = re.compile(r"(\d{8})(\d{2})")


# --- the marked block ------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """Where torpub's block sits: ``text[start:end]`` runs from the BEGIN line
    through the END line and its line break."""

    start: int
    end: int
    body: str


def find_block(text: str) -> Block | None:
    begins: list[tuple[int, int]] = []
    ends: list[tuple[int, int]] = []
    for start, end, line in _lines(text):
        if line.lstrip().startswith(_BEGIN_PREFIX):
            begins.append((start, end))
        elif line.lstrip().startswith(_END_PREFIX):
            ends.append((start, end))
    if not begins and not ends:
        return None
    if len(begins) != 1 or len(ends) != 1 or ends[0][0] < begins[0][1]:
        raise ZoneError(
            f"the zone file has {len(begins)} BEGIN and {len(ends)} END torpub markers; "
            "it needs one BEGIN line followed by one END line"
        )
    (start, body_start), (body_end, end) = begins[0], ends[0]
    return Block(start, end, text[body_start:body_end])


def _lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, line) per line; only ``\\n`` ends a line, as in a zone file."""
    pos = 0
    while pos < len(text):
        cut = text.find("\n", pos)
        end = len(text) if cut < 0 else cut + 1
        yield pos, end, text[pos:end]
        pos = end


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def with_block(text: str, records: Iterable[Record]) -> str:
    """The text with torpub's block holding exactly ``records``; appended when absent."""
    newline = newline_of(text)
    block = render_block(records, newline)
    found = find_block(text)
    if found is not None:
        return text[: found.start] + block + text[found.end :]
    if text and not text.endswith("\n"):
        # The last line needs its line break, or the BEGIN marker would join its comment.
        text += newline
    return text + block


def without_block(text: str) -> str:
    """The operator's part of the file: everything but torpub's block."""
    found = find_block(text)
    return text if found is None else text[: found.start] + text[found.end :]


def render_block(records: Iterable[Record], newline: str = "\n") -> str:
    lines = [BEGIN, *(record_line(r) for r in sorted(set(records), key=record_order)), END]
    return "".join(line + newline for line in lines)


def record_line(record: Record) -> str:
    """One record as a self-contained zone-file line: absolute name, TTL and class,
    so no ``$ORIGIN`` or ``$TTL`` of the surrounding file can change its meaning."""
    name = _absolute_text(record.name)
    return f"{name} {record.ttl} IN TXT {txt.to_text(record.strings())}"


def record_order(record: Record) -> tuple[str, str, int, str, int, str, int]:
    """Each URL's head, then its chunk sets in index order; other names after, by name."""
    parsed = parse_name(record.name)
    if parsed is None:
        return ("~", record.name, 0, "", 0, record.value, record.ttl)
    kind = 0 if parsed.chunk_id is None else 1
    index = parsed.index if parsed.index is not None else 0
    chunk_id = parsed.chunk_id or ""
    return (parsed.host, parsed.key, kind, chunk_id, index, record.value, record.ttl)


def parse_block(body: str, origin: str) -> tuple[Record, ...]:
    """The TXT records written in a block's body, in :func:`record_order`."""
    return tuple(sorted(zonereader.read_block(body, origin), key=record_order))


# --- the SOA serial and the origin -----------------------------------------


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    quoted: bool = False


@dataclass(frozen=True)
class Entry:
    """One logical line of the file (parentheses joined, comments dropped)."""

    tokens: tuple[Token, ...]
    indented: bool


@dataclass(frozen=True)
class Soa:
    """The SOA record's owner (None when relative with no known origin) and
    where its serial's digits sit in the text."""

    owner: str | None
    serial: int
    start: int
    end: int


def find_soa(text: str) -> Soa:
    origin: str | None = None
    owner: str | None = None
    for entry in entries(text):
        first = entry.tokens[0]
        if not entry.indented and first.text.startswith("$"):
            if first.text.upper() == "$ORIGIN" and len(entry.tokens) > 1:
                origin = _resolve(entry.tokens[1].text, origin)
            continue
        if not entry.indented:
            owner = _resolve(first.text, origin)
        fields = entry.tokens[0 if entry.indented else 1 :]
        rdata = _rdata_of(fields, "SOA")
        if rdata is not None:
            return _soa(owner, rdata)
    raise ZoneError("the zone file has no SOA record")


def _rdata_of(fields: tuple[Token, ...], rdtype: str) -> tuple[Token, ...] | None:
    """The rdata tokens when the fields after the owner are ``[ttl] [class] rdtype …``."""
    at = 0
    while at < min(2, len(fields)) and (
        _TTL.fullmatch(fields[at].text) or _CLASS.fullmatch(fields[at].text)
    ):
        at += 1
    if at < len(fields) and not fields[at].quoted and fields[at].text.upper() == rdtype:
        return fields[at + 1 :]
    return None


def _soa(owner: str | None, rdata: tuple[Token, ...]) -> Soa:
    if len(rdata) < 7:
        raise ZoneError("the SOA record has fewer than 7 fields")
    serial = rdata[2]
    if serial.quoted or not serial.text.isdigit() or not serial.text.isascii():
        raise ZoneError(f"the SOA serial {serial.text!r} is not a decimal number")
    value = int(serial.text)
    if value >= SERIAL_MODULUS:
        raise ZoneError(f"the SOA serial {value} does not fit 32 bits")
    return Soa(owner, value, serial.start, serial.end)


def _resolve(token: str, origin: str | None) -> str | None:
    if token == "@":
        return origin
    try:
        name = dns.name.from_text(token, origin=None)
        if not name.is_absolute():
            if origin is None:
                return None
            name = name.concatenate(dns.name.from_text(origin))
    except dns.exception.DNSException as e:
        raise ZoneError(f"{token!r} in the zone file is not a DNS name: {e}") from e
    return canonical_name(name)


def zone_origin(text: str) -> str | None:
    """The zone's name as the file itself states it: the SOA owner, read against
    any ``$ORIGIN`` before it; None when the file leaves it to the server (``@``)."""
    return find_soa(text).owner


def entries(text: str) -> Iterator[Entry]:
    """Logical lines as a zone-file reader sees them: comments and line breaks
    inside parentheses skipped, quoted strings kept whole."""
    tokens: list[Token] = []
    depth, pos, indented, line_start = 0, 0, False, True
    while pos < len(text):
        char = text[pos]
        if line_start and depth == 0:
            indented, line_start = char in " \t", False
        if char == "\n":
            if depth == 0:
                if tokens:
                    yield Entry(tuple(tokens), indented)
                tokens, line_start = [], True
            pos += 1
        elif char in " \t\r":
            pos += 1
        elif char == ";":
            cut = text.find("\n", pos)
            pos = len(text) if cut < 0 else cut
        elif char in "()":
            depth = depth + 1 if char == "(" else max(0, depth - 1)
            pos += 1
        else:
            token = _token_at(text, pos)
            tokens.append(token)
            pos = token.end
    if tokens:
        yield Entry(tuple(tokens), indented)


def _token_at(text: str, pos: int) -> Token:
    quoted = text[pos] == '"'
    stop = '"' if quoted else ' \t\r\n;()"'
    end = pos + 1 if quoted else pos
    while end < len(text) and text[end] not in stop:
        end += 2 if text[end] == "\\" else 1
    end = min(end, len(text))
    if quoted:
        return Token(text[pos + 1 : end], pos, min(end + 1, len(text)), quoted=True)
    return Token(text[pos:end], pos, end)


def next_serial(serial: int, today: dt.date) -> int:
    """The serial after ``serial``: ``YYYYMMDDnn`` stays date-based (today's first
    number, or the next one when today's is taken); anything else counts up by
    one, wrapping as RFC 1982 serial arithmetic allows."""
    base = int(today.strftime("%Y%m%d")) * 100
    if _is_date_serial(serial) and serial < base:
        return base
    return (serial + 1) % SERIAL_MODULUS


def _is_date_serial(serial: int) -> bool:
    match = _DATE_SERIAL.fullmatch(str(serial))
    if match is None:
        return False
    try:
        day = dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return False
    return day.year >= 1970


def serial_gt(new: int, old: int) -> bool:
    """RFC 1982 §3.2: is ``new`` greater than ``old`` in 32-bit serial arithmetic?"""
    half = SERIAL_MODULUS // 2
    return new != old and ((new > old and new - old < half) or (new < old and old - new > half))


def raise_serial(text: str, today: dt.date) -> tuple[str, int]:
    """The text with its SOA serial raised, and the new serial."""
    soa = find_soa(text)
    new = next_serial(soa.serial, today)
    return text[: soa.start] + str(new) + text[soa.end :], new


def _absolute_text(name: str) -> str:
    """``name`` as dnspython writes it, absolute. The names torpub makes are plain
    (:func:`~torpub.format.names.is_plain_name`), written as they are; only others
    go through dnspython."""
    absolute = name if name.endswith(".") else name + "."
    if is_plain_name(absolute):
        return absolute
    return _absolute_name(name).to_text()


def _absolute_name(name: str) -> dns.name.Name:
    try:
        return dns.name.from_text(name, origin=dns.name.root)
    except dns.exception.DNSException as e:
        raise ZoneError(f"{name!r} is not a DNS name: {e}") from e
