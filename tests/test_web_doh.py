"""The browser client's resolveTorrent (web/src), run by node, against real DNS over
HTTPS: dnsdist relaying to named (and to a validating unbound), GET and POST; its
torrent and its errors are the Python client's, byte for byte and word for word."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_servers import WEB
from client_servers import (
    ZONE,
    StartUnbound,
    append_records,
    publish_zone,
    signed_named,
    unbound,
)
from doh_servers import StartDnsdist, dnsdist
from processes import find_binary

import torpub
from torpub.client.resolve import Nameserver, ResolveOptions
from torpub.errors import TorpubError
from torpub.format.names import names_for
from torpub.format.records import Encoding, Record, TorrentRecords, encode

if TYPE_CHECKING:
    from conftest import StartNamed

__all__ = ["dnsdist", "unbound"]  # fixtures, imported for pytest

URL = "https://dl.example.com/pub/artifact.bin"
RESOLVE = WEB / "test" / "e2e" / "resolve.mjs"


@dataclass(frozen=True)
class Resolved:
    torrent: bytes | None
    info_hash: str
    dnssec: bool
    web_seeds: list[str]


def js_resolve(url: str, doh: str, method: str = "GET", require_dnssec: bool = False) -> Resolved:
    """resolveTorrent in node; a JsError with the message when it throws."""
    extra = ["require-dnssec"] if require_dnssec else []
    done = subprocess.run(
        [find_binary("node"), str(RESOLVE), url, doh, method, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(done.stdout)
    if "error" in got:
        raise JsError(got["error"]["name"], got["error"]["message"])
    torrent = base64.b64decode(got["torrent"]) if got["torrent"] else None
    return Resolved(torrent, got["infoHash"], got["dnssec"], got["webSeeds"])


class JsError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@pytest.fixture
def records(make_torrent: Callable[..., bytes]) -> TorrentRecords:
    torrent = make_torrent(200_000)
    return encode(torrent, names_for(URL), Encoding(chunk_size=100))  # several chunks


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_torrent_over_doh_is_the_one_published(
    records: TorrentRecords,
    zone_file: Path,
    named: StartNamed,
    dnsdist: StartDnsdist,
    method: str,
) -> None:
    publish_zone(zone_file, [records])
    server = named(ZONE, zone_file)
    got = js_resolve(URL, dnsdist(server.port).url, method)
    assert got.torrent == torpub.resolve(URL, python_through(server.port)).payload
    assert got.info_hash == records.head.ih
    assert got.dnssec is False


def test_a_signed_zone_through_a_validating_resolver_is_validated(
    records: TorrentRecords,
    zone_file: Path,
    named: StartNamed,
    unbound: StartUnbound,
    dnsdist: StartDnsdist,
) -> None:
    server, anchor = signed_named(named, zone_file, records)
    validating = dnsdist(unbound(server.port, trust_anchor=anchor).port).url
    got = js_resolve(URL, validating, require_dnssec=True)
    assert got.dnssec is True and got.info_hash == records.head.ih
    # The authoritative server alone never vouches: AD comes from the validator.
    with pytest.raises(JsError, match="were not DNSSEC-validated"):
        js_resolve(URL, dnsdist(server.port).url, require_dnssec=True)


def _without_chunk_one(zone_file: Path, records: TorrentRecords) -> None:
    publish_zone(zone_file, [records])
    value = re.escape(records.chunks[1].value[:64])
    text, count = re.subn(rf"^.*{value}.*\n", "", zone_file.read_text(), flags=re.M)
    assert count == 1, zone_file.read_text()
    zone_file.write_text(text)


def _tampered_chunk(zone_file: Path, records: TorrentRecords) -> None:
    chunk = records.chunks[0]
    flipped = ("B" if chunk.value[0] == "A" else "A") + chunk.value[1:]
    publish_zone(
        zone_file, [replace(records, chunks=(replace(chunk, value=flipped), *records.chunks[1:]))]
    )


def _too_many_chunks(zone_file: Path, records: TorrentRecords) -> None:
    publish_zone(zone_file, [])
    head = replace(records.head_record, value=replace(records.head, n=100_000).to_text())
    append_records(zone_file, [head])


def _nothing(zone_file: Path, records: TorrentRecords) -> None:
    publish_zone(zone_file, [])


def _two_heads(zone_file: Path, records: TorrentRecords) -> None:
    publish_zone(zone_file, [records])
    append_records(zone_file, [Record(records.head_record.name, 300, "v=torrent1; n=0")])


@pytest.mark.parametrize(
    "break_zone",
    [_without_chunk_one, _tampered_chunk, _too_many_chunks, _nothing, _two_heads],
    ids=["missing chunk", "mismatch", "limit", "not published", "two heads"],
)
def test_errors_are_the_python_clients_word_for_word(
    records: TorrentRecords,
    zone_file: Path,
    named: StartNamed,
    dnsdist: StartDnsdist,
    break_zone: Callable[[Path, TorrentRecords], None],
) -> None:
    break_zone(zone_file, records)
    server = named(ZONE, zone_file)
    with pytest.raises(TorpubError) as python:
        torpub.resolve(URL, python_through(server.port))
    with pytest.raises(JsError) as js:
        js_resolve(URL, dnsdist(server.port).url)
    assert js.value.name == type(python.value).__name__
    assert js.value.message == str(python.value)


def python_through(port: int) -> ResolveOptions:
    return ResolveOptions(nameservers=(Nameserver("127.0.0.1", port),), timeout=2.0)
