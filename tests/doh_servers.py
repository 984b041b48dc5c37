"""A DNS over HTTPS endpoint for the tests: Debian's dnsdist on 127.0.0.1, serving
RFC 8484 over plain HTTP (1.1 and h2c) in front of a real named or unbound.

``from doh_servers import dnsdist``; ``dnsdist(upstream_port, zone, cors=None)``
returns a ``DohServer`` whose ``url`` is its ``/dns-query`` endpoint. ``cors``: the
Access-Control-Allow-Origin it sends, which a browser page needs (BIND's own DoH
listener speaks HTTP/2 only without TLS and sends no CORS header:
shared/design/test-servers.md). No packet cache: every question reaches the
upstream, so a test sees exactly what its zone holds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dns.message
import httpx
import pytest
from client_servers import ZONE
from processes import Processes, find_binary, free_port, on_free_port

_DNSDIST_CONF = """\
-- No security poll: it would send a query off the machine.
setSecurityPollSuffix("")
setLocal("127.0.0.1:{dns_port}")
-- Always up, no health checks: a test decides what the upstream answers (even
-- SERVFAIL, for a validator that finds the zone bogus), and a health check (a root
-- query) is not what a stub named or unbound answers well.
newServer({{address="127.0.0.1:{upstream}", checkInterval=3600}}):setUp()
addDOHLocal("127.0.0.1:{doh_port}", nil, nil, "/dns-query"{options})
"""


@dataclass(frozen=True)
class DohServer:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dns-query"


StartDnsdist = Callable[..., DohServer]


def _cors_options(cors: str | None) -> str:
    if cors is None:
        return ""
    # A JSON string is a Lua string literal for the origins a test passes.
    header = f'{{["access-control-allow-origin"]={json.dumps(cors)}}}'
    return f", {{customResponseHeaders={header}}}"


@pytest.fixture
def dnsdist(tmp_path_factory: pytest.TempPathFactory, processes: Processes) -> StartDnsdist:
    def start(upstream: int, zone: str = ZONE, *, cors: str | None = None) -> DohServer:
        def attempt() -> DohServer:
            directory = tmp_path_factory.mktemp("dnsdist")
            conf = directory / "dnsdist.conf"
            server = DohServer(free_port(), directory / "dnsdist.log")
            conf.write_text(
                _DNSDIST_CONF.format(
                    dns_port=free_port(),
                    doh_port=server.port,
                    upstream=upstream,
                    options=_cors_options(cors),
                )
            )
            processes.start(
                [find_binary("dnsdist"), "--supervised", "--disable-syslog", "-C", str(conf)],
                what="dnsdist",
                ready=lambda: _relays(server, zone),
                output=server.log,
            )
            return server

        return on_free_port(attempt, "dnsdist")

    return start


def _relays(server: DohServer, zone: str) -> bool:
    """A DoH GET for the zone's SOA gets the upstream's DNS answer relayed."""
    query = dns.message.make_query(zone, "SOA")
    query.id = 0
    wire = base64.urlsafe_b64encode(query.to_wire()).rstrip(b"=").decode()
    return httpx.get(server.url, params={"dns": wire}, timeout=0.5).status_code == 200
