"""The ``--flags`` of the chosen backend, derived from its option declaration.

``torpub sync --provider NAME`` gets one flag per option NAME declares, and
only NAME is imported to learn them, so the core names no backend's option
and a third-party plug-in gets real flags too. The values go to ``ctx.meta``
as given; the backend checks them against the same declaration as a
``[[targets]]`` table (:func:`torpub.options.check_options`).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Annotated, Any

import typer
import typer.main

from torpub.cli.app import TARGET
from torpub.options import Option, OptionValue

_META_KEY = "torpub.provider_options"
# The commands that take a target from --provider.
TARGET_COMMANDS = frozenset({"sync"})


def provider_in(argv: Sequence[str]) -> str | None:
    """The NAME of ``--provider NAME`` (or ``-p NAME``, ``--provider=NAME``, ``-pNAME``)
    when the command is one that takes a target; read before typer parses, since
    the flags it may take depend on it."""
    commands = [a for a in argv if not a.startswith("-")]
    if not commands or commands[0] not in TARGET_COMMANDS:
        return None
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg in ("--provider", "-p") and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--provider="):
            found = arg.partition("=")[2]
        elif arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--"):
            found = arg[2:]
    return found


def add_flags(command: Any, declared: Sequence[Option]) -> None:
    """Append a flag per declared option to the click ``command``; a flag the
    command already has (``--zone``, ``--wait-timeout``) stays the command's, and
    that option is still reachable as ``-O KEY=VALUE``."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    usable = [o for o in declared if o.cli_flag not in taken]
    for param in _typer_params(usable):
        param.expose_value = False  # typer's wrapper would refuse an unknown keyword
        param.callback = _store
        command.params.append(param)


def given(ctx: typer.Context) -> dict[str, OptionValue]:
    """The values of the backend's flags on this command line (text, or a bool)."""
    found: dict[str, OptionValue] = ctx.meta.get(_META_KEY, {})
    return dict(found)


def _store(ctx: typer.Context, param: Any, value: object) -> object:
    if value is not None:
        ctx.meta.setdefault(_META_KEY, {})[param.name] = value
    return value


def _typer_params(declared: Sequence[Option]) -> list[Any]:
    """The options as typer's own parameters (so its help shows them in the
    Target panel), made by typer from a synthesised signature."""
    params = [
        inspect.Parameter(
            o.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=_annotation(o),
        )
        for o in declared
    ]

    def scratch(**values: object) -> None:
        pass

    scratch.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    holder = typer.Typer()
    holder.command()(scratch)
    found: list[Any] = typer.main.get_command(holder).params
    return found


def _annotation(option: Option) -> Any:
    from rich.markup import escape  # rich loads when a target's flags are added, not at start-up

    help_text = escape(option.help) + (" (secret)" if option.secret else "")
    if option.type is bool:
        flag = option.cli_flag
        no = "--no-" + flag.removeprefix("--")
        info = typer.Option(f"{flag}/{no}", help=help_text, rich_help_panel=TARGET)
        return Annotated[bool | None, info]
    info = typer.Option(
        option.cli_flag,
        help=help_text,
        metavar=option.metavar,
        show_default=False,
        rich_help_panel=TARGET,
    )
    # Text, whatever the type: the backend's declaration converts and checks it,
    # with the same one-line errors as for torpub.toml.
    return Annotated[str | None, info]


def describe(option: Option) -> str:
    """One line for ``torpub providers``: the flag, what it is, its default."""
    metavar = f" {option.metavar}" if option.metavar else ""
    flag = option.cli_flag
    if option.type is bool:
        flag += "/--no-" + flag.removeprefix("--")
    notes = ["required"] if option.required else []
    if option.default is not None and not option.secret:
        notes.append(f"default: {option.default}")
    if option.secret:
        notes.append("secret")
    tail = f" ({', '.join(notes)})" if notes else ""
    return f"{flag}{metavar}  {option.help}{tail}  [-O {option.name}=…]"
