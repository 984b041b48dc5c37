"""Servers the browser client's end-to-end tests use, all on 127.0.0.1, and the
headless Chromium that visits them (web/test/e2e/drive.mjs, puppeteer-core).

- ``dnsdist(named_port)``: DNS over HTTPS (RFC 8484, HTTP/1.1 without TLS) with a
  CORS header, relaying to a named; returns the endpoint's URL. BIND's own DoH
  listener speaks HTTP/2 only without TLS and sends no CORS header, so a page
  cannot use it (shared/design/test-servers.md).
- ``cors_mirror(root, rate=None)``: nginx configured by ``torpub server-config nginx
  --cors '*'``, a web seed browsers may use (record format §6); also serves the page.
- ``visit(page, link, directory)``: click the link in headless Chromium; what the
  page showed and what the browser saved.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from client_servers import WebServer
from processes import STARTUP_TIMEOUT, find_binary, free_port

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
BUNDLE = WEB / "dist" / "torpub.min.js"
DRIVER = WEB / "test" / "e2e" / "drive.mjs"
TORPUB = ROOT / ".venv" / "bin" / "torpub"


def require_bundle() -> Path:
    if not BUNDLE.is_file() or not (WEB / "node_modules" / "puppeteer-core").is_dir():
        pytest.fail("web/dist/torpub.min.js or web/node_modules is missing: run `make web` first")
    return BUNDLE


# --- DNS over HTTPS: dnsdist in front of named ---------------------------------------

_DNSDIST_CONF = """\
-- No security polling: it would send a query off the machine.
setSecurityPollSuffix("")
setLocal("127.0.0.1:{dns_port}")
-- Always up: the upstream fixtures wait for their own servers, and a health check
-- (a root query) is not what a stub named or unbound answers well.
newServer({{address="127.0.0.1:{upstream}", checkInterval=3600}}):setUp()
addDOHLocal("127.0.0.1:{doh_port}", nil, nil, "/dns-query",
            {{customResponseHeaders={{["access-control-allow-origin"]="*"}}}})
"""

StartDnsdist = Callable[[int], str]


@pytest.fixture
def dnsdist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartDnsdist]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(upstream: int) -> str:
        directory = tmp_path_factory.mktemp("dnsdist")
        doh_port = free_port()
        conf = directory / "dnsdist.conf"
        conf.write_text(
            _DNSDIST_CONF.format(dns_port=free_port(), upstream=upstream, doh_port=doh_port)
        )
        log = directory / "dnsdist.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [find_binary("dnsdist"), "--supervised", "--disable-syslog", "-C", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        url = f"http://127.0.0.1:{doh_port}/dns-query"
        # Any HTTP answer means the listener is up; the upstream fixtures wait for
        # their own servers.
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"dnsdist exited:\n{log.read_text(errors='replace')}")
            try:
                httpx.get(url, timeout=0.5)
                return url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"dnsdist did not answer within {STARTUP_TIMEOUT} s")

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


# --- nginx as a web seed for browsers --------------------------------------------------

_NGINX_MAIN = """\
{user}
worker_processes 1;
error_log {dir}/error.log info;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    include {site};
}}
"""


StartMirror = Callable[..., WebServer]


@pytest.fixture
def cors_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartMirror]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(root: Path, rate: str | None = None) -> WebServer:
        """``rate``: nginx's limit_rate per request (e.g. "64k"), for a slow mirror."""
        directory = tmp_path_factory.mktemp("mirror")
        (directory / "tmp").mkdir()
        port = free_port()
        listen = f"127.0.0.1:{port}"
        command = ["server-config", "nginx", "--root", str(root), "--listen", listen, "--cors", "*"]
        generated = subprocess.run(
            [TORPUB, *command],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        site = directory / "site.conf"
        site_config = generated
        if rate is not None:
            site_config = site_config.replace(
                "    location / {\n", f"    location / {{\n        limit_rate {rate};\n", 1
            )
        site.write_text(site_config)
        user = "user root;" if os.geteuid() == 0 else ""
        conf = directory / "nginx.conf"
        conf.write_text(_NGINX_MAIN.format(user=user, dir=directory, site=site))
        with (directory / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(
                [find_binary("nginx"), "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        processes.append(process)
        server = WebServer(port, root, directory / "error.log")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nginx did not start:\n{(directory / 'stderr.log').read_text()}")
            try:
                httpx.get(server.url("/"), timeout=0.5)
                return server
            except httpx.TransportError:
                time.sleep(0.05)

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


# --- the browser -----------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """What one click showed: ``outcome`` is completed, failed or timeout."""

    outcome: str
    saved: list[Path]
    display: dict[str, object] | None
    during: dict[str, object] | None  # with cancel: the display while it was moving
    layout_shift: bool
    screenshot: Path
    console: list[str]


def visit(
    page: str, link: str, directory: Path, timeout: float = 60.0, cancel: bool = False
) -> Visit:
    """Open ``page`` in headless Chromium, click ``link`` (a CSS selector), and wait
    for a saved file or a failure shown by the drop-in; with ``cancel``, press the
    display's Cancel button once its bar has moved."""
    downloads = directory / "downloads"
    downloads.mkdir(parents=True)
    screenshot = directory / "display.png"
    job = {
        "page": page,
        "link": link,
        "downloads": str(downloads),
        "screenshot": str(screenshot),
        "profile": str(directory / "profile"),
        "timeout": int(timeout * 1000),
        "cancel": cancel,
    }
    done = subprocess.run(
        [find_binary("node"), str(DRIVER), json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=timeout + 60,
        cwd=WEB,
    )
    if done.returncode != 0:
        pytest.fail(f"the browser driver failed:\n{done.stderr}")
    seen = json.loads(done.stdout)
    return Visit(
        outcome=seen["outcome"],
        saved=sorted(p for p in downloads.iterdir() if not p.name.endswith(".crdownload")),
        display=seen["display"],
        during=seen["during"],
        layout_shift=seen["layoutShift"],
        screenshot=screenshot,
        console=seen["console"],
    )
