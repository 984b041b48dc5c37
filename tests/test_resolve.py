"""Reading torrents back from a real named serving a zone torpub's BIND backend wrote."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from client_servers import HOST, ZONE, append_records, closed_port, publish_zone, release

import torpub
from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.client.resolve import Nameserver, ResolveOptions, resolve_async
from torpub.errors import (
    ChecksumMismatch,
    LimitExceeded,
    MissingChunk,
    NotPublished,
    RecordError,
    ResolutionFailed,
)
from torpub.format.names import names_for
from torpub.format.records import Limits, Record, TorrentRecords, encode

if TYPE_CHECKING:
    from conftest import NamedServer, StartNamed

URL = f"https://{HOST}/pub/artifact.bin"
MIRROR = "http://mirror.example.net/pub/"
SIZE = 6_000_000  # 367 pieces of 16 KiB: 11 chunks
# named logs every query it answers; the tests read it to see what was asked.
QUERYLOG = "querylog yes;"
CHUNK_QUERY = re.compile(r"query: \d+\.[0-9a-f]{16}\.\S+ IN TXT")


@pytest.fixture
def torrent(tmp_path: Path) -> bytes:
    return release(tmp_path / "release", SIZE, webseeds=[MIRROR], piece_size=16384)[1]


def serve(
    named: StartNamed, zone_file: Path, *desired: TorrentRecords, raw: Sequence[Record] = ()
) -> NamedServer:
    """named serving the desired torrents as torpub publishes them, plus raw records."""
    publish_zone(zone_file, desired)
    append_records(zone_file, raw)
    return named(ZONE, zone_file, QUERYLOG)


def via(server: NamedServer, **settings: object) -> ResolveOptions:
    nameserver = Nameserver("127.0.0.1", server.port)
    return ResolveOptions(nameservers=(nameserver,), timeout=1.0, attempts=2, **settings)  # type: ignore[arg-type]


def with_chunks(records: TorrentRecords, values: dict[int, str | None]) -> TorrentRecords:
    """The records with chunk values replaced, or dropped where the value is None."""
    chunks = []
    for i, chunk in enumerate(records.chunks):
        value = values.get(i, chunk.value)
        if value is not None:
            chunks.append(replace(chunk, value=value))
    return replace(records, chunks=tuple(chunks))


def head_record(records: TorrentRecords, text: str) -> Record:
    return replace(records.head_record, value=text)


def chunk_queries(server: NamedServer) -> list[str]:
    return CHUNK_QUERY.findall(server.log())


def test_resolve_reassembles_checks_and_summarises(
    torrent: bytes, zone_file: Path, named: StartNamed
) -> None:
    records = encode(torrent, names_for(URL))
    other = encode(release(zone_file.parent / "b", 20_000, seed=1)[1], names_for(URL + ".sig"))
    server = serve(named, zone_file, records, other)
    assert records.head.n > 8

    resolved = torpub.resolve(URL, via(server))

    assert resolved.payload == torrent
    assert resolved.head == records.head
    assert resolved.queries == 1 + records.head.n
    assert len(set(chunk_queries(server))) == records.head.n
    assert resolved.validated is False  # named is authoritative only: no AD
    assert resolved.head_ttl == 300
    info = resolved.info
    assert info is not None
    assert (info.name, info.size, info.files) == ("artifact.bin", SIZE, 1)
    assert info.pieces == -(-SIZE // info.piece_length)
    assert info.info_hash == records.head.ih
    assert info.web_seeds == (MIRROR,)
    assert resolved.magnet.startswith(f"magnet:?xt=urn:btih:{records.head.ih}&dn=artifact.bin")
    assert "ws=http%3A%2F%2Fmirror.example.net%2Fpub%2F" in resolved.magnet
    same = asyncio.run(resolve_async(URL.replace("/pub/", "/pub/./"), via(server)))
    assert same.payload == torrent


def test_nothing_published_says_so(torrent: bytes, zone_file: Path, named: StartNamed) -> None:
    server = serve(named, zone_file, encode(torrent, names_for(URL)))
    with pytest.raises(NotPublished, match=r"no torrent is published for .*/other\.bin"):
        torpub.resolve(f"https://{HOST}/other.bin", via(server))


def test_a_missing_chunk_is_named_by_index(
    torrent: bytes, zone_file: Path, named: StartNamed
) -> None:
    records = encode(torrent, names_for(URL))
    server = serve(named, zone_file, with_chunks(records, {5: None, 7: None}))
    with pytest.raises(MissingChunk, match=r"chunk 5 is missing \(5\.[0-9a-f]{16}\.") as caught:
        torpub.resolve(URL, via(server))
    assert caught.value.index == 5


def test_a_tampered_chunk_means_caught_mid_update(
    torrent: bytes, zone_file: Path, named: StartNamed
) -> None:
    records = encode(torrent, names_for(URL))
    piece = records.chunks[3].value
    tampered = piece[:100] + ("A" if piece[100] != "A" else "B") + piece[101:]
    server = serve(named, zone_file, with_chunks(records, {3: tampered}))
    with pytest.raises(ChecksumMismatch, match=r"SHA-256 differs.*mid-update.*TTL \(300 s\)"):
        torpub.resolve(URL, via(server))


def test_bad_base64_is_a_mismatch(torrent: bytes, zone_file: Path, named: StartNamed) -> None:
    records = encode(torrent, names_for(URL))
    server = serve(
        named, zone_file, with_chunks(records, {0: "!!!!" + records.chunks[0].value[4:]})
    )
    with pytest.raises(ChecksumMismatch, match="base64"):
        torpub.resolve(URL, via(server))


def test_an_unknown_version_is_refused(torrent: bytes, zone_file: Path, named: StartNamed) -> None:
    records = encode(torrent, names_for(URL))
    text = records.head_record.value.replace("v=torrent1", "v=torrent2")
    server = serve(named, zone_file, raw=[head_record(records, text), *records.chunks])
    with pytest.raises(RecordError, match="version 'torrent2'"):
        torpub.resolve(URL, via(server))
    assert chunk_queries(server) == []


@pytest.mark.parametrize(
    ("n", "length", "message"),
    [(100_000, 1000, "asks for 100000 chunks"), (2, 50_000_000, "announces 50000000 bytes")],
)
def test_a_head_over_the_limits_is_refused_before_any_chunk_query(
    torrent: bytes, zone_file: Path, named: StartNamed, n: int, length: int, message: str
) -> None:
    records = encode(torrent, names_for(URL))
    head = replace(records.head, n=n, length=length)
    server = serve(named, zone_file, raw=[head_record(records, head.to_text()), *records.chunks])
    with pytest.raises(LimitExceeded, match=message):
        torpub.resolve(URL, via(server))
    assert chunk_queries(server) == []
    assert any(records.names.head_name[:-1] in line for line in server.log().splitlines())


def test_chunks_larger_than_the_head_announces_stop_early(
    torrent: bytes, zone_file: Path, named: StartNamed
) -> None:
    """A hostile zone cannot make the client hold more than the head's length."""
    small = release(zone_file.parent / "small", 2_000, seed=2)[1]
    records = encode(small, names_for(URL))
    names = records.names
    huge = tuple(
        Record(names.chunk_name(records.head.chunk_id, i), 60, "QUFB" * 15_000) for i in range(3)
    )
    head = replace(records.head, n=3)
    server = serve(named, zone_file, raw=[head_record(records, head.to_text()), *huge])
    with pytest.raises(ChecksumMismatch, match="hold more than the head announces"):
        torpub.resolve(URL, via(server, limits=Limits()))


