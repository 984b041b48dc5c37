"""``torpub seed``: seed every artifact's torrent, built as ``build`` builds it,
from one BitTorrent session until SIGTERM or Ctrl-C."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from torpub.cli.app import (
    BaseUrl,
    ChunkBudget,
    ChunkSize,
    ConfigFile,
    CreationDate,
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
from torpub.terminal import markup

if TYPE_CHECKING:
    from rich.console import RenderableType

    from torpub.client.seed import Changes, SeedItem, SwarmStats
    from torpub.client.seedloop import Controls, LoopReport

# session.DEFAULT_LISTEN, spelled out so --help loads no libtorrent.
_LISTEN = "0.0.0.0:6881,[::]:6881"
SEEDING = "Seeding"
# Plain log lines (not a terminal): one status line this often, when it changed.
_LOG_EVERY = 60.0
_SHOWN = 15


@app.command("seed")
def seed_command(
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
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            help="PORT (0: any free port) or HOST:PORT,… to listen on.",
            rich_help_panel=SEEDING,
        ),
    ] = _LISTEN,
    upload_limit: Annotated[
        str,
        typer.Option(
            "--upload-limit",
            help="Upload cap for the whole session, bytes/s like 500K or 10M (K = 1024);"
            " 0 for none. Holds for peers on the LAN too.",
            rich_help_panel=SEEDING,
        ),
    ] = "0",
    max_peers: Annotated[
        int | None,
        typer.Option(
            "--max-peers",
            help="Most peer connections at once \\[default: libtorrent's, 200].",
            min=1,
            rich_help_panel=SEEDING,
        ),
    ] = None,
    no_dht: Annotated[
        bool,
        typer.Option(
            "--no-dht",
            help="No DHT, local discovery, UPnP or NAT-PMP: peers come from the trackers.",
            rich_help_panel=SEEDING,
        ),
    ] = False,
    super_seed: Annotated[
        bool,
        typer.Option(
            "--super-seed",
            help="Offer each peer only pieces no peer has had from here yet (BEP 16):"
            " a capped origin sends each piece about once.",
            rich_help_panel=SEEDING,
        ),
    ] = False,
    rescan_interval: Annotated[
        float,
        typer.Option(
            "--rescan-interval",
            help="Seconds between looks at the tree for new or changed artifacts"
            " (SIGHUP: look now, and read torpub.toml again).",
            min=0.1,
            callback=finite,
            rich_help_panel=SEEDING,
        ),
    ] = 10.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary at the end as one JSON object.")
    ] = False,
    config_file: ConfigFile = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Seed every artifact's torrent until SIGTERM or Ctrl-C, then print a summary.

    The torrents are the ones [bold]build[/] makes from the same flags and torpub.toml;
    files the build cache vouches for are not hashed again. Nothing is written.
    """
    from torpub.client import seedloop
    from torpub.client.seed import SeedOptions, Swarm
    from torpub.client.session import parse_rate

    ui = make_ui(verbose, quiet)
    flags = dict(locals())
    options = SeedOptions(
        listen=listen,
        dht=not no_dht,
        upload_limit=parse_rate(upload_limit),
        max_peers=max_peers,
        super_seed=super_seed,
    )
    # The first build runs before the session opens: a bad flag or tree stops here.
    first = [_items(ui, flags)]
    swarm = Swarm(options, note=lambda m: ui.note(markup(m)))
    ui.note(f"listening on port {swarm.port}")
    controls = seedloop.Controls()
    with _signals(controls), _display(ui) as report:
        stats = seedloop.run(
            swarm,
            lambda: first.pop() if first else _items(ui, flags),
            lambda: _watched(flags),
            controls,
            report,
            rescan_interval=rescan_interval,
        )
    if as_json:
        ui.out.print_json(json.dumps(stats.summary()), ensure_ascii=True)
    else:
        _print_summary(ui, stats)


