"""Command-line values turned into Python ones without pydantic.

typer 0.29 coerces every parameter of the command that runs through a pydantic
``TypeAdapter``, built when the parameter is processed, given or not: importing
pydantic and building some fifteen adapters cost ``torpub build`` about 120 ms
of CPU, as much as hashing a 100 MiB file. torpub's parameters are plain
(``str``, ``int``, ``float``, ``bool``, ``Path``, a ``StrEnum``, lists of these, a
``min``/``max``): this converts them with typer's own path and choice checks
and pydantic's messages (``tests/test_coercion.py`` holds them to typer's). Any
other parameter keeps typer's adapter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._click.utils import _escape_control_characters
from typer._coercion import RuntimeParam, TypeDescriptor
from typer._param_types import coerce_cli_choice, coerce_cli_path
from typer.core import _TyperParameter

Convert = Callable[[Any, "_TyperParameter", Context], Any]

# pydantic's lax integers: surrounding blanks, underscores between digits, and a
# zero fraction ("3.0") are taken; its messages are typer's.
_INTEGRAL = re.compile(r"([+-]?[0-9](?:_?[0-9])*)(?:\.0+)?")
_NOT_INT = "Input should be a valid integer, unable to parse string as an integer"
_NOT_FLOAT = "Input should be a valid number, unable to parse string as a number"


@dataclass(frozen=True)
class PlainRuntimeParam(RuntimeParam):
    convert: Convert

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        try:
            return self.convert(value, param, ctx)
        except ValueError as e:
            raise BadParameter(_escape_control_characters(str(e)), ctx=ctx, param=param) from e


def install(command: Any, name: str = "torpub", parent: Context | None = None) -> None:
    """Give each plain parameter of ``command`` and its subcommands the plain
    conversion, before click processes any (typer builds its adapter lazily)."""
    # The help option is made on first use, from the names the context gives: made
    # here with the same context click will make, so that it is converted too.
    ctx = Context(command, parent=parent, info_name=name, **command.context_settings)
    params = [*command.params, command.get_help_option(ctx)]
    for param in params:
        if not isinstance(param, _TyperParameter):
            continue
        convert = converter(param.type_descriptor)
        if convert is not None:
            desc = param.type_descriptor
            param._runtime_param = PlainRuntimeParam(desc.parameter_info, desc.annotation, convert)
    for sub_name, sub in getattr(command, "commands", {}).items():
        install(sub, sub_name, ctx)


def converter(desc: TypeDescriptor) -> Convert | None:
    """The plain conversion of a parameter, or None to leave it to typer."""
    info = desc.parameter_info
    if info.parser is not None or desc.is_file or getattr(info, "clamp", False):
        return None
    origin: Any = get_origin(desc.annotation)
    if origin is list:
        (item,) = get_args(desc.annotation)
        one = converter(TypeDescriptor(item, info, None))
        if one is None:
            return None
        return lambda value, param, ctx: [one(v, param, ctx) for v in _items(value)]
    leaf = _leaf(desc)
    if leaf is None or (desc.annotation is not Path and desc.is_path):
        return None
    return leaf


def _items(value: Any) -> list[Any] | tuple[Any, ...]:
    return value if isinstance(value, (list, tuple)) else [value]


def _leaf(desc: TypeDescriptor) -> Convert | None:
    kind, info = desc.annotation, desc.parameter_info
    if isinstance(kind, type) and issubclass(kind, Enum):
        choices = tuple(kind)

        def choose(value: Any, param: _TyperParameter, ctx: Context) -> Any:
            try:
                return coerce_cli_choice(
                    value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx
                )
            except ValueError as e:  # worded as pydantic words a validator's error
                raise ValueError(f"Value error, {e}") from e

        return choose
    if kind is Path:
        return lambda value, param, ctx: coerce_cli_path(
            _path(value), info, path_type=Path, param=param, ctx=ctx
        )
    if kind is str:
        return lambda value, param, ctx: _typed(value, str)
    if kind is bool:
        return lambda value, param, ctx: _typed(value, bool)
    if kind is int or kind is float:
        number = _int if kind is int else _float
        return lambda value, param, ctx: _bounded(number(value), info.min, info.max)
    return None


def _typed(value: Any, kind: type) -> Any:
    # click hands over argv strings and flag booleans; anything else is typer's job,
    # which this does not pretend to do.
    if not isinstance(value, kind):
        raise ValueError(f"Input should be a valid {kind.__name__}")
    return value


def _path(value: Any) -> Path:
    return value if isinstance(value, Path) else Path(_typed(value, str))


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _INTEGRAL.fullmatch(_typed(value, str).strip())
    if match is None:
        raise ValueError(_NOT_INT)
    return int(match.group(1))


def _float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = _typed(value, str).strip()
    if not text.isascii():
        raise ValueError(_NOT_FLOAT)  # float() takes other scripts' digits
    try:
        return float(text)
    except ValueError:
        raise ValueError(_NOT_FLOAT) from None


def _bounded(number: float, low: float | None, high: float | None) -> float:
    # Written so that nan fails both bounds, as in pydantic.
    if low is not None and not number >= low:
        raise ValueError(f"Input should be greater than or equal to {_shown(low)}")
    if high is not None and not number <= high:
        raise ValueError(f"Input should be less than or equal to {_shown(high)}")
    return number


def _shown(bound: float) -> float:
    return int(bound) if isinstance(bound, float) and bound.is_integer() else bound  # as pydantic
