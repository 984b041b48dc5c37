"""A DNS over HTTPS endpoint for the client tests: Debian's dnsdist on 127.0.0.1,
serving RFC 8484 over plain HTTP (1.1 and h2c) in front of a real named or unbound.

``from doh_servers import dnsdist``; ``dnsdist(upstream_port)`` returns a ``DohServer``
whose ``url`` is its ``/dns-query`` endpoint. No packet cache: every question reaches
the upstream, so a test sees exactly what its zone holds.
"""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.message
import httpx
import pytest
from client_servers import STARTUP_TIMEOUT, ZONE
from conftest import find_binary, free_port

_DNSDIST_CONF = """\
-- No security poll: it would send a query off the machine.
setSecurityPollSuffix("")
setLocal("127.0.0.1:{dns_port}")
-- Always up, no health checks: a test decides what the upstream answers (even
-- SERVFAIL, for a validator that finds the zone bogus).
newServer({{address="127.0.0.1:{upstream}"}}):setUp()
addDOHLocal("127.0.0.1:{doh_port}", nil, nil, "/dns-query")
"""


@dataclass(frozen=True)
class DohServer:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dns-query"


StartDnsdist = Callable[..., DohServer]


@pytest.fixture
def dnsdist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartDnsdist]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(upstream: int, zone: str = ZONE) -> DohServer:
        for _attempt in range(3):  # another process may take a probed port first
            directory = tmp_path_factory.mktemp("dnsdist")
            conf = directory / "dnsdist.conf"
            doh_port = free_port()
            text = _DNSDIST_CONF.format(dns_port=free_port(), doh_port=doh_port, upstream=upstream)
            conf.write_text(text)
            log = directory / "dnsdist.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [find_binary("dnsdist"), "--supervised", "--disable-syslog", "-C", str(conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            processes.append(process)
            server = DohServer(doh_port, log)
            if _wait_until_answering(server, zone, process):
                return server
        pytest.fail(f"dnsdist exited:\n{server.log.read_text(errors='replace')}")

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def _wait_until_answering(server: DohServer, zone: str, process: subprocess.Popen[bytes]) -> bool:
    """Until a DoH GET for the zone's SOA gets a DNS answer relayed; False when
    dnsdist exited (a port taken since it was probed)."""
    query = dns.message.make_query(zone, "SOA")
    query.id = 0
    wire = base64.urlsafe_b64encode(query.to_wire()).rstrip(b"=").decode()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            response = httpx.get(server.url, params={"dns": wire}, timeout=0.5)
        except httpx.TransportError:
            pass
        else:
            if response.status_code == 200:
                return True
        time.sleep(0.1)
    pytest.fail(f"dnsdist did not answer DoH within {STARTUP_TIMEOUT} s")
