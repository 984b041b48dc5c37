"""Route 53's text form of TXT values and record names: each character-string
quoted and escaped, unusual octets in names written as ``\\ooo``."""

from __future__ import annotations

from torpub.format.records import Record

MAX_VALUE_CHARS = 4000  # one TXT value as sent: its strings quoted and escaped
# The longest torpub value whose quoted form stays within MAX_VALUE_CHARS.
MAX_VALUE_LENGTH = 3950


def txt_value(record: Record) -> str:
    """The value as Route 53 takes it: each character-string quoted, ``"`` and
    ``\\`` escaped, other octets outside printable ASCII as ``\\ooo``."""
    return " ".join(f'"{_escape(s)}"' for s in record.strings())


def _escape(octets: bytes) -> str:
    out = []
    for b in octets:
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def parse_txt_value(value: str) -> tuple[bytes, ...]:
    """Route 53's TXT value back to its character-strings."""
    strings: list[bytes] = []
    i = 0
    while i < len(value):
        if value[i] == " ":
            i += 1
            continue
        quoted = value[i] == '"'
        i += quoted
        out = bytearray()
        while i < len(value) and (value[i] != '"' if quoted else value[i] != " "):
            if (
                value[i] == "\\"
                and value[i + 1 : i + 4].isdigit()
                and len(value[i + 1 : i + 4]) == 3
            ):
                out.append(int(value[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            if value[i] == "\\" and i + 1 < len(value):
                i += 1
            out += value[i].encode("utf-8", "surrogateescape")
            i += 1
        i += quoted
        strings.append(bytes(out))
    return tuple(strings)


def name_text(name: str) -> str:
    """Route 53 writes unusual octets in names as ``\\ooo``; names are case-blind."""
    out = bytearray()
    i = 0
    while i < len(name):
        if name[i] == "\\" and name[i + 1 : i + 4].isdigit():
            out.append(int(name[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out += name[i].encode("utf-8", "surrogateescape")
            i += 1
    return out.decode("utf-8", "surrogateescape").lower()
