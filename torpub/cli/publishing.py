"""Commands of the publishing side: build, zone, init, providers; and the settings and
build step that sync and export share with them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from torpub.cli import targetflags
from torpub.cli.app import (
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
    make_ui,
)
from torpub.errors import ConfigError
from torpub.terminal import markup

if TYPE_CHECKING:
    from torpub.publish import build, config
    from torpub.publish.sync import Report

# What a command runs is imported inside it, so each command pays only for its
# own imports and --help for none (libtorrent, dnspython, torf load on use).

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
    "max_records": "max_records",
    "head_ttl": "head_ttl",
    "chunk_ttl": "chunk_ttl",
    "owner": "owner",
}


def settings_from(params: Mapping[str, Any]) -> config.Settings:
    """torpub.toml merged with the shared flags a command was given; commands pass
    ``locals()`` so each flag is named once, in the command's signature."""
    from torpub.publish import config

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
    from torpub.publish import build

    return flag if flag is not None else build.creation_date_from_env(os.environ)


def report_to(ui: Ui) -> Report:
    """The library's progress and notes, drawn: notes on stderr, a bar while hashing."""
    from torpub.publish.sync import Report

    @contextmanager
    def hashing(total: int) -> Iterator[Callable[[int], None]]:
        if not ui.shows_progress(total):
            yield lambda n: None  # no bar: rich's progress module (25 ms) stays unloaded
            return
        with ui.progress(total, "hashing") as bar:
            yield lambda n: bar.advance(bar.task_ids[0], n)

    return Report(
        note=lambda message, level: ui.note(markup(message), level=level), hashing=hashing
    )


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
    from torpub.publish.sync import Publisher

    publisher = Publisher(settings, report=report_to(ui), creation_date=creation)
    return publisher.built(paths, write=write, zones=zones)


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
    max_records: MaxRecords = None,
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
        ui.note(
            f"{markup(str(b.artifact.torrent_path))}  {markup(b.artifact.url)}  [dim]{state}[/]"
        )


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
    max_records: MaxRecords = None,
    head_ttl: HeadTtl = None,
    chunk_ttl: ChunkTtl = None,
    owner: Owner = None,
    config_file: ConfigFile = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Print the records as zone-file lines with absolute names, to paste or [bold]$INCLUDE[/]."""
    from torpub.publish import pipeline as publish
    from torpub.publish import zonefile

    ui = make_ui(verbose, quiet)
    settings = settings_from(locals())
    built = _build(ui, paths or [], settings, _creation_date(creation_date), write=True)
    desired = publish.desired_records(built, settings)
    records = sorted((r for d in desired for r in d.records), key=zonefile.record_order)
    sys.stdout.write("".join(zonefile.record_line(r) + "\n" for r in records))


@app.command("init")
def init_command(
    path: Annotated[Path, typer.Argument(help="Where to write the scaffold.")] = Path(
        "torpub.toml"  # config.CONFIG_NAME, spelled out so --help loads no config code
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Write a commented [bold]torpub.toml[/] to start from."""
    from torpub.publish import config

    ui = make_ui(verbose, quiet)
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; pass --force to overwrite it")
    try:
        path.write_text(config.SCAFFOLD, encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror}") from e
    ui.note(
        f"wrote {markup(str(path))}: edit base_url, paths and [[targets]], then run torpub sync --dry-run"
    )


@app.command("providers")
def providers_command(
    name: Annotated[
        str | None, typer.Argument(help="Only this backend.", show_default=False)
    ] = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """List the DNS backends installed and the options each takes.

    Backends are plug-ins of the entry-point group [bold]torpub.providers[/]; each
    option is also a flag of [bold]torpub sync --provider NAME[/].
    """
    from torpub import provider

    ui = make_ui(verbose, quiet)
    found = [i for i in provider.installed() if name in (None, i.name)]
    if name is not None and not found:
        provider.load(name)  # the one-line error naming what is installed
    for info in found:
        where = f"{info.distribution} {info.version}" if info.distribution else "?"
        detail = f"  ({info.value})" if verbose else ""
        ui.out.print(markup(f"{info.name:<12} {where}{detail}"))
        for option in provider.declared_options(info.name):
            ui.out.print(f"    {markup(targetflags.describe(option))}")
