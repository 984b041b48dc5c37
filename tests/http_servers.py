"""Real HTTP servers on 127.0.0.1 that serve one artifact tree with torpub's
torrent negotiation (record format §6), for the shared case table.

Import the fixture into a test module: ``from http_servers import http_server``.

- ``http_server``: module-scoped and parametrised over :data:`KINDS`; each is a
  :class:`HttpServer` serving a fresh :class:`Tree` at ``/pub/``
  (``cors_server``: the same with ``--cors``, for each of :data:`CORS_ORIGINS`):
  - ``nginx``: ``nginx -p DIR -c DIR/nginx.conf`` with a minimal main config that
    includes the exact output of ``torpub server-config nginx``;
  - ``apache``: ``apache2 -DFOREGROUND`` with its own ServerRoot, including the
    exact output of ``torpub server-config apache``;
  - ``asgi``: ``torpub serve`` (the ASGI middleware under uvicorn), a subprocess;
  - ``wsgi``: the WSGI middleware under the standard library's wsgiref server
    (threaded), in a thread: the venv holds no other real WSGI server.

The tree lives in a world-readable directory under /tmp, since Apache's
workers (``www-data``) cannot enter pytest's private temporary directories.
A missing server binary fails these tests loudly: they exist to run it.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from processes import (
    STARTUP_TIMEOUT,
    Exited,
    find_binary,
    free_port,
    on_free_port,
    start_process,
    stop,
    wait_until,
)

from torpub.http.wsgi import TorrentMiddleware
from torpub.publish import build

KINDS = ("nginx", "apache", "asgi", "wsgi")
CORS_ORIGINS = ("*", "https://app.example")
MOUNT = "/pub/"
APACHE_MODULES = (
    ("mpm_event", "mod_mpm_event.so"),
    ("authz_core", "mod_authz_core.so"),
    ("mime", "mod_mime.so"),
    ("alias", "mod_alias.so"),
    ("headers", "mod_headers.so"),
    ("rewrite", "mod_rewrite.so"),
)
# Runs the CLI the way the console script does, from this venv's interpreter.
CLI = [sys.executable, "-c", "import sys; from torpub.cli import main; sys.exit(main())"]


@dataclass(frozen=True)
class Tree:
    """An artifact tree: files, their .torrent files, and one file without one."""

    root: Path
    base_url: str  # where it is served, ending in MOUNT

    ARTIFACT = "artifact.bin"  # 300 KiB-odd, with a torrent
    AWKWARD = "sub/100% sure?.bin"  # a name that needs percent-encoding, with a torrent
    QUOTED = 'sub/say "ü".bin'  # a name a quoted-string cannot hold, with a torrent
    PLAIN = "plain.txt"  # no torrent beside it
    DOT_FILE = ".env"  # never published, never served
    IN_DOT_DIR = ".git/config"

    def file(self, relpath: str) -> bytes:
        return (self.root / relpath).read_bytes()

    def torrent(self, relpath: str) -> bytes:
        return (self.root / f"{relpath}.torrent").read_bytes()


def make_tree(root: Path, base_url: str) -> Tree:
    rng = random.Random(4)
    (root / "sub").mkdir(parents=True)
    (root / Tree.ARTIFACT).write_bytes(rng.randbytes(300 * 1024 + 123))
    (root / Tree.AWKWARD).write_bytes(rng.randbytes(5000))
    (root / Tree.QUOTED).write_bytes(rng.randbytes(3000))
    (root / Tree.PLAIN).write_text("no torrent for this one\n")
    settings = build.BuildSettings(base_url=base_url, piece_size=16 << 10)
    build.build(build.scan([root], settings), settings)
    (root / f"{Tree.PLAIN}.torrent").unlink()
    # Written after the build, which skips them; a .torrent beside one too.
    for secret in (Tree.DOT_FILE, Tree.IN_DOT_DIR):
        (root / secret).parent.mkdir(exist_ok=True)
        (root / secret).write_text("SECRET=not for the web\n")
        (root / f"{secret}.torrent").write_bytes((root / f"{Tree.ARTIFACT}.torrent").read_bytes())
    for path in [root, *root.rglob("*")]:  # Apache's workers run as www-data
        path.chmod(0o755 if path.is_dir() else 0o644)
    return Tree(root, base_url)


@dataclass
class HttpServer:
    kind: str
    tree: Tree
    port: int
    stop: Callable[[], None]
    log_files: list[Path] = field(default_factory=list)
    cors: str | None = None  # the --cors origin it was started with

    def url(self, relpath: str) -> str:
        return build.artifact_url(self.tree.base_url, relpath)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.log_files if p.exists())


def part_of(data: bytes, content_range: str) -> bytes:
    """The bytes a 206's Content-Range names, after checking it against the file."""
    found = re.fullmatch(r"bytes ([0-9]+)-([0-9]+)/([0-9]+)", content_range)
    assert found, content_range
    start, end, size = (int(g) for g in found.groups())
    assert size == len(data) and start <= end < size
    return data[start : end + 1]


def _cors_flag(cors: str | None) -> list[str]:
    return [] if cors is None else ["--cors", cors]


