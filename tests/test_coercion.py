"""torpub.cli.coercion converts every parameter of every command as typer's own
pydantic adapters do (the same values, the same messages), without pydantic."""

from __future__ import annotations

import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pytest
import typer.main
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter

from torpub.cli import _command, coercion

NUMBERS = ["1", " 7 ", "1_000", "+3", "-1", "-0", "2.0", "2.00", "1.5", "1e3", "0x10", ""]
NUMBERS += ["abc", "٣", "１", "00012", "70000", "1.", ".5", "nan", "inf", "-inf", "Infinity"]
NUMBERS += ["1e400", "65535", "65536", "0.05", "0.1", "12345678901234567890123"]
TEXT = ["x", "", "ünï", "a b", "-", "~/y", "/tmp/x", "\x1b[31m"]


def samples(annotation: Any) -> list[Any]:
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return [(), tuple(samples(item)[:3]), list(samples(item)[:2])]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [*(m.value for m in annotation), *(m.value.upper() for m in annotation), "bogus", ""]
    if annotation in (int, float):
        return NUMBERS
    if annotation is bool:
        return [True, False]
    return TEXT


def outcome(runtime: Any, value: Any, param: _TyperParameter, ctx: Context) -> Any:
    try:
        return ("value", repr(runtime.coerce(value, param=param, ctx=ctx)))  # nan == nan
    except BadParameter as e:
        return ("error", e.message)


def every_parameter() -> list[tuple[str, _TyperParameter, Context]]:
    found = []
    for argv in (["build"], ["sync", "-p", "bind"], ["sync", "-p", "rfc2136"]):
        group = _command(argv)
        root = Context(group, info_name="torpub", **group.context_settings)
        for name, command in group.commands.items():
            ctx = Context(command, parent=root, info_name=name, **command.context_settings)
            for param in [*command.params, command.get_help_option(ctx)]:
                if isinstance(param, _TyperParameter):
                    found.append((f"{argv[0]} {name} {param.name}", param, ctx))
    return found


def test_every_parameter_is_converted_without_typers_adapter() -> None:
    for label, param, _ in every_parameter():
        assert isinstance(param._runtime_param, coercion.PlainRuntimeParam), label


def test_values_and_messages_are_typers() -> None:
    compared = 0
    for label, param, ctx in every_parameter():
        reference = build_runtime_param(param.type_descriptor)
        for value in samples(param.type_descriptor.annotation):
            ours = outcome(param._runtime_param, value, param, ctx)
            assert ours == outcome(reference, value, param, ctx), (label, value)
            compared += 1
    assert compared > 500


def test_a_parameter_torpub_does_not_have_is_left_to_typer() -> None:
    app = typer.Typer()

    @app.command()
    def command(when: Annotated[Any, typer.Option(parser=int)] = None) -> None:
        pass

    [param] = [p for p in typer.main.get_command(app).params if p.name == "when"]
    assert coercion.converter(param.type_descriptor) is None


def test_a_build_loads_no_pydantic(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"x")
    code = (
        "import sys; from torpub.cli import main;"
        "code = main(['build', 'a.bin', '-u', 'https://dl.example.com/pub/', '--chunk-size', '900']);"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'torf')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert result.stdout.split(maxsplit=1) == ["0", "[]\n"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["build", "--chunk-size", "abc"], "Input should be a valid integer"),
        (["sync", "--format", "bogus"], "'bogus' is not one of 'text', 'json', 'markdown'."),
    ],
)
def test_a_bad_value_is_one_usage_error(argv: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "torpub", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 64
    assert message in result.stderr
    assert "Traceback" not in result.stderr
