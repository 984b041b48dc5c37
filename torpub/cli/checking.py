"""The ``check`` command: the built (or given) URLs checked from the outside, through
DNS, every web seed and the origin; exit 0 healthy, 3 published but unhealthy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer

from torpub.cli.app import (
    EXIT_OK,
    EXIT_UNHEALTHY,
    OUTPUT,
    BaseUrl,
    ChunkBudget,
    ChunkSize,
    ChunkTtl,
    ConfigFile,
    CreationDate,
    HeadTtl,
    MaxRecords,
    Mirrors,
    Out,
    Paths,
    PieceSize,
    Private,
    Quiet,
    Trackers,
    Ui,
    Verbose,
    app,
    finite,
    make_ui,
)
from torpub.cli.publishing import _build, _creation_date, settings_from
from torpub.errors import ConfigError

CHECK = "Check"


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    prometheus = "prometheus"


@app.command("check")
def check_command(
    paths: Paths = None,
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url",
            help="A published URL to check against the torrent DNS serves (no local tree); "
            "repeatable.",
            rich_help_panel=CHECK,
        ),
    ] = None,
    resolver: Annotated[
        list[str] | None,
        typer.Option(
            "--resolver",
            "-r",
            help="A resolver HOST[:PORT]; each is checked; repeatable \\[default: the system's].",
            rich_help_panel=CHECK,
        ),
    ] = None,
    authoritative: Annotated[
        list[str] | None,
        typer.Option(
            "--authoritative",
            help="An authoritative server HOST[:PORT]; each is checked; repeatable "
            "\\[default: the zone's NS set].",
            rich_help_panel=CHECK,
        ),
    ] = None,
    sample: Annotated[
        int,
        typer.Option(
            "--sample",
            help="Pieces per web seed besides the first and last.",
            rich_help_panel=CHECK,
        ),
    ] = 3,
    full: Annotated[
        bool,
        typer.Option("--full", help="Check every piece of every web seed.", rich_help_panel=CHECK),
    ] = False,
    require_dnssec: Annotated[
        bool,
        typer.Option(
            "--require-dnssec",
            help="Answers without AD (resolvers) or RRSIG (authoritative) are faults.",
            rich_help_panel=CHECK,
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds per request.", callback=finite, rich_help_panel=CHECK
        ),
    ] = 5.0,
    output_format: Annotated[
        Format, typer.Option("--format", "-f", help="Report format.", rich_help_panel=OUTPUT)
    ] = Format.text,
    base_url: BaseUrl = None,
    mirror: Mirrors = None,
    tracker: Trackers = None,
    private: Private = None,
    piece_size: PieceSize = None,
    out: Out = None,
    creation_date: CreationDate = None,
    chunk_size: ChunkSize = None,
    chunk_budget: ChunkBudget = None,
    max_records: MaxRecords = None,
    head_ttl: HeadTtl = None,
    chunk_ttl: ChunkTtl = None,
    config_file: ConfigFile = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> int:
    """Check from the outside that every URL's failover works: DNS, web seeds, origin."""
    from torpub import check
    from torpub.check import render
    from torpub.check.run import PARTS_PER_URL
    from torpub.client.resolve import nameservers

    ui = make_ui(verbose, quiet)
    options = check.CheckOptions(
        resolvers=nameservers(resolver or ()),
        authoritative=nameservers(authoritative or ()),
        sample=sample,
        full=full,
        timeout=timeout,
        require_dnssec=require_dnssec,
    )
    targets = [check.Expected(u) for u in url or ()]
    if paths or not url:
        # Built in memory from the cache or by hashing: check writes nothing anywhere.
        settings = settings_from(locals())
        built = _build(ui, paths or [], settings, _creation_date(creation_date), write=False)
        targets += check.expected_from(built, settings.head_ttl, settings.chunk_ttl)
    if not targets:
        raise ConfigError("nothing to check: give PATHs, paths in torpub.toml, or --url")
    with _bar(ui, len(targets) * PARTS_PER_URL) as advance:
        report = check.check(targets, options, advance)
    renderers = {
        Format.text: lambda r: render.to_text(r, verbose),
        Format.json: render.to_json,
        Format.markdown: render.to_markdown,
        Format.prometheus: render.to_prometheus,
    }
    # Every network string was escaped by the renderer: no markup, no highlighting.
    ui.out.print(
        renderers[output_format](report), end="", markup=False, highlight=False, emoji=False
    )
    return EXIT_OK if report.ok else EXIT_UNHEALTHY


@contextmanager
def _bar(ui: Ui, total: int) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, on a terminal only (the library calls back)."""
    # Loaded here: every other command, --help and --version need none of it.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("[bold]checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=ui.err,
        disable=ui.quiet or not ui.err.is_terminal,
        transient=True,
    )
    with bar:
        task = bar.add_task("checking", total=total)
        yield lambda done, of: bar.update(task, completed=done, total=of)