def server_config(
    kind: str, root: Path, port: int, cors: str | None = None, location: str = MOUNT
) -> str:
    """The exact output of ``torpub server-config KIND``."""
    result = subprocess.run(
        [
            *CLI,
            "server-config",
            kind,
            "--root",
            str(root),
            "--location",
            location,
            "--listen",
            f"127.0.0.1:{port}",
            *_cors_flag(cors),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def nginx_main(directory: Path, generated: Path, directives: str = "") -> str:
    """nginx's main config around an included ``http``-level file: its own pid, logs
    and temporary paths in ``directory``, the system's MIME types; ``directives`` at
    the ``http`` level (``limit_rate 64k;``) leave the generated file as shipped."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(
        f"    {kind}_temp_path {directory / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\n"
        "worker_processes 1;\n"
        "events {}\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        f"    access_log {directory / 'access.log'};\n"
        f"{temps}" + (f"    {directives}\n" if directives else "") + f"    include {generated};\n"
        "}\n"
    )


def _start_nginx(tree: Tree, port: int, directory: Path, cors: str | None) -> HttpServer:
    nginx = find_binary("nginx", "nginx")
    generated = directory / "torpub.conf"
    generated.write_text(server_config("nginx", tree.root, port, cors))
    conf = directory / "nginx.conf"
    conf.write_text(nginx_main(directory, generated))
    command = [nginx, "-p", str(directory), "-c", str(conf), "-g", "daemon off;"]
    return _start_process("nginx", tree, port, command, directory / "error.log", cors)


def _apache_main(directory: Path, generated: Path) -> str:
    modules = "".join(
        f"LoadModule {name}_module /usr/lib/apache2/modules/{so}\n" for name, so in APACHE_MODULES
    )
    user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    return (
        f"ServerRoot {directory}\n"
        "ServerName 127.0.0.1\n"
        f"{modules}{user}"
        f"PidFile {directory / 'httpd.pid'}\n"
        f"ErrorLog {directory / 'error.log'}\n"
        f"DefaultRuntimeDir {directory}\n"
        "TypesConfig /etc/mime.types\n"
        "LogLevel warn\n"
        f"Include {generated}\n"
    )


def _start_apache(tree: Tree, port: int, directory: Path, cors: str | None) -> HttpServer:
    apache = find_binary("apache2", "apache2")
    generated = directory / "torpub.conf"
    generated.write_text(server_config("apache", tree.root, port, cors))
    conf = directory / "httpd.conf"
    conf.write_text(_apache_main(directory, generated))
    command = [apache, "-f", str(conf), "-DFOREGROUND"]
    return _start_process("apache", tree, port, command, directory / "error.log", cors)


def _start_asgi(tree: Tree, port: int, directory: Path, cors: str | None) -> HttpServer:
    return start_serve(tree, port, directory, cors)


def start_serve(
    tree: Tree, port: int, directory: Path, cors: str | None = None, *, unprivileged: bool = False
) -> HttpServer:
    """``torpub serve``; ``unprivileged``: without root's power to read any file,
    as a server that dropped its privileges runs."""
    command = [*CLI, "serve", str(tree.root), "--port", str(port), "--base-url", tree.base_url]
    if unprivileged and os.geteuid() == 0:
        setpriv = find_binary("setpriv", "util-linux")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    command += _cors_flag(cors)
    return _start_process("asgi", tree, port, command, directory / "serve.log", cors)


def _start_process(
    kind: str, tree: Tree, port: int, command: list[str], log_file: Path, cors: str | None
) -> HttpServer:
    output = log_file.with_suffix(".out")
    url = build.artifact_url(tree.base_url, Tree.PLAIN)
    process = start_process(
        command, what=kind, ready=lambda: _answers(url), output=output, logs=[log_file]
    )
    return HttpServer(kind, tree, port, lambda: stop(process), [log_file, output], cors)


def _answers(url: str) -> bool:
    httpx.get(url, timeout=1.0)
    return True


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _start_wsgi(tree: Tree, port: int, directory: Path, cors: str | None) -> HttpServer:
    app = TorrentMiddleware(tree.root, mount=MOUNT, cors=cors)
    try:
        httpd = make_server(
            "127.0.0.1", port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
    except OSError as e:
        raise Exited(str(e)) from e
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)

    server = HttpServer("wsgi", tree, port, stop, cors=cors)
    try:
        wait_until(lambda: _answers(server.url(Tree.PLAIN)), "wsgi to serve", STARTUP_TIMEOUT)
    except BaseException:
        stop()
        raise
    return server


_STARTERS: dict[str, Callable[[Tree, int, Path, str | None], HttpServer]] = {
    "nginx": _start_nginx,
    "apache": _start_apache,
    "asgi": _start_asgi,
    "wsgi": _start_wsgi,
}


@pytest.fixture(scope="module", params=KINDS)
def http_server(request: pytest.FixtureRequest) -> Iterator[HttpServer]:
    yield from _serving(request.param, None)


@pytest.fixture(
    scope="module",
    params=[(k, o) for k in KINDS for o in CORS_ORIGINS],
    ids=[f"{k}-{'any' if o == '*' else 'one'}" for k in KINDS for o in CORS_ORIGINS],
)
def cors_server(request: pytest.FixtureRequest) -> Iterator[HttpServer]:
    kind, origin = request.param
    yield from _serving(kind, origin)


def _serving(kind: str, cors: str | None) -> Iterator[HttpServer]:
    with served_tree(kind) as top:
        server = _start(kind, top, cors)
        try:
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def served_tree(kind: str) -> Iterator[Path]:
    """A world-readable directory for the tree and the server's files."""
    top = Path(tempfile.mkdtemp(prefix=f"torpub-http-{kind}-"))
    top.chmod(0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def start_on_free_port(
    top: Path, start: Callable[[Tree, int, Path], HttpServer], kind: str
) -> HttpServer:
    attempts = iter(range(3))

    def attempt() -> HttpServer:
        number = next(attempts)
        port = free_port()
        tree = make_tree(top / f"pub{number}", f"http://127.0.0.1:{port}{MOUNT}")
        directory = top / f"server{number}"
        directory.mkdir()
        return start(tree, port, directory)

    return on_free_port(attempt, kind)


def _start(kind: str, top: Path, cors: str | None) -> HttpServer:
    return start_on_free_port(top, lambda t, p, d: _STARTERS[kind](t, p, d, cors), kind)
