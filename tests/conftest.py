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

import random
import socket
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest
import torf

# The process-lifecycle helpers and the ``processes`` fixture, for every test module;
# imported here too, so registered for assertion rewriting before the import.
pytest_plugins = ["processes"]
pytest.register_assert_rewrite("processes")
from processes import (  # noqa: E402
    find_binary,
    free_port,
    on_free_port,
    start_process,
    stop,
    wait_until,
)

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
        wait_until(
            lambda: self.serial() == serial,
            f"named to serve serial {serial}",
            timeout,
            log=self.log,
        )

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


def start_named(
    directory: Path,
    zone: str,
    zone_file: Path,
    options: str = "",
    *,
    include: Path | None = None,
    zone_extra: str = "",
) -> NamedServer:
    """One ``named`` on free ports, serving ``zone``; :class:`processes.Exited` when it
    ends while starting. The caller stops it (``processes.stop(server.process)``)."""
    key_file, rndc_conf = _rndc_key(directory)
    port, control = free_port(), free_port()
    conf = directory / "named.conf"
    conf.write_text(
        _named_conf(
            directory,
            zone,
            zone_file,
            port,
            control,
            options,
            include=include,
            zone_extra=zone_extra,
        )
    )
    log_file = directory / "named.log"
    command = [find_binary("named"), "-g", "-n", "1", "-c", str(conf)]
    process = start_process(
        command,
        what=f"named ({zone})",
        ready=lambda: _serves(zone, port, log_file),
        output=log_file,
    )
    return NamedServer(zone, zone_file, port, control, rndc_conf, key_file, log_file, process)


def _serves(zone: str, port: int, log_file: Path) -> bool:
    """Loaded and answering for its zone (the log says "running" first)."""
    if "running" not in log_file.read_text(errors="replace"):
        return False
    query = dns.message.make_query(zone, "SOA")
    query.flags &= ~dns.flags.RD
    response = dns.message.from_wire(_exchange(query.to_wire(), port, False, 0.5))
    return response.rcode() == dns.rcode.NOERROR and bool(response.answer)


class StartNamed(Protocol):
    def __call__(self, zone: str, zone_file: Path, options: str = "") -> NamedServer: ...


@pytest.fixture
def named(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartNamed]:
    started: list[NamedServer] = []

    def start(zone: str, zone_file: Path, options: str = "") -> NamedServer:
        server = on_free_port(
            lambda: start_named(tmp_path_factory.mktemp("named"), zone, zone_file, options),
            "named",
        )
        started.append(server)
        return server

    yield start
    for server in started:
        stop(server.process)


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
