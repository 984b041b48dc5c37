"""TSIG keys from the ``key "name" { algorithm …; secret "…"; };`` text that
``tsig-keygen`` (and ``rndc-confgen``, ``ddns-confgen``) writes.

Pure text in, keys out. A key's secret never appears in its ``repr`` or in an
error, so a key can be logged or shown in a traceback without leaking it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

import dns.exception
import dns.name

from torpub.errors import ConfigError

# tsig-keygen's algorithm names → the algorithm names TSIG puts on the wire.
ALGORITHMS = {
    "hmac-md5": "hmac-md5.sig-alg.reg.int.",
    "hmac-sha1": "hmac-sha1.",
    "hmac-sha224": "hmac-sha224.",
    "hmac-sha256": "hmac-sha256.",
    "hmac-sha384": "hmac-sha384.",
    "hmac-sha512": "hmac-sha512.",
}
_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|(#[^\n]*|//[^\n]*|/\*.*?\*/)', re.DOTALL)
_KEY = re.compile(r'\bkey\s+("(?:[^"\\]|\\.)*"|[^\s{]+)\s*\{(.*?)\}\s*;', re.DOTALL)
_STATEMENT = re.compile(r'\s*(\w[\w-]*)\s+("(?:[^"\\]|\\.)*"|[^;\s]+)\s*;')


@dataclass(frozen=True)
class TsigKey:
    """One TSIG key: its name (absolute, with the trailing dot), its algorithm
    as TSIG names it on the wire, and the secret's bytes (kept out of repr)."""

    name: str
    algorithm: str
    secret: bytes = field(repr=False)

    @property
    def algorithm_short(self) -> str:
        """The algorithm as tsig-keygen writes it, e.g. ``hmac-sha256``."""
        return next((k for k, v in ALGORITHMS.items() if v == self.algorithm), self.algorithm)

    def secret_text(self) -> str:
        """The secret in base64, as the key file holds it (for a client library)."""
        return base64.b64encode(self.secret).decode("ascii")


def from_text(text: str, name: str | None = None) -> TsigKey:
    """The key in ``text``; with several keys there, ``name`` picks one."""
    keys = all_from_text(text)
    if not keys:
        raise ConfigError('no TSIG key in the key file (expected key "name" { … };)')
    if name is not None:
        wanted = _absolute(name.strip('"'))
        for key in keys:
            if key.name == wanted:
                return key
        known = ", ".join(k.name for k in keys)
        raise ConfigError(f"the key file has no key {wanted} (it has {known})")
    if len(keys) > 1:
        known = ", ".join(k.name for k in keys)
        raise ConfigError(f"the key file holds {len(keys)} keys ({known}); name the one to use")
    return keys[0]


def all_from_text(text: str) -> list[TsigKey]:
    text = _COMMENT.sub(lambda m: "" if m.group(1) else m.group(0), text)
    return [_key(raw_name, body) for raw_name, body in _KEY.findall(text)]


def to_text(key: TsigKey) -> str:
    """The key in tsig-keygen's format (this writes the secret: for key files only)."""
    return (
        f'key "{key.name.rstrip(".")}" {{\n'
        f"\talgorithm {key.algorithm_short};\n"
        f'\tsecret "{key.secret_text()}";\n'
        "};\n"
    )


def _key(raw_name: str, body: str) -> TsigKey:
    name = _absolute(raw_name.strip('"'))
    statements: dict[str, str] = {}
    for keyword, value in _STATEMENT.findall(body):
        statements[keyword.lower()] = value.strip('"')
    algorithm = statements.get("algorithm")
    if algorithm is None:
        raise ConfigError(f"TSIG key {name} has no algorithm")
    wire = ALGORITHMS.get(algorithm.lower().rstrip("."))
    if wire is None:
        known = ", ".join(ALGORITHMS)
        raise ConfigError(f"TSIG key {name} has algorithm {algorithm!r}; torpub knows {known}")
    encoded = statements.get("secret")
    if encoded is None:
        raise ConfigError(f"TSIG key {name} has no secret")
    try:
        secret = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # Say where, never what: the text may be most of a real secret.
        raise ConfigError(f"the secret of TSIG key {name} is not base64") from None
    if not secret:
        raise ConfigError(f"TSIG key {name} has an empty secret")
    return TsigKey(name, wire, secret)


def _absolute(name: str) -> str:
    name = name.strip().lower()
    if not name or name == ".":
        raise ConfigError("a TSIG key needs a name")
    try:
        # An empty or over-long label would otherwise fail deep in dnspython.
        dns.name.from_text(name)
    except dns.exception.DNSException as e:
        raise ConfigError(f"TSIG key name {name!r} is not a DNS name: {e}") from None
    return name if name.endswith(".") else name + "."
