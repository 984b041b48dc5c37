"""The ``sync`` command: read each target, build what is missing, plan the DNS
changes, then show them or apply them."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from torpub.cli import targetflags
from torpub.cli.app import (
    EXIT_CHANGES,
    EXIT_OK,
    EXIT_UNHEALTHY,
    OUTPUT,
    TARGET,
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
    Owner,
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
from torpub.cli.publishing import _creation_date, report_to, settings_from
from torpub.errors import ConfigError

if TYPE_CHECKING:
    from torpub.provider import OptionValue, Target
    from torpub.publish import config
    from torpub.publish.plan import Plan
    from torpub.publish.sync import Publisher


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command("sync")
def sync_command(
    ctx: typer.Context,
    paths: Paths = None,
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
    owner: Owner = None,
    provider_name: Annotated[
        str | None,
        typer.Option(
            "--provider",
            "-p",
            help="DNS backend; its options become flags here: see "
            "`torpub sync --provider NAME --help` or `torpub providers` "
            "\\[default: targets in torpub.toml].",
            rich_help_panel=TARGET,
        ),
    ] = None,
    zone: Annotated[
        str | None,
        typer.Option(
            "--zone",
            "-z",
            help="Zone name \\[some backends read it, e.g. bind from the zone file].",
            rich_help_panel=TARGET,
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-O",
            help="KEY=VALUE, any option the provider declares; repeatable.",
            rich_help_panel=TARGET,
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also remove owned URLs no longer built.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Apply even past the 30% safety threshold.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Print the plan; write nothing at all.")
    ] = False,
    output_format: Annotated[
        Format, typer.Option("--format", "-f", help="Plan format.", rich_help_panel=OUTPUT)
    ] = Format.text,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="With --dry-run: exit 2 when there are changes.",
            rich_help_panel=OUTPUT,
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="After applying, wait until the provider has the changes live, then until "
            "the zone's authoritative servers answer them.",
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="After applying (and --wait), check from the outside that every URL's "
            "failover works, as `torpub check` does; exit 3 when something is broken.",
        ),
    ] = False,
    check_server: Annotated[
        list[str] | None,
        typer.Option(
            "--check-server",
            help="With --wait or --check: an authoritative server to ask, HOST[:PORT]; "
            "repeatable \\[default: the provider's name servers].",
        ),
    ] = None,
    check_resolver: Annotated[
        list[str] | None,
        typer.Option(
            "--check-resolver",
            help="With --check: a resolver to check through, HOST[:PORT]; repeatable "
            "\\[default: the system's].",
        ),
    ] = None,
    wait_timeout: Annotated[
        float,
        typer.Option(
            "--wait-timeout",
            help="With --wait: give up after this many seconds.",
            callback=finite,
        ),
    ] = 600.0,
    config_file: ConfigFile = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Build what is missing, plan the DNS changes and apply them [dim](or just show them)[/]."""
    from torpub.publish.sync import Publisher

    if check and dry_run:
        raise ConfigError("--check checks what sync applied; for a dry run, run torpub check")
    ui = make_ui(verbose, quiet)
    settings = settings_from(locals())
    targets = _targets(settings, locals(), targetflags.given(ctx))
    creation = _creation_date(creation_date)
    publisher = Publisher(settings, targets, report_to(ui), creation)
    plans = publisher.plan(paths or [], dry_run=dry_run, prune=prune)
    for plan in plans:
        _show(ui, plan, output_format)
    if dry_run:
        raise typer.Exit(_dry_run_exit_code(plans, detailed_exitcode))
    servers = check_server or []
    publisher.apply(plans, force=force, wait=wait, servers=servers, timeout=wait_timeout)
    if check:
        raise typer.Exit(_check(ui, publisher, servers, check_resolver or [], output_format))


def _targets(
    settings: config.Settings, params: Mapping[str, Any], flags: Mapping[str, OptionValue]
) -> list[Target]:
    """The target from --provider and its flags, or else those of torpub.toml;
    sync passes ``locals()``, as it does to settings_from."""
    from torpub.provider import Target

    provider_name, zone = params["provider_name"], params["zone"]
    options: list[str] = params["option"] or []
    if provider_name is None:
        if not settings.targets:
            raise ConfigError(
                "no target: pass --provider (e.g. --provider bind --zone-file FILE) "
                "or add [[targets]] to torpub.toml"
            )
        if options or zone:
            raise ConfigError("target flags such as --zone and --option need --provider")
        return list(settings.targets)
    opts = _provider_options(options)
    opts.update(flags)
    return [Target(provider_name, zone, opts)]


def _provider_options(options: Sequence[str]) -> dict[str, OptionValue]:
    """The --option KEY=VALUE items; a dash in a key reads as an underscore."""
    opts: dict[str, OptionValue] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option {item!r} is not KEY=VALUE")
        opts[key.replace("-", "_")] = value
    return opts


def _show(ui: Ui, plan: Plan, output_format: Format) -> None:
    from torpub.publish import render

    if output_format is Format.json:
        sys.stdout.write(render.to_json(plan))
    elif output_format is Format.markdown:
        sys.stdout.write(render.to_markdown(plan))
    elif ui.quiet:
        ui.out.print(render.summary(plan), markup=False)
    else:
        ui.out.print(render.to_text(plan, full=ui.verbose > 0), highlight=False)


def _check(
    ui: Ui,
    publisher: Publisher,
    servers: Sequence[str],
    resolvers: Sequence[str],
    output_format: Format,
) -> int:
    """``torpub check`` of what this sync built, after it was applied."""
    from torpub import check
    from torpub.check import render
    from torpub.client.resolve import nameservers

    options = check.CheckOptions(
        resolvers=nameservers(resolvers),
        authoritative=nameservers(publisher.nameservers(servers)),
    )
    settings = publisher.settings
    expected = check.expected_from(publisher.last_built, settings.head_ttl, settings.chunk_ttl)
    report = check.check(expected, options)
    if output_format is Format.json:
        text = render.to_json(report, indent=None)  # one more line of JSON Lines
    elif output_format is Format.markdown:
        text = render.to_markdown(report)
    else:
        text = render.to_text(report, ui.verbose)
    # Every network string was escaped by the renderer: no markup, no highlighting.
    ui.out.print(text, end="", markup=False, highlight=False, emoji=False)
    return EXIT_OK if report.ok else EXIT_UNHEALTHY


def _dry_run_exit_code(plans: Sequence[Plan], detailed: bool) -> int:
    """0, or with --detailed-exitcode 2 when some plan has changes."""
    changed = any(p.has_changes for p in plans)
    return EXIT_CHANGES if detailed and changed else EXIT_OK
