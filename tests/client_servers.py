"""Servers the client tests download from, all on 127.0.0.1: a zone torpub's BIND
backend writes, nginx as origin or mirror, a libtorrent seeder.

Import the fixtures into a test module to use them:
``from client_servers import nginx, seeder``.

- ``publish_zone(zone_file, desired)``: write torrents' records into a zone file.
- ``release(directory, size, webseeds)``: a random file and its .torrent bytes.
- ``nginx``: ``nginx(root, torrent_aware=…, status=…)`` serves ``root``; torrent-aware,
  it implements record-format §6 (the torrent for a request that accepts one);
  with ``status`` it answers every request with that status (an origin in trouble);
  ``directives`` go into its location block (e.g. ``max_ranges 0;``).
- ``seeder``: ``seeder(torrent, directory)`` seeds with libtorrent; returns its port.
- ``closed_port()``: a port nothing listens on (an origin that is down).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import httpx
import libtorrent as lt
import pytest
import torf
from processes import find_binary, free_port

from torpub.format.records import Record, TorrentRecords
from torpub.provider import Target
from torpub.publish.plan import build_plan
from torpub_providers.bind import BindProvider

ZONE = "example.com."
HOST = "dl.example.com"
# An origin's host for tests that make HTTP requests: /etc/hosts answers for it, so
# no query leaves the machine, and named serves its records in a zone of that name.
LOCAL_ZONE = "localhost."
LOCAL_HOST = "localhost"
STARTUP_TIMEOUT = 15.0


def publish_zone(zone_file: Path, desired: Sequence[TorrentRecords], zone: str = ZONE) -> None:
    provider = BindProvider(
        Target("bind", zone, {"zone_file": str(zone_file)}), today=lambda: dt.date(2026, 1, 2)
    )
    provider.apply(build_plan(zone, desired, provider.records()))


def append_records(zone_file: Path, records: Sequence[Record]) -> None:
    """Write records the planner would refuse to write (hostile or broken heads)
    straight into the zone file, after the operator's own records."""
    lines = []
    for record in records:
        strings = " ".join(_quoted(s) for s in record.strings())
        lines.append(f"{record.name} {record.ttl} IN TXT {strings}\n")
    with zone_file.open("a") as out:
        out.writelines(lines)


