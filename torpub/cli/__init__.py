"""The ``torpub`` command: flags in, one line per error out, exit codes in one place.

Exit codes: 0 done (or no changes), 1 error, 2 changes pending (only with
``--dry-run --detailed-exitcode``), 3 published but unhealthy (``check``), 64 usage
error, 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.main

from torpub import __version__
from torpub.cli import checking as checking
from torpub.cli import coercion, targetflags
from torpub.cli import exporting as exporting
from torpub.cli import fetching as fetching
from torpub.cli import publishing as publishing
from torpub.cli import seeding as seeding
from torpub.cli import serving as serving
from torpub.cli import syncing as syncing
from torpub.cli.app import (
    EXIT_CHANGES as EXIT_CHANGES,
)
from torpub.cli.app import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNHEALTHY,
    EXIT_USAGE,
    app,
)
from torpub.errors import TorpubError
from torpub.redaction import redact
from torpub.terminal import markup

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "EXIT_CHANGES",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNHEALTHY",
    "EXIT_USAGE",
    "app",
    "main",
]

# Each module registers its commands as it is imported; --help lists them in the
# order of the job instead (a command not named here comes last).
_COMMAND_ORDER = (
    "build",
    "zone",
    "sync",
    "check",
    "init",
    "providers",
    "export",
    "resolve",
    "get",
    "seed",
    "serve",
    "server-config",
)
_RANK = {name: i for i, name in enumerate(_COMMAND_ORDER)}
app.registered_commands.sort(key=lambda c: _RANK.get(c.name or "", len(_RANK)))


def _version(value: bool) -> None:
    if value:
        print(_VERSION)
        raise typer.Exit()


_VERSION = f"torpub {__version__}"


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and turn every outcome into an exit code (the one place that does)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        # Answered before typer builds the click command of every subcommand (about
        # a third of this process's start-up); with other arguments click decides.
        print(_VERSION)
        return EXIT_OK
    _quiet_libraries()
    try:
        result = _command(args).main(args=args, prog_name="torpub", standalone_mode=False)
    except (TorpubError, OSError, UnicodeError) as e:
        # OSError and UnicodeError: the file system or the network failing where no
        # caller said what it meant; still one line, never a traceback.
        _stderr().print(f"[bold red]torpub: error:[/] {_one_line(e)}")
        return EXIT_ERROR
    except ModuleNotFoundError as e:
        # A backend's SDK is an optional extra (boto3, cloudflare, octodns), imported
        # when a target is opened or used.
        missing = e.name or str(e)
        _stderr().print(
            f"[bold red]torpub: error:[/] the Python module '{markup(missing)}' is not "
            "installed: install the backend's extra, e.g. pip install 'torpub[route53]'"
        )
        return EXIT_ERROR
    except (typer.Abort, KeyboardInterrupt):
        _stderr().print("torpub: interrupted")
        return EXIT_INTERRUPTED
    except typer.TyperException as e:  # typer's usage errors: bad flag, missing argument
        show = getattr(e, "show", None)
        if callable(show):
            show()
        else:
            _stderr().print(f"torpub: {markup(e.format_message())}")
        return EXIT_USAGE
    return result if isinstance(result, int) else EXIT_OK


def _command(args: Sequence[str]) -> Any:
    """The click command, with the chosen backend's flags when a command takes a
    target: they depend on --provider, so argv is read for it before parsing."""
    command: Any = typer.main.get_command(app)  # a group: the subcommands by name
    name = targetflags.provider_in(args)
    if name is not None:
        from torpub import provider

        for sub in targetflags.TARGET_COMMANDS:
            targetflags.add_flags(command.commands[sub], provider.declared_options(name))
    coercion.install(command)
    return command


def _quiet_libraries() -> None:
    """Keep libraries' log records off the terminal. With no handler configured,
    Python's last-resort handler prints warnings with their tracebacks (octoDNS logs
    one before raising the error torpub then reports in its one line)."""
    import logging

    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


def _stderr() -> Console:
    # rich loads only when there is something to say: --version needs none of it.
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)


def _one_line(error: Exception) -> str:
    """The error as one line of markup: credentials cut out before the lines are
    joined (a header's value ends at its line), then escaped for the terminal."""
    text = redact(str(error) or type(error).__name__)
    return markup(" ".join(text.split()))


if __name__ == "__main__":
    sys.exit(main())
