"""Servers the client tests download from, all on 127.0.0.1: a zone torpub's BIND
backend writes, nginx as origin or mirror, a libtorrent seeder.

Import the fixtures into a test module to use them:
``from client_servers import nginx, seeder``.

- ``publish_zone(zone_file, desired)``: write torrents' records into a zone file.
- ``release(directory, size, webseeds)``: a random file and its .torrent bytes.
- ``nginx``: ``nginx(root, torrent_aware=…, status=…)`` serves ``root``; torrent-aware,
  it runs the exact output of ``torpub server-config nginx`` (record format §6), with
  ``cors`` that of ``--cors ORIGIN`` (a web seed browsers may use); otherwise a plain
  server: with ``status`` it answers every request with that status (an origin in
  trouble); ``directives`` go into its location block (``max_ranges 0;``). ``rate``:
  nginx's limit_rate per request (``"64k"``), for a slow server.
- ``seeder``: ``seeder(torrent, directory)`` seeds with libtorrent; returns its port.
- ``closed_port()``: a port nothing listens on (an origin that is down).

Servers start and stop through :mod:`processes`.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dns.exception
import dns.message
import dns.query
import httpx
import libtorrent as lt
import pytest
import torf
from http_servers import CLI, nginx_main, server_config
from processes import (
    STARTUP_TIMEOUT,
    Processes,
    find_binary,
    free_port,
    on_free_port,
    wait_until,
)

from torpub.format import txt
from torpub.format.records import Record, TorrentRecords
from torpub.provider import Target
from torpub.publish.plan import build_plan
from torpub_providers.bind import BindProvider

if TYPE_CHECKING:
    from conftest import NamedServer, StartNamed

ZONE = "example.com."
HOST = "dl.example.com"
# An origin's host for tests that make HTTP requests: /etc/hosts answers for it, so
# no query leaves the machine, and named serves its records in a zone of that name.
LOCAL_ZONE = "localhost."
LOCAL_HOST = "localhost"


def publish_zone(zone_file: Path, desired: Sequence[TorrentRecords], zone: str = ZONE) -> None:
    provider = BindProvider(
        Target("bind", zone, {"zone_file": str(zone_file)}), today=lambda: dt.date(2026, 1, 2)
    )
    provider.apply(build_plan(zone, desired, provider.records()))


def append_records(zone_file: Path, records: Sequence[Record]) -> None:
    """Write records the planner would refuse to write (hostile or broken heads)
    straight into the zone file, after the operator's own records."""
    lines = [f"{r.name} {r.ttl} IN TXT {txt.to_text(r.strings())}\n" for r in records]
    with zone_file.open("a") as out:
        out.writelines(lines)


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


# --- nginx ---------------------------------------------------------------------------

