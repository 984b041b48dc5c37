"""After a sync: wait until the zone's authoritative servers answer what was applied.

Users of DNS tools ask for this instead of a fixed sleep: the backend's own
notion of done (Route 53's INSYNC) first, then the answers themselves.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rdatatype

from torpub import provider
from torpub.errors import ConfigError, PropagationError
from torpub.hostport import HostPort
from torpub.publish.plan import Action, Change, Plan

Note = Callable[[str], None]


def wait_until_live(
    backend: provider.Provider,
    plan: Plan,
    servers: Sequence[str],
    timeout: float,
    note: Note = lambda _: None,
) -> bool:
    """Wait for the provider, then for every server to answer the plan; False when
    no authoritative server is known, so nothing could be checked."""
    deadline = time.monotonic() + timeout
    if isinstance(backend, provider.Propagating):
        backend.wait(timeout)
        note(f"{plan.zone}: the provider reports the changes in sync")
    if not servers and isinstance(backend, provider.Authoritative):
        servers = list(backend.nameservers())
    if not servers:
        return False
    for server in servers:
        _wait_for_answers(plan, server, deadline, timeout)
        note(f"{plan.zone}: {server} answers every change")
    return True


def _wait_for_answers(plan: Plan, server: str, deadline: float, timeout: float) -> None:
    address, port = _server_address(server)
    pending = list(plan.changes)
    while True:
        pending = [c for c in pending if not _answered(c, address, port)]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = [c.record.name for c in pending]
            raise PropagationError(plan.zone, server, names, timeout)
        time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))


def _answered(change: Change, address: str, port: int) -> bool:
    """Whether the server answers the record as the change left it."""
    query = dns.message.make_query(change.record.name, "TXT", use_edns=0, payload=1232)
    query.flags &= ~dns.flags.RD
    try:
        response, _ = dns.query.udp_with_fallback(query, address, timeout=2.0, port=port)
    except (OSError, dns.exception.DNSException):
        return False
    values = {
        b"".join(rdata.strings).decode("utf-8", "surrogateescape")
        for rrset in response.answer
        if rrset.rdtype == dns.rdatatype.TXT
        for rdata in rrset
    }
    if change.action is Action.DELETE:
        return change.record.value not in values
    return values == {change.record.value}


def _server_address(server: str) -> tuple[str, int]:
    address = HostPort.from_text(server, "check server")
    host, port = address.host, address.port
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as e:
        raise ConfigError(f"check server {server!r}: cannot resolve {host!r}") from e
    return str(info[0][4][0]), port
