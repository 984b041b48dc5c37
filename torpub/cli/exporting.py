"""The ``export`` command: the records as a file for another tool to apply."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from torpub.cli.app import (
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
    Verbose,
    app,
    make_ui,
)
from torpub.cli.publishing import _creation_date, report_to, settings_from
from torpub.errors import ConfigError, ZoneError
from torpub.terminal import markup

if TYPE_CHECKING:
    from torpub.format.records import Record, TorrentRecords


class ExportFormat(StrEnum):
    octodns = "octodns"


@app.command("export")
def export_command(
    paths: Paths = None,
    export_format: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", help="What to write.", rich_help_panel=OUTPUT),
    ] = ExportFormat.octodns,
    to: Annotated[
        Path | None,
        typer.Option(
            "--to",
            help="Write here (a directory gets <zone>.yaml); an existing file is the "
            "current state, so the previous chunk sets are kept \\[default: stdout].",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    zone: Annotated[
        str | None,
        typer.Option(
            "--zone",
            "-z",
            help="The zone the names are relative to \\[default: the artifacts' one host].",
            rich_help_panel=TARGET,
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Drop owned URLs no longer built from the file.")
    ] = False,
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
    config_file: ConfigFile = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Write the records as an [bold]octoDNS[/] zone YAML, to review and apply with octoDNS."""
    from torpub import atomic
    from torpub.publish import octodns_yaml
    from torpub.publish.plan import Policy, build_plan
    from torpub.publish.sync import Publisher

    ui = make_ui(verbose, quiet)
    settings = settings_from(locals())
    zones = [_zone_name(zone)] if zone else []
    publisher = Publisher(
        settings, report=report_to(ui), creation_date=_creation_date(creation_date)
    )
    desired = publisher.desired(paths or [], write=True, zones=zones)
    origin = zones[0] if zones else _one_host(desired)
    path = _output_path(to, origin, export_format)
    existing = _read_existing(path, origin)
    plan = build_plan(origin, desired, existing, Policy(owner=settings.owner, prune=prune))
    text = octodns_yaml.to_yaml(plan.state_after(existing), origin)
    if path is None:
        sys.stdout.write(text)
        return
    atomic.write_atomic(path, text.encode("utf-8"))
    ui.note(
        f"wrote {markup(str(path))}: {len(plan.changes)} changes for zone {markup(origin)}",
    )


def _zone_name(zone: str) -> str:
    return zone if zone.endswith(".") else zone + "."


def _one_host(desired: list[TorrentRecords]) -> str:
    hosts = sorted({d.names.host for d in desired})
    if len(hosts) != 1:
        raise ConfigError(
            f"the artifacts are on {len(hosts)} hosts ({', '.join(hosts[:3])}); pass --zone"
        )
    return hosts[0] + "."


def _output_path(to: Path | None, zone: str, export_format: ExportFormat) -> Path | None:
    if to is None:
        return None
    if to.is_dir():
        # octoDNS's YamlProvider reads <directory>/<zone>.yaml, the zone with its dot.
        return to / f"{zone}yaml"
    return to


def _read_existing(path: Path | None, zone: str) -> tuple[Record, ...]:
    from torpub.publish import octodns_yaml

    if path is None or not path.exists():
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {path}: {e}") from e
    try:
        return octodns_yaml.from_yaml(text, zone)
    except ZoneError as e:
        raise ZoneError(f"{path}: {e}; torpub export only rewrites files it wrote") from e
