"""Commands of the publishing side: build, zone, sync, init, providers."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from torpub import build, config, propagation, provider, publish, render, zonefile
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
    make_ui,
)
from torpub.errors import ConfigError
from torpub.plan import Plan, Policy
from torpub.provider import OptionValue, Target


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


# The flags every build-side command shares: CLI parameter → Settings field.
_SHARED_FLAGS = {
    "base_url": "base_url",
    "mirror": "mirrors",
    "tracker": "trackers",
    "private": "private",
    "piece_size": "piece_size",
    "out": "out",
    "chunk_size": "chunk_size",
    "chunk_budget": "chunk_budget",
    "head_ttl": "head_ttl",
    "chunk_ttl": "chunk_ttl",
    "owner": "owner",
}


def settings_from(params: Mapping[str, Any]) -> config.Settings:
    """torpub.toml merged with the shared flags a command was given; commands pass
    ``locals()`` so each flag is named once, in the command's signature."""
    given = {
        field: params[name]
        for name, field in _SHARED_FLAGS.items()
        if params.get(name) not in (None, [])
    }
    if "mirrors" in given:
        given["mirrors"] = tuple(given["mirrors"])
    if "trackers" in given:
        given["trackers"] = config.parse_trackers([t.split(",") for t in given["trackers"]])
    if "out" in given:
        given["out"] = str(given["out"])
    piece = given.pop("piece_size", None)
    settings = config.load(config.find_config(params.get("config_file"), Path.cwd()))
    settings = settings.merged(**given)
    return settings if piece is None else settings.merged(piece_size=config.parse_piece_size(piece))


def _creation_date(flag: int | None) -> int | None:
    return flag if flag is not None else build.creation_date_from_env(os.environ)


def _build(
    ui: Ui,
    paths: Sequence[Path],
    settings: config.Settings,
    creation: int | None,
    *,
    write: bool,
    zones: Sequence[str] = (),
) -> list[build.Built]:
    """Scan, check and build the torrents, hashing only what is new or stale."""
    bsettings = publish.build_settings(settings, creation)
    out = Path(settings.out) if settings.out else None
    artifacts = build.scan(publish.artifact_paths(paths, settings), bsettings, out)
    for zone in zones:
        publish.check_zone_holds(artifacts, zone)
    total = build.total_bytes_to_hash(artifacts, bsettings)
    with ui.progress(total, "hashing") as bar:
        built = build.build(
            artifacts, bsettings, write=write, progress=lambda n: bar.advance(bar.task_ids[0], n)
        )
    hashed = sum(1 for b in built if not b.reused)
    noun = "torrent" if len(built) == 1 else "torrents"
    ui.note(f"{len(built)} {noun}: {hashed} hashed, {len(built) - hashed} unchanged", level=1)
    return built


