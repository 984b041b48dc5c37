"""Commands of the HTTP side: serve (a real server with torrent negotiation) and
server-config (the same rules for nginx and Apache)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit

import typer

from torpub.cli.app import Quiet, Verbose, app, make_ui
from torpub.errors import ConfigError
from torpub.terminal import markup

# uvicorn and the HTTP side load in the command that runs them, not for --help.

Cors = Annotated[
    str | None,
    typer.Option(
        "--cors",
        metavar="ORIGIN",
        help="Let browser pages on ORIGIN ('*': any origin) fetch torrents and web-seed "
        "files: CORS headers and preflight answers.",
    ),
]


class Server(StrEnum):
    nginx = "nginx"
    apache = "apache"


@app.command("serve")
def serve_command(
    directory: Annotated[
        Path, typer.Argument(help="The artifact tree, with .torrent files beside the artifacts.")
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=0, max=65535)
    ] = 8000,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", "-u", help="Serve the tree under this URL's path \\[default: /]."
        ),
    ] = None,
    cors: Cors = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Serve a tree over HTTP, handing BitTorrent clients the [bold].torrent[/] (uvicorn)."""
    import uvicorn

    from torpub.http.asgi import TorrentMiddleware

    ui = make_ui(verbose, quiet)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory")
    mount = _mount(base_url)
    application = TorrentMiddleware(directory.resolve(), mount=mount, cors=cors)
    ui.note(f"serving {markup(str(directory))} at http://{markup(host)}:{port}{markup(mount)}")
    level = "info" if verbose else "warning"
    config = uvicorn.Config(application, host=host, port=port, log_level=level, lifespan="on")
    uvicorn.Server(config).run()


@app.command("server-config")
def server_config_command(
    server: Annotated[Server, typer.Argument(help="Which web server the file is for.")],
    root: Annotated[Path, typer.Option("--root", help="The artifact tree on disk.")],
    location: Annotated[
        str, typer.Option("--location", help="The URL path the tree is served at.")
    ] = "/",
    listen: Annotated[
        str | None,
        typer.Option("--listen", help="ADDR:PORT to listen on \\[default: nginx 80; apache none]."),
    ] = None,
    server_name: Annotated[
        str | None, typer.Option("--server-name", help="nginx: the server_name.")
    ] = None,
    cors: Cors = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Print a config file that serves a tree with torrent negotiation from nginx or Apache."""
    from torpub.http import serverconfig
    from torpub.http.cors import Cors as CorsPolicy

    ui = make_ui(verbose, quiet)
    settings = serverconfig.ServerSettings(
        str(root.absolute()),
        location,
        listen=listen,
        server_name=server_name,
        cors=None if cors is None else CorsPolicy(cors),
    )
    render = serverconfig.nginx if server is Server.nginx else serverconfig.apache
    sys.stdout.write(render(settings))
    if server is Server.apache:
        ui.note(f"needs: a2enmod {' '.join(serverconfig.APACHE_MODULES)}", level=1)


def _mount(base_url: str | None) -> str:
    if base_url is None:
        return "/"
    try:
        parts = urlsplit(base_url)
    except ValueError as e:  # an unclosed '[': "Invalid IPv6 URL"
        raise ConfigError(f"base URL {base_url!r} is not a valid URL: {e}") from None
    if not parts.scheme or not parts.netloc:
        raise ConfigError(f"base URL {base_url!r} is not an absolute URL")
    return unquote(parts.path, errors="surrogateescape") or "/"