# A plain origin, for the cases torpub's own config does not describe: one that
# stopped negotiating (it still sends Link and Vary), one in trouble (``status``), one
# with ``directives`` such as ``max_ranges 0;`` or a negotiation of its own.
_PLAIN_SERVER = """\
server {{
    listen 127.0.0.1:{port};
    root {root};
    types {{ application/x-bittorrent torrent; }}
    default_type application/octet-stream;
    location / {{
        add_header Vary "Accept, Accept-Encoding" always;
        add_header Link "<http://$http_host$uri.torrent>; rel=describedby; type=\\"application/x-bittorrent\\"";
        {directives}
        {action}
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
def nginx(tmp_path_factory: pytest.TempPathFactory, processes: Processes) -> StartNginx:
    """``nginx(root, torrent_aware=…, cors=…, status=…, directives=…, rate=…)``;
    torrent-aware, it runs the exact output of ``torpub server-config nginx`` for
    ``root`` at ``/``."""

    def start(
        root: Path,
        *,
        torrent_aware: bool = False,
        cors: str | None = None,
        status: int | None = None,
        directives: str = "",
        rate: str | None = None,
    ) -> WebServer:
        assert not (torrent_aware and (status or directives)), "torpub's config is as shipped"
        assert torrent_aware or cors is None, "--cors is torpub's config"

        def attempt() -> WebServer:
            directory = tmp_path_factory.mktemp("nginx")
            port = free_port()
            site = directory / "site.conf"
            if torrent_aware:
                site.write_text(server_config("nginx", root, port, cors, location="/"))
            else:
                action = f"return {status};" if status is not None else "try_files $uri =404;"
                site.write_text(
                    _PLAIN_SERVER.format(port=port, root=root, action=action, directives=directives)
                )
            conf = directory / "nginx.conf"
            limit = "" if rate is None else f"limit_rate {rate};"
            conf.write_text(nginx_main(directory, site, limit))
            server = WebServer(port, root, directory / "error.log")
            command = [find_binary("nginx"), "-p", str(directory), "-c", str(conf)]
            processes.start(
                [*command, "-g", "daemon off;"],
                what="nginx",
                ready=lambda: _answers(server.url("/")),
                output=directory / "stderr.log",
                logs=[server.log],
            )
            return server

        return on_free_port(attempt, "nginx")

    return start


def _answers(url: str) -> bool:
    httpx.get(url, timeout=0.5)
    return True


@pytest.fixture
def torpub_serve(tmp_path_factory: pytest.TempPathFactory, processes: Processes) -> StartNginx:
    """``torpub_serve(root)``: ``torpub serve`` (record format §6) as a subprocess."""

    def start(root: Path) -> WebServer:
        def attempt() -> WebServer:
            directory = tmp_path_factory.mktemp("serve")
            port = free_port()
            server = WebServer(port, root, directory / "serve.log")
            command = [*CLI, "serve", str(root), "--host", "127.0.0.1", "--port", str(port)]
            processes.start(
                command,
                what="torpub serve",
                ready=lambda: _answers(server.url("/")),
                output=server.log,
            )
            return server

        return on_free_port(attempt, "torpub serve")

    return start


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
        wait_until(
            lambda: bool(handle.status().is_seeding),
            "the seeder to seed",
            STARTUP_TIMEOUT,
            log=lambda: str(handle.status().state),
        )
        return Seeder(session.listen_port(), handle)

    yield start
    sessions.clear()


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


def signed_named(
    named: StartNamed, zone_file: Path, records: TorrentRecords
) -> tuple[NamedServer, Path]:
    """``records`` published in ``zone_file``, signed, and served by named; the
    server and the trust anchor a validating resolver needs."""
    publish_zone(zone_file, [records])
    signed, anchor = sign_zone(zone_file)
    return named(ZONE, signed), anchor


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
def unbound(tmp_path_factory: pytest.TempPathFactory, processes: Processes) -> StartUnbound:
    """``unbound(upstream_port, zone, trust_anchor=None)``: a validating resolver on
    127.0.0.1 that asks the named on ``upstream_port`` for everything."""

    def start(upstream: int, zone: str = ZONE, trust_anchor: Path | None = None) -> Unbound:
        def attempt() -> Unbound:
            directory = tmp_path_factory.mktemp("unbound")
            port = free_port()
            anchor = f'trust-anchor-file: "{trust_anchor}"' if trust_anchor else ""
            conf = directory / "unbound.conf"
            conf.write_text(
                _UNBOUND_CONF.format(
                    port=port, dir=directory, anchor=anchor, zone=zone, upstream=upstream
                )
            )
            server = Unbound(port, directory / "unbound.log")
            query = dns.message.make_query(zone, "SOA")
            processes.start(
                [find_binary("unbound"), "-d", "-c", str(conf)],
                what="unbound",
                ready=lambda: bool(dns.query.udp(query, "127.0.0.1", timeout=0.5, port=port)),
                output=directory / "stderr.log",
                logs=[server.log],
            )
            return server

        return on_free_port(attempt, "unbound")

    return start
