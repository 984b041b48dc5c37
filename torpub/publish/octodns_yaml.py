"""torpub's records ⇄ an octoDNS zone YAML file, for teams that review DNS
changes in an octoDNS repository.

Pure text functions. The file is torpub's alone (octoDNS reads it as one more
source of the zone), so :func:`from_yaml` reads back only what :func:`to_yaml`
writes. TXT values escape ``;`` as ``\\;``, as octoDNS's YamlProvider expects
with ``escaped_semicolons: true`` (its default up to 2.0).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import dns.exception
import dns.name

from torpub.errors import PlanError, ZoneError
from torpub.format.names import canonical_name
from torpub.format.records import MAX_TTL, Record, valid_ttl

HEADER = "# Written by torpub export; torpub rewrites this file, do not edit it by hand.\n---\n"
_KEY = re.compile(r"^'((?:[^']|'')*)':$")
_FIELD = re.compile(r"^  (ttl|type|value|values):(?: (.*))?$")
_ITEM = re.compile(r"^  - (.*)$")
_DIGITS = re.compile(r"(\d+)")
_TTL = re.compile(r"[0-9]{1,10}")


def relative_name(name: str, zone: str) -> str:
    """``name`` as octoDNS writes it in the zone's file: relative, no trailing dot."""
    absolute, origin = dns.name.from_text(name), dns.name.from_text(zone)
    if not absolute.is_subdomain(origin):
        raise ZoneError(f"{name} is not in zone {zone}")
    relative = absolute.relativize(origin)
    return "" if relative == dns.name.empty else relative.to_text().lower()


def absolute_name(relative: str, zone: str) -> str:
    origin = dns.name.from_text(zone)
    try:
        return canonical_name(dns.name.from_text(relative, origin) if relative else origin)
    except dns.exception.DNSException as e:  # a name read back from the file
        raise ZoneError(f"{relative!r} is not a DNS name: {e}") from e


def natural_key(text: str) -> tuple[str | int, ...]:
    """The order octoDNS enforces on a zone file's names (natsort's default):
    runs of digits compare as numbers."""
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in _DIGITS.split(text)]
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return tuple(parts)


def zone_data(records: Iterable[Record], zone: str) -> dict[str, dict[str, object]]:
    """The zone file's content: relative name → ``{ttl, type, value|values}``."""
    by_name: dict[str, list[Record]] = {}
    for record in records:
        by_name.setdefault(relative_name(record.name, zone), []).append(record)
    data: dict[str, dict[str, object]] = {}
    for name in sorted(by_name, key=natural_key):
        held = sorted(set(by_name[name]))
        ttls = sorted({r.ttl for r in held})
        if len(ttls) != 1:
            raise PlanError(f"{absolute_name(name, zone)} has TXT records with TTLs {ttls}")
        values = [escape(r.value) for r in held]
        entry: dict[str, object] = {"ttl": ttls[0], "type": "TXT"}
        if len(values) == 1:
            entry["value"] = values[0]
        else:
            entry["values"] = values
        data[name] = entry
    return data


def to_yaml(records: Iterable[Record], zone: str) -> str:
    lines = [HEADER.rstrip("\n")]
    for name, entry in zone_data(records, zone).items():
        lines.append(f"{_quote(name)}:")
        lines.append(f"  ttl: {entry['ttl']}")
        lines.append(f"  type: {entry['type']}")
        if "value" in entry:
            lines.append(f"  value: {_quote(str(entry['value']))}")
        else:
            values = entry["values"]
            assert isinstance(values, list)
            lines.append("  values:")
            lines += [f"  - {_quote(v)}" for v in values]
    if len(lines) == 1:
        lines.append("{}")
    return "\n".join(lines) + "\n"


def from_yaml(text: str, zone: str) -> tuple[Record, ...]:
    """The records in a file :func:`to_yaml` wrote."""
    records: list[Record] = []
    name: str | None = None
    ttl: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#") or line in ("---", "{}"):
            continue
        key, field, item = _KEY.match(line), _FIELD.match(line), _ITEM.match(line)
        if key:
            name, ttl = absolute_name(key.group(1).replace("''", "'"), zone), None
        elif field and name is not None and field.group(1) == "ttl":
            ttl = _ttl(field.group(2) or "", number)
        elif field and (field.group(1), field.group(2)) in (("type", "TXT"), ("values", None)):
            pass
        elif name is not None and ttl is not None and (field or item):
            raw = item.group(1) if item else field.group(2) if field else None
            records.append(Record(name, ttl, unescape(_unquote(raw or "", number))))
        else:
            raise ZoneError(f"line {number} is not one torpub export writes: {line[:60]!r}")
    return tuple(sorted(records))


def escape(value: str) -> str:
    """TXT text as octoDNS holds it, in its zone YAML and its records: ``;`` escaped."""
    return value.replace(";", "\\;")


def unescape(value: str) -> str:
    return value.replace("\\;", ";")


def _quote(text: str) -> str:
    """A single-quoted YAML scalar: backslashes stay literal, ``'`` doubles."""
    return "'" + text.replace("'", "''") + "'"


def _ttl(text: str, number: int) -> int:
    if not _TTL.fullmatch(text) or not valid_ttl(int(text)):
        raise ZoneError(f"line {number}: the TTL {text[:20]!r} is not from 0 to {MAX_TTL}")
    return int(text)


def _unquote(text: str, number: int) -> str:
    if len(text) < 2 or not (text.startswith("'") and text.endswith("'")):
        raise ZoneError(f"line {number}: the value is not single-quoted as torpub writes it")
    return text[1:-1].replace("''", "'")
