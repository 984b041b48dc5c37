"""A real ``named`` that takes RFC 2136 updates signed with a TSIG key.

- ``update_named``: call ``update_named()`` (optionally ``algorithm=``,
  ``policy=``, ``transfer=``) to start ``named`` on 127.0.0.1 (a free port)
  serving :data:`conftest.ZONE_TEXT` as a dynamic zone. The key comes from
  ``tsig-keygen``; ``policy`` is the zone's ``update-policy``/``allow-update``
  statement (default: the key may change TXT records anywhere in the zone),
  ``transfer`` its ``allow-transfer`` (default: the key). It returns an
  :class:`UpdateServer`; every server is stopped after the test.

The server comes from conftest's :func:`conftest.start_named`; only the zone
statement (which the ``named`` fixture does not let a test change) differs.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.tsig
import dns.update
import processes
import pytest
from conftest import ZONE, ZONE_TEXT, NamedServer, start_named
from processes import find_binary, on_free_port

from torpub.format.records import Record
from torpub_providers.rfc2136 import tsig

KEY_NAME = "torpub-key"
DEFAULT_POLICY = f'update-policy {{ grant "{KEY_NAME}" zonesub TXT; }};'
DEFAULT_TRANSFER = f'allow-transfer {{ key "{KEY_NAME}"; }};'
SECRET_VARIABLE = "TORPUB_TEST_OCTODNS_SECRET"


@dataclass(frozen=True)
class UpdateServer:
    """A running dynamic-zone ``named`` and the TSIG key file it trusts."""

    named: NamedServer
    tsig_key_file: Path

    @property
    def zone(self) -> str:
        return self.named.zone

    @property
    def port(self) -> int:
        return self.named.port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def key(self) -> tsig.TsigKey:
        return tsig.from_text(self.tsig_key_file.read_text())

    def txt(self, name: str) -> list[str]:
        """The TXT values at ``name`` as a resolver sees them (empty if none)."""
        response, _ = self.named.query(name, tcp=True)
        return sorted(
            b"".join(rd.strings).decode("utf-8", "surrogateescape")
            for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.TXT
            for rd in rrset
        )

    def held(self) -> set[Record]:
        """Every TXT record at or below a ``_torrent`` label, by a signed AXFR."""
        key = self.key
        keyring = {dns.name.from_text(key.name): _dns_key(key)}
        found = set()
        for message in dns.query.xfr(
            "127.0.0.1",
            self.zone,
            port=self.port,
            keyring=keyring,
            keyalgorithm=key.algorithm,
            relativize=False,
            timeout=5,
        ):
            for rrset in message.answer:
                labels = [label.lower() for label in rrset.name.labels]
                if rrset.rdtype == dns.rdatatype.TXT and b"_torrent" in labels:
                    name = rrset.name.canonicalize().to_text()
                    found.update(Record.from_strings(name, rrset.ttl, rd.strings) for rd in rrset)
        return found

    def foreign_update(self, *records: Record, delete: str | None = None) -> None:
        """Change the zone behind torpub's back, as another client would."""
        self.send(records, [delete] if delete is not None else [])

    def send(self, records: Iterable[Record], deleted_names: Iterable[str] = ()) -> None:
        """One signed UPDATE: delete the TXT RRsets at ``deleted_names``, then add."""
        update = dns.update.UpdateMessage(self.zone)
        update.use_tsig(_dns_key(self.key))
        for name in deleted_names:
            update.delete(name, "TXT")
        for record in records:
            update.add(record.name, record.ttl, _rdata(record))
        response = dns.query.tcp(update, "127.0.0.1", port=self.port, timeout=5)
        assert response.rcode() == 0, response


def _dns_key(key: tsig.TsigKey) -> dns.tsig.Key:
    return dns.tsig.Key(key.name, key.secret, key.algorithm)


def _rdata(record: Record) -> dns.rdtypes.ANY.TXT.TXT:
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, record.strings())


def write_octodns_config(
    path: Path, server: UpdateServer, *, zones: str = "example.com.", extra: str = ""
) -> Path:
    """An octoDNS config whose one target is the server through octodns-bind's
    Rfc2136Provider, the TSIG secret from ``env/`` (set it in SECRET_VARIABLE)."""
    path.write_text(
        textwrap.dedent(
            f"""\
            providers:
              config:
                class: octodns.provider.yaml.YamlProvider
                directory: {path.parent}
              dns:
                class: octodns_bind.Rfc2136Provider
                host: 127.0.0.1
                port: {server.port}
                key_name: {KEY_NAME}
                key_secret: env/{SECRET_VARIABLE}
                key_algorithm: {server.key.algorithm_short}
            {extra}
            zones:
              {zones}:
                sources: [config]
                targets: [dns]
            """
        )
    )
    return path


class StartUpdateNamed(Protocol):
    def __call__(
        self,
        *,
        algorithm: str = "hmac-sha256",
        policy: str = DEFAULT_POLICY,
        transfer: str = DEFAULT_TRANSFER,
    ) -> UpdateServer: ...


def _tsig_key_file(directory: Path, algorithm: str) -> Path:
    result = subprocess.run(
        [find_binary("tsig-keygen"), "-a", algorithm, KEY_NAME],
        check=True,
        capture_output=True,
        text=True,
    )
    path = directory / "torpub.key"
    path.write_text(result.stdout)
    path.chmod(0o600)
    return path


def _start(directory: Path, algorithm: str, zone_extra: str) -> UpdateServer:
    zone_file = directory / "db.example.com"
    zone_file.write_text(ZONE_TEXT)
    key_file = _tsig_key_file(directory, algorithm)
    server = start_named(directory, ZONE, zone_file, include=key_file, zone_extra=zone_extra)
    return UpdateServer(server, key_file)


def launch(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    algorithm: str = "hmac-sha256",
    policy: str = DEFAULT_POLICY,
    transfer: str = DEFAULT_TRANSFER,
) -> UpdateServer:
    """Start one server; the caller stops it with :func:`stop`."""
    return on_free_port(
        lambda: _start(tmp_path_factory.mktemp("named-update"), algorithm, f"{policy}\n{transfer}"),
        "named",
    )


def stop(server: UpdateServer) -> None:
    processes.stop(server.named.process)


@pytest.fixture
def update_named(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartUpdateNamed]:
    started: list[UpdateServer] = []

    def start(
        *,
        algorithm: str = "hmac-sha256",
        policy: str = DEFAULT_POLICY,
        transfer: str = DEFAULT_TRANSFER,
    ) -> UpdateServer:
        server = launch(tmp_path_factory, algorithm=algorithm, policy=policy, transfer=transfer)
        started.append(server)
        return server

    yield start
    for server in started:
        stop(server)