def _quoted(string: bytes) -> str:
    text = string.decode("ascii")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def release(
    directory: Path,
    size: int,
    webseeds: Sequence[str] = (),
    name: str = "artifact.bin",
    seed: int = 0,
    piece_size: int = 65536,
) -> tuple[Path, bytes]:
    """A random file of ``size`` bytes in ``directory``, and a torrent of it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(random.Random(seed).randbytes(size))
    torrent = torf.Torrent(
        path,
        created_by=None,
        creation_date=None,
        piece_size=piece_size,
        webseeds=list(webseeds) or None,
    )
    torrent.generate()
    payload: bytes = torrent.dump()
    return path, payload


def closed_port() -> int:
    return free_port()


# --- nginx -------------------------------------------------------------------------

_NGINX_CONF = """\
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
    types {{ application/x-bittorrent torrent; }}
    default_type application/octet-stream;
    # Record format §6: a client takes a torrent when it accepts the media type or
    # lists the token "torrent" among its content codings.
    map $http_accept $by_type {{ default ""; "~*application/x-bittorrent" ".torrent"; }}
    map $http_accept_encoding $by_coding {{ default ""; "~*(^|[\\s,])torrent(\\s*[;,]|\\s*$)" ".torrent"; }}
    map "$by_type$by_coding" $torrent {{ default ""; "~\\.torrent" ".torrent"; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
            add_header Vary "Accept, Accept-Encoding" always;
            add_header Link "<http://$http_host$uri.torrent>; rel=describedby; type=\\"application/x-bittorrent\\"";
            {directives}
            {action}
        }}
    }}
}}
"""


@dataclass(frozen=True)
class WebServer:
    port: int
    root: Path
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def requests(self) -> list[str]:
        """The access log: one line per request served."""
        return (self.log.parent / "access.log").read_text().splitlines()


StartNginx = Callable[..., WebServer]


@pytest.fixture
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartNginx]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(
        root: Path, *, torrent_aware: bool = False, status: int | None = None, directives: str = ""
    ) -> WebServer:
        directory = tmp_path_factory.mktemp("nginx")
        (directory / "tmp").mkdir()
        port = free_port()
        conf = directory / "nginx.conf"
        action = f"try_files {'$uri$torrent $uri' if torrent_aware else '$uri'} =404;"
        if status is not None:
            action = f"return {status};"
        # As root, nginx's workers would drop to nobody and not reach pytest's tmp dirs.
        user = "user root;" if os.geteuid() == 0 else ""
        text = _NGINX_CONF.format(
            user=user, dir=directory, port=port, root=root, action=action, directives=directives
        )
        conf.write_text(text)
        with (directory / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(
                [find_binary("nginx"), "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        processes.append(process)
        server = WebServer(port, root, directory / "error.log")
        _wait_for_http(server, process)
        return server

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def _wait_for_http(server: WebServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the web server exited:\n{server.log.read_text(errors='replace')}")
        try:
            httpx.get(server.url("/"), timeout=0.5)
        except httpx.TransportError:
            time.sleep(0.05)
        else:
            return
    pytest.fail(f"the web server did not answer within {STARTUP_TIMEOUT} s")


@pytest.fixture
def torpub_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartNginx]:
    """``torpub_serve(root)``: ``torpub serve`` (record format §6) as a subprocess."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(root: Path) -> WebServer:
        directory = tmp_path_factory.mktemp("serve")
        port = free_port()
        log = directory / "serve.log"
        main = "import sys; from torpub.cli import main; sys.exit(main())"
        command = [sys.executable, "-c", main, "serve", str(root), "--host", "127.0.0.1"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*command, "--port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        server = WebServer(port, root, log)
        _wait_for_http(server, process)
        return server

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


# --- libtorrent seeder ---------------------------------------------------------------

LOOPBACK_SETTINGS: lt.settings_pack = {
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "allow_multiple_connections_per_ip": True,
}


@dataclass(frozen=True)
class Seeder:
    port: int
    handle: lt.torrent_handle

    def uploaded(self) -> int:
        return int(self.handle.status().total_payload_upload)


StartSeeder = Callable[[bytes, Path], Seeder]


@pytest.fixture
def seeder() -> Iterator[StartSeeder]:
    """``seeder(torrent, directory)``: seed the torrent's file from ``directory``
    (where it must already be), listening on 127.0.0.1."""
    sessions: list[lt.session] = []

    def start(torrent: bytes, directory: Path) -> Seeder:
        session = lt.session(LOOPBACK_SETTINGS)
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(torrent)
        params.save_path = str(directory)
        handle = session.add_torrent(params)
        sessions.append(session)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not handle.status().is_seeding:
            if time.monotonic() > deadline:
                pytest.fail(f"the seeder did not start seeding: {handle.status().state}")
            time.sleep(0.05)
        return Seeder(session.listen_port(), handle)

    yield start
    sessions.clear()


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- DNSSEC: a signed zone and a validating unbound ---------------------------------


def sign_zone(zone_file: Path, zone: str = ZONE) -> tuple[Path, Path]:
    """Sign ``zone_file`` with fresh ECDSA keys (dnssec-signzone); the signed file
    and the key-signing key's DNSKEY file, to use as a trust anchor."""
    keys = zone_file.parent / "keys"
    keys.mkdir()
    origin = zone.rstrip(".")

    def keygen(*flags: str) -> Path:
        done = subprocess.run(
            [
                find_binary("dnssec-keygen"),
                "-q",
                "-a",
                "ECDSAP256SHA256",
                "-K",
                str(keys),
                *flags,
                origin,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return keys / f"{done.stdout.strip()}.key"

    ksk = keygen("-f", "KSK")
    keygen()
    signed = zone_file.with_name(zone_file.name + ".signed")
    subprocess.run(
        [
            find_binary("dnssec-signzone"),
            "-S",
            "-K",
            str(keys),
            "-o",
            origin,
            "-d",
            str(keys),
            "-f",
            str(signed),
            str(zone_file),
        ],
        check=True,
        capture_output=True,
        cwd=keys,
    )
    return signed, ksk


_UNBOUND_CONF = """\
server:
    interface: 127.0.0.1@{port}
    port: {port}
    do-ip6: no
    chroot: ""
    username: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    logfile: "{dir}/unbound.log"
    use-syslog: no
    verbosity: 1
    val-log-level: 2
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    use-caps-for-id: no
    qname-minimisation: no
    trust-anchor-signaling: no
    edns-buffer-size: 1232
    module-config: "validator iterator"
    {anchor}
remote-control:
    control-enable: no
# Every name goes to the loopback named: the zone under test, and the root too,
# so that nothing unbound wants to ask ever leaves the machine.
stub-zone:
    name: "{zone}"
    stub-addr: 127.0.0.1@{upstream}
stub-zone:
    name: "."
    stub-addr: 127.0.0.1@{upstream}
"""


@dataclass(frozen=True)
class Unbound:
    port: int
    log: Path


StartUnbound = Callable[..., Unbound]


@pytest.fixture
def unbound(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartUnbound]:
    """``unbound(upstream_port, zone, trust_anchor=None)``: a validating resolver on
    127.0.0.1 that asks the named on ``upstream_port`` for everything."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(upstream: int, zone: str = ZONE, trust_anchor: Path | None = None) -> Unbound:
        directory = tmp_path_factory.mktemp("unbound")
        port = free_port()
        anchor = f'trust-anchor-file: "{trust_anchor}"' if trust_anchor else ""
        conf = directory / "unbound.conf"
        conf.write_text(
            _UNBOUND_CONF.format(
                port=port, dir=directory, anchor=anchor, zone=zone, upstream=upstream
            )
        )
        process = subprocess.Popen(
            [find_binary("unbound"), "-d", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        server = Unbound(port, directory / "unbound.log")
        _wait_for_dns(port, zone, process, server.log)
        return server

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def _wait_for_dns(port: int, zone: str, process: subprocess.Popen[bytes], log: Path) -> None:
    query = dns.message.make_query(zone, "SOA")
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"unbound exited:\n{text}")
        try:
            dns.query.udp(query, "127.0.0.1", timeout=0.5, port=port)
        except (OSError, dns.exception.DNSException):
            time.sleep(0.05)
        else:
            return
    pytest.fail(f"unbound did not answer within {STARTUP_TIMEOUT} s")