def _items(ui: Ui, flags: dict[str, Any]) -> list[SeedItem]:
    """The torrents as ``build`` makes them; torpub.toml is read again each time."""
    from torpub.client.seed import SeedItem

    date = _creation_date(flags["creation_date"])
    built = _build(ui, flags["paths"] or [], settings_from(flags), date, write=False)
    return [SeedItem(b.artifact.url, b.artifact.path, b.torrent) for b in built]


def _watched(flags: dict[str, Any]) -> list[Path]:
    from torpub.publish import pipeline

    return pipeline.artifact_paths(flags["paths"] or [], settings_from(flags))


@contextmanager
def _signals(controls: Controls) -> Iterator[None]:
    """SIGTERM and SIGINT stop the loop (a second one stops at once); SIGHUP rescans."""

    def stop(_signum: int, _frame: object) -> None:
        if controls.stop.is_set():
            raise KeyboardInterrupt
        controls.stop.set()

    wanted = {signal.SIGTERM: stop, signal.SIGINT: stop}
    wanted[signal.SIGHUP] = lambda _signum, _frame: controls.rescan.set()
    previous = {number: signal.signal(number, handler) for number, handler in wanted.items()}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def _display(ui: Ui) -> Iterator[LoopReport]:
    """A live table on a terminal; plain log lines otherwise."""
    from rich.live import Live

    from torpub.client.seedloop import LoopReport

    def changes(done: Changes, count: int) -> None:
        for name, reason in done.skipped:
            ui.note(f"not seeding {markup(name)}: {markup(reason)}")
        for name in done.added:
            ui.note(f"added {markup(name)}", level=1)
        for name in done.removed:
            ui.note(f"removed {markup(name)}", level=1)
        changed = 0 if done.added or done.removed else 1
        summary = f"{len(done.added)} added, {len(done.removed)} removed"
        ui.note(f"seeding {_count(count)} ({summary})", level=changed)

    note = lambda m: ui.note(markup(m))  # noqa: E731
    if ui.quiet or not ui.err.is_terminal:
        last: list[Any] = [0.0, -1]

        def log(stats: SwarmStats) -> None:
            now = time.monotonic()
            if now - last[0] >= _LOG_EVERY and stats.uploaded != last[1]:
                last[:] = [now, stats.uploaded]
                ui.note(_status_line(stats))

        yield LoopReport(changes=changes, stats=log, note=note)
        return
    with Live(console=ui.err, transient=True, refresh_per_second=2) as live:
        yield LoopReport(changes=changes, stats=lambda s: live.update(_table(s)), note=note)


def _status_line(stats: SwarmStats) -> str:
    return (
        f"{_count(len(stats.torrents))}, {stats.peers} peers,"
        f" up {_size(stats.rate)}/s, {_size(stats.uploaded)} uploaded"
    )


def _table(stats: SwarmStats) -> RenderableType:
    from rich.table import Table

    table = Table(title=_status_line(stats), title_justify="left", expand=False)
    for column in ("torrent", "peers", "up/s", "uploaded"):
        table.add_column(column, justify="left" if column == "torrent" else "right")
    busiest = sorted(stats.torrents, key=lambda t: (-t.rate, -t.peers, -t.uploaded))
    for t in busiest[:_SHOWN]:
        if t.peers or t.uploaded:
            table.add_row(markup(t.name), str(t.peers), _size(t.rate), _size(t.uploaded))
    return table


def _print_summary(ui: Ui, stats: SwarmStats) -> None:
    ui.out.print(f"uploaded {_size(stats.uploaded)} from {_count(len(stats.torrents))}")
    for t in stats.torrents:
        if t.uploaded:
            ui.out.print(f"  {_size(t.uploaded):>10}  {markup(t.name)}  ({t.peers_seen} peers)")


def _count(torrents: int) -> str:
    return f"{torrents} torrent" if torrents == 1 else f"{torrents} torrents"


def _size(n: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    step = 0
    while n >= 1024 and step < len(units) - 1:
        n, step = n / 1024, step + 1
    return f"{n:.0f} B" if step == 0 else f"{n:.1f} {units[step]}"
