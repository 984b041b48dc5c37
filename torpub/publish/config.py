"""torpub.toml: the settings of a release, every key also a command-line flag."""

from __future__ import annotations

import glob
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from torpub.errors import ConfigError
from torpub.format.records import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CHUNK_TTL,
    DEFAULT_HEAD_TTL,
    MAX_TTL,
    valid_owner,
    valid_ttl,
)
from torpub.provider import OptionValue, Target

CONFIG_NAME = "torpub.toml"
DEFAULT_CHUNK_BUDGET = 16
_SIZE = re.compile(r"(?i)\s*(\d+)\s*([kmg]i?b?)?\s*")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_KINDS = {
    int: "an integer",
    str: "a string",
    list: "a list",
    bool: "true or false",
    dict: "a table",
}


@dataclass(frozen=True)
class Settings:
    """Everything one run needs, after config file and flags are merged."""

    base_url: str | None = None
    paths: tuple[str, ...] = ()
    out: str | None = None
    mirrors: tuple[str, ...] = ()
    trackers: tuple[tuple[str, ...], ...] = ()
    private: bool = False
    piece_size: int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_budget: int = DEFAULT_CHUNK_BUDGET
    max_records: int | None = None
    head_ttl: int = DEFAULT_HEAD_TTL
    chunk_ttl: int = DEFAULT_CHUNK_TTL
    owner: str | None = None
    targets: tuple[Target, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.chunk_size < 4 or self.chunk_size % 4:
            raise ConfigError(f"chunk_size {self.chunk_size} must be a positive multiple of 4")
        if self.chunk_budget < 1:
            raise ConfigError("chunk_budget must be at least 1")
        if self.max_records is not None and self.max_records < 1:
            raise ConfigError("max_records must be at least 1")
        for key in ("head_ttl", "chunk_ttl"):
            if not valid_ttl(getattr(self, key)):
                raise ConfigError(f"{key} {getattr(self, key)} must be from 0 to {MAX_TTL} seconds")
        if self.owner is not None and not valid_owner(self.owner):
            raise ConfigError(f"owner {self.owner!r} must be 1-64 of A-Z a-z 0-9 . _ -")

    def merged(self, **overrides: Any) -> Settings:
        """These settings with every override that is not None applied."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given)


def find_config(explicit: Path | None, cwd: Path) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    candidate = cwd / CONFIG_NAME
    return candidate if candidate.is_file() else None


def load(path: Path | None) -> Settings:
    """Settings from a torpub.toml; paths in it are relative to the file."""
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    return from_mapping(data, path.parent, str(path))


def from_mapping(data: Mapping[str, Any], base: Path, source: str = "config") -> Settings:
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        values[key] = _convert(key, value, base, source)
    return Settings(**values)


def _convert(key: str, value: Any, base: Path, source: str) -> Any:
    where = f"{source}: {key}"
    if key in ("base_url", "owner"):
        return _expect(value, str, where)
    if key == "out":
        return str(base / _expect(value, str, where))
    if key == "paths":
        return tuple(str(base / p) for p in _string_list(value, where))
    if key == "mirrors":
        return tuple(_string_list(value, where))
    if key == "trackers":
        return parse_trackers(_expect(value, list, where), where)
    if key == "private":
        return _expect(value, bool, where)
    if key == "piece_size":
        return parse_piece_size(value)
    if key == "targets":
        return tuple(
            _target(t, base, f"{where}[{i}]") for i, t in enumerate(_expect(value, list, where))
        )
    return _expect(value, int, where)


def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where} must be {_KINDS[kind]}, not {value!r}")
    return value


def _string_list(value: Any, where: str) -> list[str]:
    items = _expect(value, list, where)
    return [_expect(v, str, where) for v in items]


def parse_trackers(value: Sequence[Any], where: str = "trackers") -> tuple[tuple[str, ...], ...]:
    """Tiers: each item a URL (a tier of one) or a list of URLs (one tier)."""
    tiers = []
    for tier in value:
        urls = [tier] if isinstance(tier, str) else _string_list(tier, where)
        tiers.append(tuple(urls))
    return tuple(tiers)


def parse_piece_size(value: Any) -> int | None:
    """``"auto"`` (fit the DNS budget), bytes, or a size such as ``"4MiB"``."""
    if value is None or value == "auto":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE.fullmatch(str(value))
        if not match:
            raise ConfigError(f"piece size {value!r} is not 'auto' or a size like '4MiB'")
        size = int(match.group(1)) * _UNITS[(match.group(2) or "")[:1].lower()]
    if size < 16384 or size & (size - 1):
        raise ConfigError(f"piece size {size} must be a power of two of at least 16 KiB")
    return size


def _target(value: Any, base: Path, where: str) -> Target:
    table = dict(_expect(value, dict, where))
    provider = table.pop("provider", None)
    if not isinstance(provider, str):
        raise ConfigError(f'{where} needs provider = "<name>"')
    zone = table.pop("zone", None)
    if zone is not None and not isinstance(zone, str):
        raise ConfigError(f"{where}.zone must be a string")
    options: dict[str, OptionValue] = {}
    for key, option in table.items():
        if not isinstance(option, str | int | float | bool):
            raise ConfigError(f"{where}.{key} must be a string, number or boolean")
        options[key] = option
    # The backend checks the options against its declaration when it is opened;
    # path options are then taken relative to this file.
    return Target(provider, zone, options, base=base)


def expand_paths(patterns: Sequence[str]) -> list[Path]:
    """Paths as given, with shell-style globs expanded (a glob matching nothing is an error)."""
    result: list[Path] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise ConfigError(f"{pattern} matches no file")
            result += [Path(m) for m in matches]
        else:
            result.append(Path(pattern))
    return result


SCAFFOLD = """\
# torpub.toml: what `torpub build`, `torpub zone` and `torpub sync` do when run
# in this directory. Every key is also a command-line flag, which wins.

# Where the artifacts are downloaded from; each file's URL is this + its path.
base_url = "https://downloads.example.com/pub/"

# Files or directories to publish (globs allowed), relative to this file.
paths = ["dist/"]

# Write .torrent files here instead of beside each artifact.
# out = "torrents/"

# Other servers holding the same tree: extra web seeds (BEP 19).
# mirrors = ["https://mirror.example.net/pub/"]

# Trackers by tier; torrents work without them (DHT and web seeds).
# trackers = [["udp://tracker.example.org:6969/announce"]]

# private = false

# "auto" picks the smallest piece size that fits the DNS chunk budget.
# piece_size = "auto"

# Base64 characters per TXT record (a multiple of 4), and records per torrent.
# chunk_size = 900
# chunk_budget = 16

# Records (heads plus chunks) of the whole release: piece sizes grow, big files
# first, until the release fits, e.g. a zone's quota less its other records.
# max_records = 3000

# head_ttl = 300      # short: a head changes with every release
# chunk_ttl = 86400   # long: chunk names are content-addressed, never rewritten

# Publishers sharing a zone each set their own owner; torpub only changes
# heads that carry its owner tag.
# owner = "release-ci"

[[targets]]
provider = "bind"
zone = "example.com"
zone_file = "db.example.com"
# reload_command = "rndc reload example.com"
"""