def test_resolvers_are_tried_in_turn(torrent: bytes, zone_file: Path, named: StartNamed) -> None:
    server = serve(named, zone_file, encode(torrent, names_for(URL)))
    dead = Nameserver("127.0.0.1", closed_port())
    nameservers = (dead, Nameserver("127.0.0.1", server.port))
    options = replace(via(server), nameservers=nameservers, timeout=0.3)
    assert torpub.resolve(URL, options).payload == torrent


def test_no_resolver_answering_is_an_error() -> None:
    options = ResolveOptions(
        nameservers=(Nameserver("127.0.0.1", closed_port()),), timeout=0.2, attempts=1
    )
    with pytest.raises(ResolutionFailed, match="no resolver answered"):
        torpub.resolve(URL, options)


def test_nameserver_text_forms() -> None:
    assert Nameserver.from_text("127.0.0.1") == Nameserver("127.0.0.1", 53)
    assert Nameserver.from_text("127.0.0.1:5353") == Nameserver("127.0.0.1", 5353)
    assert Nameserver.from_text("[::1]:5353") == Nameserver("::1", 5353)
    assert Nameserver.from_text("::1") == Nameserver("::1", 53)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``torpub ARGS``: the exit code, stdout and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_resolve(
    torrent: bytes,
    zone_file: Path,
    named: StartNamed,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = encode(torrent, names_for(URL))
    server = serve(named, zone_file, records)
    resolver = f"127.0.0.1:{server.port}"

    code, out, _ = run(capsys, "resolve", URL, "--resolver", resolver)
    assert code == EXIT_OK
    assert "artifact.bin" in out and records.head.ih in out and MIRROR in out
    assert "DNSSEC" in out and "magnet:?xt=urn:btih:" in out

    code, out, _ = run(capsys, "resolve", URL, "--resolver", resolver, "--json")
    summary = json.loads(out)
    assert code == EXIT_OK
    assert summary["validated"] is False
    assert summary["info_hash"] == records.head.ih
    assert summary["torrent"]["web_seeds"] == [MIRROR]

    target = tmp_path / "out.torrent"
    code, _, _ = run(capsys, "resolve", URL, "-r", resolver, "-o", str(target), "-q")
    assert code == EXIT_OK
    assert target.read_bytes() == torrent

    code, out, err = run(capsys, "resolve", f"https://{HOST}/nope", "-r", resolver)
    assert code == EXIT_ERROR
    assert out == ""
    assert err.strip() == f"torpub: error: no torrent is published for https://{HOST}/nope"


def test_a_head_without_chunks_resolves_to_its_magnet_link(
    torrent: bytes,
    zone_file: Path,
    named: StartNamed,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = encode(torrent, names_for(URL))
    head = replace(records.head, n=0)
    server = serve(named, zone_file, raw=[head_record(records, head.to_text())])

    resolved = torpub.resolve(URL, via(server))
    assert resolved.payload is None and resolved.info is None and resolved.queries == 1
    assert resolved.magnet == f"magnet:?xt=urn:btih:{records.head.ih}"
    assert chunk_queries(server) == []

    target = tmp_path / "x.torrent"
    code, out, err = run(
        capsys, "resolve", URL, "-r", f"127.0.0.1:{server.port}", "-o", str(target)
    )
    assert code == EXIT_ERROR and out == ""
    assert err.strip() == (
        f"torpub: error: DNS publishes only an info-hash for {URL}: {resolved.magnet};"
        " `torpub get --torrent-only` asks peers for the torrent"
    )
    assert not target.exists()
