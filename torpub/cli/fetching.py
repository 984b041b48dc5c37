"""Commands of the downloading side: resolve (DNS → .torrent) and get (URL → file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from torpub.cli.app import Quiet, Ui, Verbose, app, finite, make_ui
from torpub.errors import ConfigError, DownloadError
from torpub.terminal import markup

if TYPE_CHECKING:
    from rich.progress import TaskID

    from torpub.client import download
    from torpub.client.resolve import Resolved, ResolveOptions
    from torpub.client.seedgoal import SeedGoal

# The resolver (dnspython, asyncio) and the downloader (libtorrent, httpx) are
# imported by the commands that run them, not by every command's --help.
# download.SessionOptions.listen, spelled out so --help loads no libtorrent.
_LISTEN = "0.0.0.0:6881,[::]:6881"
# download.DEFAULT_STALL_TIMEOUT, likewise.
_STALL_TIMEOUT = 60.0
# seedgoal.DEFAULT_RATIO, DEFAULT_TIME and DEFAULT_IDLE, likewise.
_SEED_RATIO, _SEED_TIME, _SEED_IDLE = 1.0, 1800.0, 120.0

CLIENT = "Client"
SEEDING = "Seeding (giving back)"

Resolvers = Annotated[
    list[str] | None,
    typer.Option(
        "--resolver",
        "-r",
        help="Resolver HOST[:PORT] to ask, tried in turn; repeatable (default: the system's).",
        rich_help_panel=CLIENT,
    ),
]
RequireDnssec = Annotated[
    bool,
    typer.Option(
        "--require-dnssec",
        help="Refuse answers the resolver did not DNSSEC-validate (no AD bit).",
        rich_help_panel=CLIENT,
    ),
]
Doh = Annotated[
    str | None,
    typer.Option(
        "--doh",
        help="Ask every DNS question over DNS over HTTPS (RFC 8484) at this http(s) URL,"
        " e.g. https://dns.example/dns-query, instead of --resolver.",
        rich_help_panel=CLIENT,
        show_default=False,
    ),
]
Concurrency = Annotated[
    int,
    typer.Option("--concurrency", help="Chunk queries in flight.", rich_help_panel=CLIENT, min=1),
]


def _resolve_options(
    resolvers: list[str] | None, require_dnssec: bool, concurrency: int, doh: str | None = None
) -> ResolveOptions:
    from torpub.client.resolve import ResolveOptions, nameservers

    return ResolveOptions(
        nameservers=nameservers(resolvers or ()),
        require_dnssec=require_dnssec,
        concurrency=concurrency,
        doh=doh,
    )


@app.command("resolve")
def resolve_command(
    url: Annotated[str, typer.Argument(help="The artifact's URL.", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the .torrent to this file, replacing it, instead of a summary;"
            " into a directory as <URL's file name>.torrent, never replacing one.",
        ),
    ] = None,
    resolvers: Resolvers = None,
    doh: Doh = None,
    require_dnssec: RequireDnssec = False,
    concurrency: Concurrency = 32,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Read URL's torrent from DNS and check it; print a summary or write the .torrent."""
    from torpub import atomic
    from torpub.client import output
    from torpub.client.resolve import resolve

    ui = make_ui(verbose, quiet)
    resolved = resolve(url, _resolve_options(resolvers, require_dnssec, concurrency, doh))
    if out is not None:
        if resolved.payload is None:
            raise ConfigError(
                f"DNS publishes only an info-hash for {url}: {resolved.magnet};"
                " `torpub get --torrent-only` asks peers for the torrent"
            )
        path = output.torrent_file(out, url)
        if path != out:
            output.refuse_existing(path)
        try:
            atomic.write_atomic(path, resolved.payload)
        except OSError as e:
            raise DownloadError(str(path), f"cannot write it ({e.strerror})") from None
        ui.note(f"wrote {markup(str(path))} ({len(resolved.payload)} bytes)")
    if as_json:
        # ASCII only: a control or bidi character in a name stays a \u escape.
        ui.out.print_json(json.dumps(summary(resolved)), ensure_ascii=True)
    elif out is None:
        _print_summary(ui, resolved)


def summary(resolved: Resolved) -> dict[str, object]:
    """What ``resolve --json`` prints."""
    info = resolved.info
    return {
        "url": resolved.names.url,
        "head_name": resolved.names.head_name,
        "validated": resolved.validated,
        "chunks": resolved.head.n,
        "length": resolved.head.length,
        "sha256": resolved.head.sha256,
        "info_hash": resolved.head.ih,
        "head_ttl": resolved.head_ttl,
        "magnet": resolved.magnet,
        "torrent": info.to_dict() if info is not None else None,
    }


def _print_summary(ui: Ui, resolved: Resolved) -> None:
    info = resolved.info
    rows: list[tuple[str, str]] = [("url", resolved.names.url)]
    if info is not None:
        rows += [
            ("name", info.name),
            ("size", f"{info.size} bytes in {info.files} file(s)"),
            ("pieces", f"{info.pieces} × {info.piece_length} bytes"),
        ]
    rows += [("info-hash", resolved.head.ih)]
    if info is not None:
        rows += [("web seeds", ", ".join(info.web_seeds) or "none")]
        rows += [("trackers", ", ".join(info.trackers) or "none")]
    validated = "yes (AD from the resolver)" if resolved.validated else "no"
    rows += [("magnet", resolved.magnet), ("DNSSEC", validated)]
    rows += [("records", f"{resolved.head.n} chunks, {resolved.head.length} bytes")]
    for label, value in rows:
        ui.out.print(f"[bold]{label:>10}[/]  {markup(value)}", highlight=False)


