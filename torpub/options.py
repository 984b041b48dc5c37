"""A backend's options: declared once beside its code, checked in one place.

Each backend lists what it takes as :class:`Option` declarations. The same
declaration gives ``torpub sync --provider NAME`` its ``--flags``, checks the
keys of a ``[[targets]]`` table in torpub.toml and ``-O KEY=VALUE``, and lists
the options in ``torpub providers``. Re-exported by :mod:`torpub.provider`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from torpub.errors import ConfigError

OptionValue = str | int | float | bool | Path
OptionType = type[str] | type[int] | type[float] | type[bool] | type[Path]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_KIND = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    Path: "a path",
}
_METAVAR = {str: "TEXT", int: "INTEGER", float: "NUMBER", bool: "", Path: "PATH"}


@dataclass(frozen=True)
class Option:
    """One option a backend takes. ``help`` is a noun phrase ("the zone file torpub
    edits"): it follows the flag in ``--help`` and "needs" in an error."""

    name: str
    type: OptionType = str
    help: str = ""
    secret: bool = False
    required: bool = False
    default: OptionValue | None = None
    minimum: float | None = None
    # The command-line flag, when not the name with dashes (kept as users know it).
    flag: str | None = None

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def metavar(self) -> str:
        return _METAVAR[self.type]

    def convert(self, provider: str, value: object, base: Path | None = None) -> OptionValue:
        """``value`` (text from a flag, or a TOML value) as this option's type."""
        converted = _convert(self.type, value)
        if converted is None:
            shown = "" if self.secret else f", not {value!r}"
            raise ConfigError(f"{provider} option {self.name} must be {_KIND[self.type]}{shown}")
        if isinstance(converted, Path) and base is not None:
            converted = base / converted
        if (
            self.minimum is not None
            and isinstance(converted, int | float)
            and not isinstance(converted, bool)
            and converted < self.minimum
        ):
            raise ConfigError(f"{provider} option {self.name} must be at least {self.minimum:g}")
        return converted


def _convert(kind: OptionType, value: object) -> OptionValue | None:
    """The value as ``kind``, or None when it is not one (nan and inf are no number)."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).lower() if isinstance(value, str) else None
        return True if text in _TRUE else False if text in _FALSE else None
    if isinstance(value, bool):
        return None  # True is an int to Python, never to a user
    if kind is str:
        return value if isinstance(value, str) else None
    if kind is Path:
        return Path(value) if isinstance(value, str | Path) and str(value) else None
    if not isinstance(value, str | int | float):
        return None
    try:
        number = int(value) if kind is int and not isinstance(value, float) else float(value)
    except ValueError:
        return None
    if kind is int and isinstance(number, float):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Options:
    """A target's options after :func:`check_options`: every declared name is
    present (None when not given and without default), each of its type."""

    values: Mapping[str, OptionValue | None]

    def text(self, name: str) -> str | None:
        value = self.values[name]
        assert value is None or isinstance(value, str)
        return value

    def path(self, name: str) -> Path | None:
        value = self.values[name]
        assert value is None or isinstance(value, Path)
        return value

    def integer(self, name: str) -> int | None:
        value = self.values[name]
        assert value is None or (isinstance(value, int) and not isinstance(value, bool))
        return value

    def number(self, name: str) -> float | None:
        value = self.values[name]
        assert value is None or (isinstance(value, int | float) and not isinstance(value, bool))
        return None if value is None else float(value)

    def flag(self, name: str) -> bool | None:
        value = self.values[name]
        assert value is None or isinstance(value, bool)
        return value


def check_options(
    provider: str,
    given: Mapping[str, object],
    declared: Sequence[Option],
    base: Path | None = None,
) -> Options:
    """``given`` checked against ``declared``: an unknown key, a missing required
    one or a value of the wrong type is a ConfigError (a typo must not pass
    silently). A secret option's value is never part of a message."""
    by_name = {o.name: o for o in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise ConfigError(
            f"the {provider} provider has no option {unknown[0]!r} (it takes: {known})"
        )
    values: dict[str, OptionValue | None] = {}
    for option in declared:
        value = given.get(option.name)
        if value is None:
            if option.required:
                raise ConfigError(
                    f"the {provider} provider needs {option.help or option.name} "
                    f"({option.cli_flag})"
                )
            values[option.name] = option.default
        else:
            values[option.name] = option.convert(provider, value, base)
    return Options(values)
