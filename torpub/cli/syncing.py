"""The ``sync`` command: read each target, build what is missing, plan the DNS
changes, then show them or apply them."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from torpub import provider
from torpub.cli.app import (
    EXIT_CHANGES,
    EXIT_OK,
    OUTPUT,
    TARGET,
    BaseUrl,
    ChunkBudget,
    ChunkSize,
    ChunkTtl,
    ConfigFile,
    CreationDate,
    HeadTtl,
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
from torpub.cli.publishing import _build, _creation_date, settings_from
from torpub.errors import ConfigError
from torpub.format.records import Record, TorrentRecords
from torpub.provider import OptionValue, Target
from torpub.publish import config, propagation, render
from torpub.publish import pipeline as publish
from torpub.publish.plan import Plan, Policy
from torpub.terminal import markup


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


# The target flags of sync: each CLI parameter sets the provider option of its name.
_TARGET_FLAGS = (
    "zone_file",
    "reload_command",
    "zone_id",
    "server",
    "tsig_key_file",
    "octodns_config",
    "octodns_target",
)


@app.command("sync")
def sync_command(
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
    head_ttl: HeadTtl = None,
    chunk_ttl: ChunkTtl = None,
    owner: Owner = None,
    provider_name: Annotated[
        str | None,
        typer.Option(
            "--provider",
            "-p",
            help="DNS backend (see `torpub providers`) [default: targets in torpub.toml].",
            rich_help_panel=TARGET,
        ),
    ] = None,
    zone: Annotated[
        str | None,
        typer.Option(
            "--zone", "-z", help="Zone name [bind: read from the file].", rich_help_panel=TARGET
        ),
    ] = None,
    zone_file: Annotated[
        Path | None,
        typer.Option(
            "--zone-file", help="bind: the zone file torpub edits.", rich_help_panel=TARGET
        ),
    ] = None,
    reload_command: Annotated[
        str | None,
        typer.Option(
            "--reload-command",
            help="bind: run after writing, e.g. 'rndc reload'.",
            rich_help_panel=TARGET,
        ),
    ] = None,
    zone_id: Annotated[
        str | None,
        typer.Option(
            "--zone-id",
            help="route53: the hosted zone's ID, when the name is ambiguous.",
            rich_help_panel=TARGET,
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server", help="rfc2136: the primary server, HOST[:PORT].", rich_help_panel=TARGET
        ),
    ] = None,
    tsig_key_file: Annotated[
        Path | None,
        typer.Option(
            "--tsig-key-file",
            help="rfc2136: a key file as tsig-keygen writes it.",
            rich_help_panel=TARGET,
        ),
    ] = None,
    octodns_config: Annotated[
        Path | None,
        typer.Option(
            "--octodns-config", help="octodns: the octoDNS config file.", rich_help_panel=TARGET
        ),
    ] = None,
    octodns_target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="octodns: which provider of the config to publish through.",
            rich_help_panel=TARGET,
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", "-O", help="KEY=VALUE for the provider; repeatable.", rich_help_panel=TARGET
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
    check_server: Annotated[
        list[str] | None,
        typer.Option(
            "--check-server",
            help="With --wait: an authoritative server to check, HOST[:PORT]; repeatable "
            "[default: the provider's name servers].",
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
    ui = make_ui(verbose, quiet)
    settings = settings_from(locals())
    backends = [provider.open_target(t) for t in _targets(settings, locals())]
    # Read every target first: a zone that does not parse stops the run before
    # a single torrent is written.
    held = [publish.read_zone(b) for b in backends]
    creation = _creation_date(creation_date)
    zones = [b.zone for b in backends]
    built = _build(ui, paths or [], settings, creation, write=not dry_run, zones=zones)
    desired = publish.desired_records(built, settings)
    plans = _plan(ui, backends, held, desired, Policy(owner=settings.owner, prune=prune))
    for plan in plans:
        _show(ui, plan, output_format)
    if dry_run:
        raise typer.Exit(_dry_run_exit_code(plans, detailed_exitcode))
    servers = check_server or []
    _apply(ui, backends, plans, force=force, wait=wait, servers=servers, timeout=wait_timeout)


def _targets(settings: config.Settings, params: Mapping[str, Any]) -> list[Target]:
    """The targets from flags (with --provider) or else from torpub.toml; sync passes
    ``locals()``, as it does to settings_from."""
    provider_name, zone = params["provider_name"], params["zone"]
    options: list[str] = params["option"] or []
    given = {name: params[name] for name in _TARGET_FLAGS if params[name] is not None}
    if provider_name is None:
        if not settings.targets:
            raise ConfigError(
                "no target: pass --provider (e.g. --provider bind --zone-file FILE) "
                "or add [[targets]] to torpub.toml"
            )
        if given or options or zone:
            raise ConfigError("target flags such as --zone and --zone-file need --provider")
        return list(settings.targets)
    opts = _provider_options(options)
    opts.update({k: str(v) if isinstance(v, Path) else v for k, v in given.items()})
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


def _plan(
    ui: Ui,
    backends: Sequence[provider.Provider],
    held: Sequence[Sequence[Record] | None],
    desired: Sequence[TorrentRecords],
    policy: Policy,
) -> list[Plan]:
    """A plan per target; a zone that cannot be listed is read by name instead."""
    plans = []
    for backend, records in zip(backends, held, strict=True):
        if records is None:
            ui.note(
                f"[yellow]{markup(backend.zone)}: the zone cannot be listed, so records are read by "
                "name; --prune cannot see URLs that are no longer built[/]"
            )
            records = publish.read_by_name(backend, desired)
        plans.append(publish.plan_target(backend, desired, records, policy))
    return plans


def _show(ui: Ui, plan: Plan, output_format: Format) -> None:
    if output_format is Format.json:
        sys.stdout.write(render.to_json(plan))
    elif output_format is Format.markdown:
        sys.stdout.write(render.to_markdown(plan))
    elif ui.quiet:
        ui.out.print(render.summary(plan), markup=False)
    else:
        ui.out.print(render.to_text(plan, full=ui.verbose > 0), highlight=False)


def _dry_run_exit_code(plans: Sequence[Plan], detailed: bool) -> int:
    """0, or with --detailed-exitcode 2 when some plan has changes."""
    changed = any(p.has_changes for p in plans)
    return EXIT_CHANGES if detailed and changed else EXIT_OK


def _apply(
    ui: Ui,
    backends: Sequence[provider.Provider],
    plans: Sequence[Plan],
    *,
    force: bool,
    wait: bool,
    servers: Sequence[str],
    timeout: float,
) -> None:
    """Apply each plan with changes, once every plan has passed the safety check."""
    for plan in plans:
        plan.check_safety(force)
    for backend, plan in zip(backends, plans, strict=True):
        if plan.has_changes:
            backend.apply(plan)
            ui.note(f"[green]applied[/] {len(plan.changes)} changes to {markup(plan.zone)}")
            if wait:
                _wait(ui, backend, plan, servers, timeout)


def _wait(
    ui: Ui, backend: provider.Provider, plan: Plan, servers: Sequence[str], timeout: float
) -> None:
    def note(message: str) -> None:
        ui.note(markup(message), level=1)

    if not propagation.wait_until_live(backend, plan, servers, timeout, note):
        ui.note(
            f"[yellow]--wait: no authoritative server known for {markup(plan.zone)}; "
            "pass --check-server HOST[:PORT] to check one[/]"
        )