@app.command("get")
def get_command(
    url: Annotated[str, typer.Argument(help="The artifact's URL.", show_default=False)],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Directory to download into; the file is named by the URL's last path"
            " segment, never by the torrent, and an existing file is never replaced.",
        ),
    ] = Path("."),
    resolvers: Resolvers = None,
    doh: Doh = None,
    require_dnssec: RequireDnssec = False,
    torrent_only: Annotated[
        bool,
        typer.Option(
            "--torrent-only",
            help="Save the .torrent as <URL's file name>.torrent and stop (for another"
            " client); an existing file is never replaced.",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds to wait for the HTTP server.", min=0.1, callback=finite
        ),
    ] = 30.0,
    stall_timeout: Annotated[
        float,
        typer.Option(
            "--stall-timeout",
            help="Give up a BitTorrent download after this many seconds without progress.",
            min=1.0,
            callback=finite,
            rich_help_panel=CLIENT,
        ),
    ] = _STALL_TIMEOUT,
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            help="BitTorrent: PORT (0: any free port) or HOST:PORT,… to listen on.",
            rich_help_panel=CLIENT,
        ),
    ] = _LISTEN,
    seed_ratio: Annotated[
        float,
        typer.Option(
            "--seed-ratio",
            help="After a BitTorrent download, seed until this many file sizes are uploaded"
            " (aria2's default; 0: no ratio limit) or --seed-time is up. A download the"
            " origin served over plain HTTP does not seed.",
            callback=finite,
            rich_help_panel=SEEDING,
        ),
    ] = _SEED_RATIO,
    seed_time: Annotated[
        float,
        typer.Option(
            "--seed-time",
            help="Seed for at most this many seconds (0: do not seed). Ctrl-C while"
            " seeding ends it; the file is already complete in its place.",
            callback=finite,
            rich_help_panel=SEEDING,
        ),
    ] = _SEED_TIME,
    seed_idle: Annotated[
        float,
        typer.Option(
            "--seed-idle",
            help="Stop seeding after this many seconds with no peer connected (0: no"
            " idle limit): nobody is there to give to.",
            callback=finite,
            rich_help_panel=SEEDING,
        ),
    ] = _SEED_IDLE,
    no_seed: Annotated[
        bool,
        typer.Option(
            "--no-seed", help="Do not seed: stop once the file is whole.", rich_help_panel=SEEDING
        ),
    ] = False,
    upload_limit: Annotated[
        str,
        typer.Option(
            "--upload-limit",
            help="Upload cap, bytes/s like 500K or 10M (K = 1024); 0 for none.",
            rich_help_panel=SEEDING,
        ),
    ] = "0",
    no_discovery: Annotated[
        bool,
        typer.Option(
            "--no-discovery",
            help="No DHT, local discovery, UPnP or NAT-PMP: peers from trackers, web seeds, --peer.",
            rich_help_panel=CLIENT,
        ),
    ] = False,
    peers: Annotated[
        list[str] | None,
        typer.Option(
            "--peer", help="A peer HOST:PORT to connect to; repeatable.", rich_help_panel=CLIENT
        ),
    ] = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Download URL: over HTTP if the server answers, else over BitTorrent via DNS.

    Running it again continues an interrupted download.
    """
    from torpub.client import download, fetch
    from torpub.client.seedgoal import SeedGoal
    from torpub.client.session import listen_interfaces, parse_rate

    ui = make_ui(verbose, quiet)
    goal = None if no_seed or seed_time == 0 else SeedGoal(seed_ratio, seed_time, seed_idle)
    options = fetch.GetOptions(
        http_timeout=timeout,
        torrent_only=torrent_only,
        resolve=_resolve_options(resolvers, require_dnssec, 32, doh),
        session=download.SessionOptions(
            listen=listen_interfaces(listen),  # a bad one stops here, before any request
            discovery=not no_discovery,
            peers=_peers(peers or ()),
            stall_timeout=stall_timeout,
            upload_limit=parse_rate(upload_limit),
            seed=goal,
        ),
    )
    with _progress_bar(ui, goal) as report:
        fetched = fetch.get(
            url,
            out,
            options,
            notify=lambda m: ui.note(markup(m)),
            progress=report,
            detail=lambda m: ui.note(markup(m), level=1),
        )
    ui.out.print(markup(str(fetched.path)), highlight=False)
    ui.note(f"via {fetched.route.value}", level=1)


def _peers(texts: tuple[str, ...] | list[str]) -> tuple[tuple[str, int], ...]:
    from torpub.hostport import HostPort

    peers = (HostPort.from_text(text, "peer", default_port=None) for text in texts)
    return tuple((p.host, p.port) for p in peers)


@contextmanager
def _progress_bar(ui: Ui, goal: SeedGoal | None) -> Iterator[download.ProgressCallback]:
    from rich.progress import TextColumn

    bar = ui.transfer_bar(TextColumn("{task.fields[peers]} peers"))
    task: list[TaskID] = []

    def report(p: download.Progress) -> None:
        if not task:
            task.append(bar.add_task("downloading", total=p.total or None, peers=p.peers))
        if p.seeding is None:
            bar.update(task[0], completed=p.done, total=p.total or None, peers=p.peers)
            return
        if len(task) == 1:  # the file is whole and in its place: seeding starts
            bar.update(task[0], visible=False)
            task.append(bar.add_task("seeding", total=p.total, peers=p.peers))
            until = goal.describe() if goal is not None else "the end"
            ui.note(f"complete; seeding until {until} (Ctrl-C stops it, keeping the file)")
        minutes, seconds = divmod(int(p.seeding), 60)
        label = f"seeding {minutes}:{seconds:02d}, ratio {p.uploaded / max(p.total, 1):.2f}"
        bar.update(task[1], description=label, completed=p.uploaded, peers=p.peers)

    with bar:
        yield report
