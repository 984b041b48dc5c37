"""Shared fixtures: a real BIND server on loopback, a small zone file, and
valid .torrent payloads.

- ``zone_file``: a fresh copy of :data:`ZONE_TEXT` (zone ``example.com.``).
- ``named``: call ``named(zone, zone_file)`` to start a real ``named`` serving
  that file on 127.0.0.1 (a free port, UDP and TCP) with an rndc control
  channel; ``options=`` adds statements to its ``options { }`` block. It
  returns a :class:`NamedServer` and is stopped after the test.
- ``make_torrent``: call ``make_torrent(size)`` for the bytes of a real
  .torrent (torf, no creation date or creator) of a random file of that size.
- ``checkzone``: the path of ``named-checkzone``.

A missing BIND binary fails these tests loudly: they exist to run it.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest
import torf

ZONE = "example.com."
ZONE_TEXT = textwrap.dedent(
    """\
    $TTL 3600
    ; the operator's zone: torpub must leave every byte of this alone
    @       IN SOA  ns1.example.com. hostmaster.example.com. (
                    2024010101 ; serial
                    7200       ; refresh
                    3600       ; retry
                    1209600    ; expire
                    300 )      ; negative TTL
            IN NS   ns1.example.com.
    ns1     IN A    127.0.0.1
    www     IN A    192.0.2.80
    note    IN TXT  "a comment-like ; inside quotes" "and a (paren"
    """
)
RNDC_KEY = "torpub-test-rndc"
STARTUP_TIMEOUT = 20.0


def find_binary(name: str) -> str:
    found = shutil.which(name)
    found = found or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail(f"{name} is not installed (Debian: bind9, bind9-utils); these tests run it")
    return found


@pytest.fixture(scope="session")
def checkzone() -> str:
    return find_binary("named-checkzone")


@pytest.fixture
def zone_file(tmp_path: Path) -> Path:
    path = tmp_path / "zones" / "db.example.com"
    path.parent.mkdir()
    path.write_text(ZONE_TEXT)
    return path


@dataclass(frozen=True)
class NamedServer:
    """A running ``named`` that serves one zone on 127.0.0.1."""

    zone: str
    zone_file: Path
    port: int
    control_port: int
    rndc_conf: Path
    key_file: Path
    log_file: Path
    process: subprocess.Popen[bytes]

    @property
    def reload_command(self) -> str:
        """``rndc reload`` for this server, as the bind provider's reload_command."""
        rndc = find_binary("rndc")
        return (
            f"{rndc} -c {self.rndc_conf} -k {self.key_file} -s 127.0.0.1 "
            f"-p {self.control_port} reload {self.zone}"
        )

    def query(
        self,
        name: str,
        rdtype: str = "TXT",
        *,
        payload: int = 1232,
        recursion_desired: bool = False,
        tcp: bool = False,
        timeout: float = 2.0,
    ) -> tuple[dns.message.Message, int]:
        """One query with EDNS (over UDP unless ``tcp``); the response and its size
        on the wire."""
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=payload, want_dnssec=False)
        if not recursion_desired:
            query.flags &= ~dns.flags.RD
        wire = _exchange(query.to_wire(), self.port, tcp, timeout)
        response = dns.message.from_wire(wire)
        assert response.id == query.id
        return response, len(wire)

    def serial(self) -> int:
        response, _ = self.query(self.zone, "SOA")
        (rrset,) = response.answer
        assert rrset.rdtype == dns.rdatatype.SOA
        return int(rrset[0].serial)

    def wait_for_serial(self, serial: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.serial() != serial:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"named still serves serial {self.serial()}, not {serial}:\n{self.log()}"
                )
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def _exchange(wire: bytes, port: int, tcp: bool, timeout: float) -> bytes:
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(timeout)
        if not tcp:
            sock.sendto(wire, ("127.0.0.1", port))
            return sock.recv(65535)
        sock.connect(("127.0.0.1", port))
        sock.sendall(len(wire).to_bytes(2, "big") + wire)
        with sock.makefile("rb") as stream:
            length = int.from_bytes(stream.read(2), "big")
            return stream.read(length)


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (named needs both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    pytest.fail("no free port on 127.0.0.1")


def _named_conf(
    directory: Path,
    zone: str,
    zone_file: Path,
    port: int,
    control: int,
    options: str = "",
    *,
    include: Path | None = None,
    zone_extra: str = "",
) -> str:
    """A named.conf for one primary zone on loopback; ``include`` adds e.g. a TSIG
    key file, ``zone_extra`` statements to the zone (update-policy, allow-transfer)."""
    include_key = f'include "{include}";' if include else ""
    return textwrap.dedent(
        f"""\
        include "{directory / "rndc.key"}";
        {include_key}
        controls {{
            inet 127.0.0.1 port {control} allow {{ 127.0.0.1; }} keys {{ "{RNDC_KEY}"; }};
        }};
        options {{
            directory "{directory}";
            pid-file "{directory / "named.pid"}";
            session-keyfile "{directory / "session.key"}";
            managed-keys-directory "{directory}";
            listen-on port {port} {{ 127.0.0.1; }};
            listen-on-v6 {{ none; }};
            recursion no;
            dnssec-validation no;
            notify no;
            {options}
        }};
        zone "{zone}" {{
            type primary;
            file "{zone_file}";
            {zone_extra}
        }};
        """
    )


def _rndc_key(directory: Path) -> tuple[Path, Path]:
    """A fresh control-channel key, and an rndc.conf naming it, so that rndc
    never falls back to the host's /etc/bind configuration."""
    key_file = directory / "rndc.key"
    subprocess.run(
        [
            find_binary("rndc-confgen"),
            "-a",
            "-A",
            "hmac-sha256",
            "-k",
            RNDC_KEY,
            "-c",
            str(key_file),
        ],
        check=True,
        capture_output=True,
    )
    conf = directory / "rndc.conf"
    conf.write_text(f'{key_file.read_text()}\noptions {{ default-key "{RNDC_KEY}"; }};\n')
    return key_file, conf


def _start(directory: Path, zone: str, zone_file: Path, options: str = "") -> NamedServer:
    named = find_binary("named")
    key_file, rndc_conf = _rndc_key(directory)
    port, control = free_port(), free_port()
    conf = directory / "named.conf"
    conf.write_text(_named_conf(directory, zone, zone_file, port, control, options))
    log_file = directory / "named.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [named, "-g", "-n", "1", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = NamedServer(zone, zone_file, port, control, rndc_conf, key_file, log_file, process)
    _wait_until_serving(server)
    return server


def _wait_until_serving(server: NamedServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise _NamedExited(server.log())
        if "running" in server.log():
            try:
                response, _ = server.query(server.zone, "SOA", timeout=0.5)
            except (OSError, dns.exception.DNSException):
                pass
            else:
                if response.rcode() == dns.rcode.NOERROR and response.answer:
                    return
        time.sleep(0.05)
    _stop(server)
    pytest.fail(f"named did not serve {server.zone} within {STARTUP_TIMEOUT} s:\n{server.log()}")


class _NamedExited(Exception):
    pass


class StartNamed(Protocol):
    def __call__(self, zone: str, zone_file: Path, options: str = "") -> NamedServer: ...


def _stop(server: NamedServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def named(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartNamed]:
    started: list[NamedServer] = []

    def start(zone: str, zone_file: Path, options: str = "") -> NamedServer:
        for _attempt in range(3):  # another process may take a probed port first
            directory = tmp_path_factory.mktemp("named")
            try:
                server = _start(directory, zone, zone_file, options)
            except _NamedExited as e:
                if "address in use" in str(e):
                    continue
                pytest.fail(f"named exited while starting:\n{e}")
            started.append(server)
            return server
        pytest.fail("named could not bind a free port in 3 attempts")

    yield start
    for server in started:
        _stop(server)


@pytest.fixture
def make_torrent(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., bytes]:
    """``make_torrent(size, name="artifact.bin", piece_size=16384, seed=0)``: the
    bytes of a real, reproducible .torrent of a random file of ``size`` bytes."""

    def make(
        size: int, name: str = "artifact.bin", piece_size: int = 16384, seed: int = 0
    ) -> bytes:
        path = tmp_path_factory.mktemp("artifact") / name
        path.write_bytes(random.Random(seed).randbytes(size))
        torrent = torf.Torrent(path, created_by=None, creation_date=None, piece_size=piece_size)
        torrent.generate()
        payload: bytes = torrent.dump()
        return payload

    return make