@app.command("build")
def build_command(
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
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Hash and check, write nothing.")
    ] = False,
    config_file: ConfigFile = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Make a deterministic [bold].torrent[/] for each artifact, sized to fit the DNS budget."""
    ui = make_ui(verbose, quiet)
    settings = settings_from(locals())
    built = _build(ui, paths or [], settings, _creation_date(creation_date), write=not dry_run)
    for b in built:
        state = "unchanged" if b.reused else ("checked" if dry_run else "written")
        ui.note(f"{escape(str(b.artifact.torrent_path))}  {b.artifact.url}  [dim]{state}[/]")


@app.command("zone")
def zone_command(
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
    config_file: ConfigFile = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Print the records as zone-file lines with absolute names, to paste or [bold]$INCLUDE[/]."""
    ui = make_ui(verbose, quiet)
    settings = settings_from(locals())
    built = _build(ui, paths or [], settings, _creation_date(creation_date), write=True)
    desired = publish.desired_records(built, settings)
    records = sorted((r for d in desired for r in d.records), key=zonefile.record_order)
    sys.stdout.write("".join(zonefile.record_line(r) + "\n" for r in records))


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
        float, typer.Option("--wait-timeout", help="With --wait: give up after this many seconds.")
    ] = 600.0,
    config_file: ConfigFile = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Build what is missing, plan the DNS changes and apply them [dim](or just show them)[/]."""
    ui = make_ui(verbose, quiet)
    settings = settings_from(locals())
    flags: dict[str, OptionValue | Path | None] = {
        "zone_file": zone_file,
        "reload_command": reload_command,
        "zone_id": zone_id,
        "server": server,
        "tsig_key_file": tsig_key_file,
        "octodns_config": octodns_config,
        "octodns_target": octodns_target,
    }
    targets = _targets(settings, provider_name, zone, flags, option or [])
    backends = [provider.open_target(t) for t in targets]
    # Read every target first: a zone that does not parse stops the run before
    # a single torrent is written.
    existing = [publish.read_zone(b) for b in backends]
    built = _build(
        ui,
        paths or [],
        settings,
        _creation_date(creation_date),
        write=not dry_run,
        zones=[b.zone for b in backends],
    )
    desired = publish.desired_records(built, settings)
    policy = Policy(owner=settings.owner, prune=prune)
    plans = []
    for backend, held in zip(backends, existing, strict=True):
        if held is None:
            ui.note(
                f"[yellow]{backend.zone}: the zone cannot be listed, so records are read by "
                "name; --prune cannot see URLs that are no longer built[/]"
            )
            held = publish.read_by_name(backend, desired)
        plans.append(publish.plan_target(backend, desired, held, policy))
    for plan in plans:
        _show(ui, plan, output_format)
    if dry_run:
        changed = any(p.has_changes for p in plans)
        raise typer.Exit(EXIT_CHANGES if detailed_exitcode and changed else EXIT_OK)
    for plan in plans:
        plan.check_safety(force)
    for backend, plan in zip(backends, plans, strict=True):
        if plan.has_changes:
            backend.apply(plan)
            ui.note(f"[green]applied[/] {len(plan.changes)} changes to {plan.zone}")
            if wait:
                _wait(ui, backend, plan, check_server or [], wait_timeout)


def _wait(
    ui: Ui, backend: provider.Provider, plan: Plan, servers: Sequence[str], timeout: float
) -> None:
    def note(message: str) -> None:
        ui.note(escape(message), level=1)

    if not propagation.wait_until_live(backend, plan, servers, timeout, note):
        ui.note(
            f"[yellow]--wait: no authoritative server known for {plan.zone}; "
            "pass --check-server HOST[:PORT] to check one[/]"
        )


def _targets(
    settings: config.Settings,
    provider_name: str | None,
    zone: str | None,
    flags: dict[str, OptionValue | Path | None],
    options: Sequence[str],
) -> list[Target]:
    """The targets from flags (with --provider) or else from torpub.toml."""
    given = {k: v for k, v in flags.items() if v is not None}
    if provider_name is None:
        if not settings.targets:
            raise ConfigError(
                "no target: pass --provider (e.g. --provider bind --zone-file FILE) "
                "or add [[targets]] to torpub.toml"
            )
        if given or options or zone:
            raise ConfigError("target flags such as --zone and --zone-file need --provider")
        return list(settings.targets)
    opts: dict[str, OptionValue] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option {item!r} is not KEY=VALUE")
        opts[key.replace("-", "_")] = value
    opts.update({k: str(v) if isinstance(v, Path) else v for k, v in given.items()})
    return [Target(provider_name, zone, opts)]


def _show(ui: Ui, plan: Plan, output_format: Format) -> None:
    if output_format is Format.json:
        sys.stdout.write(render.to_json(plan))
    elif output_format is Format.markdown:
        sys.stdout.write(render.to_markdown(plan))
    elif ui.quiet:
        ui.out.print(render.summary(plan), highlight=False)
    else:
        ui.out.print(render.to_text(plan, full=ui.verbose > 0), highlight=False)


@app.command("init")
def init_command(
    path: Annotated[Path, typer.Argument(help="Where to write the scaffold.")] = Path(
        config.CONFIG_NAME
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Write a commented [bold]torpub.toml[/] to start from."""
    ui = make_ui(verbose, quiet)
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; pass --force to overwrite it")
    try:
        path.write_text(config.SCAFFOLD, encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror}") from e
    ui.note(
        f"wrote {escape(str(path))}: edit base_url, paths and [[targets]], then run torpub sync --dry-run"
    )


@app.command("providers")
def providers_command(verbose: Verbose = 0, quiet: Quiet = False) -> None:
    """List the DNS backends installed (entry-point group [bold]torpub.providers[/])."""
    ui = make_ui(verbose, quiet)
    for info in provider.installed():
        where = f"{info.distribution} {info.version}" if info.distribution else "?"
        detail = f"  ({info.value})" if verbose else ""
        ui.out.print(f"{info.name:<12} {where}{detail}", highlight=False)
