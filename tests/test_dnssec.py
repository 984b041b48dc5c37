"""DNSSEC: a zone torpub wrote, signed with dnssec-signzone, served by named and
resolved through a validating unbound that holds the zone's trust anchor."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from client_servers import (
    HOST,
    ZONE,
    StartUnbound,
    publish_zone,
    release,
    sign_zone,
    signed_named,
    unbound,
)

import torpub
from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.client.resolve import Nameserver, ResolveOptions
from torpub.errors import NotValidated, ResolutionFailed
from torpub.format.names import names_for
from torpub.format.records import TorrentRecords, encode

if TYPE_CHECKING:
    from conftest import StartNamed

__all__ = ["unbound"]  # a fixture, imported for pytest

URL = f"https://{HOST}/pub/artifact.bin"


@pytest.fixture
def records(tmp_path: Path) -> TorrentRecords:
    torrent = release(tmp_path / "release", 2_000_000, piece_size=16384)[1]
    return encode(torrent, names_for(URL))


def through(port: int, **settings: object) -> ResolveOptions:
    options = ResolveOptions(nameservers=(Nameserver("127.0.0.1", port),), timeout=2.0)
    return replace(options, **settings)  # type: ignore[arg-type]


def test_a_signed_zone_through_a_validating_resolver_is_validated(
    records: TorrentRecords,
    zone_file: Path,
    named: StartNamed,
    unbound: StartUnbound,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, anchor = signed_named(named, zone_file, records)
    resolver = unbound(server.port, trust_anchor=anchor)

    resolved = torpub.resolve(URL, through(resolver.port, require_dnssec=True))

    assert resolved.validated is True
    assert resolved.payload is not None and resolved.head == records.head
    # The authoritative server alone never vouches: AD comes from the validator.
    assert torpub.resolve(URL, through(server.port)).validated is False

    code = main(["resolve", URL, "-r", f"127.0.0.1:{resolver.port}", "--require-dnssec", "--json"])
    out, _ = capsys.readouterr()
    assert code == EXIT_OK
    assert json.loads(out)["validated"] is True


def test_an_unsigned_zone_is_refused_when_dnssec_is_required(
    records: TorrentRecords,
    zone_file: Path,
    named: StartNamed,
    unbound: StartUnbound,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish_zone(zone_file, [records])
    server = named(ZONE, zone_file)
    resolver = unbound(server.port)  # no trust anchor: the zone is insecure, not bogus

    resolved = torpub.resolve(URL, through(resolver.port))
    assert resolved.validated is False
    with pytest.raises(NotValidated, match="not DNSSEC-validated"):
        torpub.resolve(URL, through(resolver.port, require_dnssec=True))

    code = main(["resolve", URL, "-r", f"127.0.0.1:{server.port}", "--require-dnssec"])
    out, err = capsys.readouterr()
    assert code == EXIT_ERROR
    assert out == ""
    assert "not DNSSEC-validated" in err and "refusing" in err


def test_a_chunk_changed_after_signing_is_bogus_and_never_reaches_the_client(
    records: TorrentRecords, zone_file: Path, named: StartNamed, unbound: StartUnbound
) -> None:
    publish_zone(zone_file, [records])
    signed, anchor = sign_zone(zone_file)
    text = signed.read_text()
    first = records.chunks[0]
    assert first.value[:50] in text
    signed.write_text(text.replace(first.value[:50], first.value[:49] + "Z", 1))
    server = named(ZONE, signed)
    resolver = unbound(server.port, trust_anchor=anchor)

    with pytest.raises(ResolutionFailed, match=r"0\.[0-9a-f]{16}\."):
        torpub.resolve(URL, through(resolver.port, timeout=1.0, attempts=1))
