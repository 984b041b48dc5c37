"""The typer app, the options every command shares, and where output goes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    # Loaded when a command draws output: --version and --help need neither.
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 64, 130
# torpub check: published, but something a failover needs is broken.
EXIT_UNHEALTHY = 3

app = typer.Typer(
    name="torpub",
    help="Publish BitTorrent metadata in DNS, so downloads survive a dead HTTP server.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

BUILD, DNS, TARGET, OUTPUT = "Build", "DNS records", "Target", "Output"

Verbose = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="Say more; full record values.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and requested output.")]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Settings file \\[default: ./torpub.toml if present].",
        readable=False,  # read by torpub, which says what is wrong in one line
    ),
]
Paths = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Artifact files or directories \\[default: paths in torpub.toml].",
        show_default=False,
        readable=False,  # torpub checks each file itself, with a one-line error
    ),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", "-u", help="URL the artifacts are served under.", rich_help_panel=BUILD
    ),
]
Mirrors = Annotated[
    list[str] | None,
    typer.Option(
        "--mirror",
        help="Another base URL with the same tree (web seed); repeatable.",
        rich_help_panel=BUILD,
    ),
]
Trackers = Annotated[
    list[str] | None,
    typer.Option(
        "--tracker",
        help="Tracker URLs of one tier, comma-separated; repeat per tier.",
        rich_help_panel=BUILD,
    ),
]
Private = Annotated[
    bool | None,
    typer.Option("--private/--public", help="Mark torrents private.", rich_help_panel=BUILD),
]
PieceSize = Annotated[
    str | None,
    typer.Option(
        "--piece-size",
        help="'auto' (fit the DNS budget) or a size like 4MiB.",
        rich_help_panel=BUILD,
    ),
]
Out = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Write .torrent files here, not beside the artifacts.",
        rich_help_panel=BUILD,
    ),
]
CreationDate = Annotated[
    int | None,
    typer.Option(
        "--creation-date",
        help="Epoch seconds to record \\[default: $SOURCE_DATE_EPOCH, else none].",
        rich_help_panel=BUILD,
    ),
]
ChunkSize = Annotated[
    int | None,
    typer.Option(
        "--chunk-size",
        help="Base64 characters per TXT record, a multiple of 4 \\[default: 900].",
        rich_help_panel=DNS,
    ),
]
ChunkBudget = Annotated[
    int | None,
    typer.Option(
        "--chunk-budget",
        help="Most chunk records per torrent \\[default: 16].",
        rich_help_panel=DNS,
    ),
]
MaxRecords = Annotated[
    int | None,
    typer.Option(
        "--max-records",
        help="Most records (heads plus chunks) of the whole release; big files get "
        "bigger pieces first \\[default: no limit].",
        rich_help_panel=DNS,
    ),
]
HeadTtl = Annotated[
    int | None,
    typer.Option("--head-ttl", help="TTL of head records \\[default: 300].", rich_help_panel=DNS),
]
ChunkTtl = Annotated[
    int | None,
    typer.Option(
        "--chunk-ttl", help="TTL of chunk records \\[default: 86400].", rich_help_panel=DNS
    ),
]
Owner = Annotated[
    str | None,
    typer.Option("--owner", help="Owner tag: only heads with it are changed.", rich_help_panel=DNS),
]


def finite(value: float) -> float:
    """A float flag's check: click takes ``nan`` and ``inf`` as numbers."""
    if not math.isfinite(value) or value < 0:
        raise typer.BadParameter(f"{value} is not a number of seconds")
    return value


@dataclass(frozen=True)
class Ui:
    """Where output goes: results on stdout, progress and notes on stderr."""

    out: Console
    err: Console
    verbose: int
    quiet: bool

    def note(self, message: str, *, level: int = 0) -> None:
        if not self.quiet and self.verbose >= level:
            self.err.print(message, highlight=False)

    def shows_progress(self, total: int) -> bool:
        """Whether a bar of ``total`` is drawn: on a terminal, unless quiet."""
        return not self.quiet and self.err.is_terminal and total > 0

    def transfer_bar(self, *extra: ProgressColumn, show: bool = True) -> Progress:
        """The bar every byte transfer draws on stderr (hashing, downloading,
        seeding), with ``extra`` columns; drawn on a terminal only, unless quiet."""
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        return Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            *extra,
            console=self.err,
            disable=not (show and not self.quiet and self.err.is_terminal),
            transient=True,
        )

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[Progress]:
        bar = self.transfer_bar(show=self.shows_progress(total))
        with bar:
            bar.add_task(label, total=total)
            yield bar


def make_ui(verbose: int, quiet: bool) -> Ui:
    from rich.console import Console

    # No emoji codes and no highlighting: names from files and the network print as
    # they are (escaped by torpub.terminal), never as ``:fire:`` turned into 🔥.
    out = Console(soft_wrap=True, emoji=False, highlight=False)
    err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)
    return Ui(out, err, verbose, quiet)
