"""The ``torpub`` command: flags in, one line per error out, exit codes in one place.

Exit codes: 0 done (or no changes), 1 error, 2 changes pending (only with
``--dry-run --detailed-exitcode``), 3 published but unhealthy (``check``), 64 usage
error, 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console

from torpub import __version__
from torpub.cli import checking as checking
from torpub.cli import exporting as exporting
from torpub.cli import fetching as fetching
from torpub.cli import publishing as publishing
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
    "serve",
    "server-config",
)
_RANK = {name: i for i, name in enumerate(_COMMAND_ORDER)}
app.registered_commands.sort(key=lambda c: _RANK.get(c.name or "", len(_RANK)))


def _version(value: bool) -> None:
    if value:
        print(f"torpub {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and turn every outcome into an exit code (the one place that does)."""
    err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)
    try:
        result = app(args=argv, prog_name="torpub", standalone_mode=False)
    except TorpubError as e:
        err.print(f"[bold red]torpub: error:[/] {_one_line(e)}")
        return EXIT_ERROR
    except (OSError, UnicodeError) as e:
        # The file system or the network failing where no caller said what it meant:
        # still one line, never a traceback.
        err.print(f"[bold red]torpub: error:[/] {_one_line(e)}")
        return EXIT_ERROR
    except (typer.Abort, KeyboardInterrupt):
        err.print("torpub: interrupted")
        return EXIT_INTERRUPTED
    except typer.TyperException as e:  # typer's usage errors: bad flag, missing argument
        show = getattr(e, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"torpub: {markup(e.format_message())}")
        return EXIT_USAGE
    return result if isinstance(result, int) else EXIT_OK


def _one_line(error: Exception) -> str:
    """The error as one line of markup: credentials cut out before the lines are
    joined (a header's value ends at its line), then escaped for the terminal."""
    text = redact(str(error) or type(error).__name__)
    return markup(" ".join(text.split()))


if __name__ == "__main__":
    sys.exit(main())
