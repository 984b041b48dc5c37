"""``get`` end to end on loopback: nginx as origin and mirror, named serving the zone
torpub's BIND backend wrote, libtorrent peers; no DHT, LSD, UPnP or NAT-PMP."""

from __future__ import annotations

import hashlib
import re
import socket
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from client_servers import (
    LOCAL_HOST,
    LOCAL_ZONE,
    StartNginx,
    StartSeeder,
    WebServer,
    append_records,
    closed_port,
    nginx,
    publish_zone,
    release,
    seeder,
    torpub_serve,
)
from processes import wait_until

from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.client import download, fetch
from torpub.client.partial import Partial
from torpub.client.resolve import Nameserver, ResolveOptions
from torpub.errors import DownloadError
from torpub.format import bencode
from torpub.format.names import names_for
from torpub.format.records import encode

if TYPE_CHECKING:
    from conftest import NamedServer, StartNamed

__all__ = ["nginx", "seeder", "torpub_serve"]  # fixtures, imported for pytest

SIZE = 3 << 20
NAME = "artifact.bin"
ACCESS = re.compile(r'" (\d{3}) (\d+) ')
LOOPBACK = download.SessionOptions(
    listen="127.0.0.1:0", discovery=False, stall_timeout=20.0, poll_interval=0.05
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def options(server: NamedServer | None = None, **settings: object) -> fetch.GetOptions:
    nameservers = (Nameserver("127.0.0.1", server.port),) if server else ()
    resolve = ResolveOptions(nameservers=nameservers, timeout=1.0, attempts=2)
    base = fetch.GetOptions(http_timeout=2.0, resolve=resolve, session=LOOPBACK)
    return replace(base, **settings)  # type: ignore[arg-type]


def dead_origin() -> str:
    """The artifact's URL on an origin whose port is closed."""
    return f"http://{LOCAL_HOST}:{closed_port()}/pub/{NAME}"


def publish(named: StartNamed, zone_file: Path, url: str, torrent: bytes) -> NamedServer:
    publish_zone(zone_file, [encode(torrent, names_for(url))], LOCAL_ZONE)
    return named(LOCAL_ZONE, zone_file)


@pytest.mark.parametrize("server", ["nginx", "torpub serve"])
def test_a_torrent_aware_origin_hands_out_the_torrent(
    tmp_path: Path, nginx: StartNginx, torpub_serve: StartNginx, server: str
) -> None:
    root = tmp_path / "www"
    root.mkdir()
    origin = nginx(root, torrent_aware=True) if server == "nginx" else torpub_serve(root)
    path, torrent = release(root / "pub", SIZE, webseeds=[origin.url("pub/")])
    (root / "pub" / f"{NAME}.torrent").write_bytes(torrent)
    notes: list[str] = []
    progress: list[download.Progress] = []

    got = fetch.get(
        origin.url(f"pub/{NAME}"), tmp_path / "out", options(), notes.append, progress.append
    )

    assert got.route is fetch.Route.torrent
    assert got.path == tmp_path / "out" / NAME
    assert sha256(got.path) == sha256(path)
    assert "the origin answered with a torrent" in notes
    assert progress[-1].done == progress[-1].total == SIZE
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [NAME]  # no .part left


def test_a_plain_origin_streams_the_file(tmp_path: Path, nginx: StartNginx) -> None:
    root = tmp_path / "www"
    path, _ = release(root / "pub", SIZE)
    origin = nginx(root)
    progress: list[download.Progress] = []

    got = fetch.get(origin.url(f"pub/{NAME}"), tmp_path / "out", options(), None, progress.append)

    assert got.route is fetch.Route.plain
    assert sha256(got.path) == sha256(path)
    assert progress[-1].done == progress[-1].total == SIZE
    with pytest.raises(DownloadError, match="already exists"):
        fetch.get(origin.url(f"pub/{NAME}"), tmp_path / "out", options())


class Interrupt(KeyboardInterrupt):
    """What Ctrl-C raises, once ``after`` bytes are written."""


def interrupt_after(after: int) -> download.ProgressCallback:
    def progress(p: download.Progress) -> None:
        if p.done >= after:
            raise Interrupt

    return progress


def served(origin: WebServer) -> list[tuple[int, int]]:
    """(status, body bytes) of each request in nginx's access log."""
    return [(int(m[1]), int(m[2])) for m in map(ACCESS.search, origin.requests()) if m]


def logged(origin: WebServer, last: tuple[int, int | None]) -> None:
    """Wait until nginx's last logged request is (status, body bytes); None matches any
    size. nginx writes the line after it has answered, so the client can get there first."""

    def matches() -> bool:
        seen = served(origin)
        return bool(seen) and seen[-1][0] == last[0] and last[1] in (None, seen[-1][1])

    wait_until(matches, f"nginx to log {last} as its last request")


def test_an_interrupted_plain_download_continues_where_it_stopped(
    tmp_path: Path, nginx: StartNginx
) -> None:
    root = tmp_path / "www"
    path, _ = release(root / "pub", SIZE)
    origin = nginx(root)
    out = tmp_path / "out"

    with pytest.raises(Interrupt):
        fetch.get(origin.url(f"pub/{NAME}"), out, options(), None, interrupt_after(1 << 20))
    kept = (out / f".{NAME}.http-part").stat().st_size
    assert 1 << 20 <= kept < SIZE
    assert not (out / NAME).exists()

    progress: list[download.Progress] = []
    notes: list[str] = []
    got = fetch.get(origin.url(f"pub/{NAME}"), out, options(), notes.append, progress.append)

    assert sha256(got.path) == sha256(path)
    logged(origin, (206, SIZE - kept))
    assert progress[0].done > kept and progress[-1].done == progress[-1].total == SIZE
    assert "continuing the partial download" in notes[-1]
    assert sorted(p.name for p in out.iterdir()) == [NAME]


def test_a_file_changed_since_the_interruption_is_fetched_whole(
    tmp_path: Path, nginx: StartNginx
) -> None:
    root = tmp_path / "www"
    release(root / "pub", SIZE)
    origin = nginx(root)
    out = tmp_path / "out"
    with pytest.raises(Interrupt):
        fetch.get(origin.url(f"pub/{NAME}"), out, options(), None, interrupt_after(1 << 20))

    path, _ = release(root / "pub", SIZE + 1, seed=7)  # a new release under the same URL
    got = fetch.get(origin.url(f"pub/{NAME}"), out, options())

    assert sha256(got.path) == sha256(path)
    logged(origin, (200, SIZE + 1))


def test_a_part_longer_than_the_file_is_discarded(tmp_path: Path, nginx: StartNginx) -> None:
    root = tmp_path / "www"
    release(root / "pub", SIZE)
    origin = nginx(root)
    partial = Partial(tmp_path / "out" / NAME)
    partial.part.parent.mkdir()
    partial.part.write_bytes(b"x" * (SIZE + 10))
    partial.etag_file.write_text(httpx.head(origin.url(f"pub/{NAME}")).headers["etag"])

    with pytest.raises(DownloadError, match="HTTP 416: the partial download does not fit"):
        fetch.get(origin.url(f"pub/{NAME}"), tmp_path / "out", options())
    assert list((tmp_path / "out").iterdir()) == []
    logged(origin, (416, None))


def test_a_range_other_than_asked_for_discards_the_part(tmp_path: Path) -> None:
    partial = Partial(tmp_path / NAME)
    partial.part.write_bytes(b"12345")
    partial.etag_file.write_text('"v1"')
    assert partial.request_headers() == {"Range": "bytes=5-", "If-Range": '"v1"'}
    answer = httpx.Response(206, headers={"Content-Range": "bytes 3-9/10"}, content=b"4567890")
    answer.request = httpx.Request("GET", "http://origin.test/x")

    with pytest.raises(DownloadError, match="another range than asked for"):
        partial.stream(answer, None)
    assert list(tmp_path.iterdir()) == []

    partial.part.write_bytes(b"12345")
    partial.etag_file.write_text('"v1"')
    short = httpx.Response(206, headers={"Content-Range": "bytes 5-7/10"}, content=b"678")
    short.request = answer.request
    with pytest.raises(DownloadError, match="another range than asked for"):
        partial.stream(short, None)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_file_is_an_error_not_a_fallback(tmp_path: Path, nginx: StartNginx) -> None:
    origin = nginx(tmp_path)
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch.get(origin.url("nothing.iso"), tmp_path / "out", options())


def test_origin_down_falls_back_to_dns_and_a_mirror_web_seed(
    tmp_path: Path, nginx: StartNginx, named: StartNamed, zone_file: Path
) -> None:
    mirror_root = tmp_path / "mirror"
    mirror = nginx(mirror_root)
    path, torrent = release(mirror_root / "pub", SIZE, webseeds=[mirror.url("pub/")])
    url = dead_origin()
    server = publish(named, zone_file, url, torrent)
    notes: list[str] = []
    stale = Partial(tmp_path / "out" / NAME)  # what an earlier plain download left
    stale.part.parent.mkdir()
    stale.part.write_bytes(b"earlier")
    stale.etag_file.write_text('"v0"')

    got = fetch.get(url, tmp_path / "out", options(server), notes.append)

    assert got.route is fetch.Route.dns
    assert got.resolved is not None and got.resolved.payload == torrent
    assert sha256(got.path) == sha256(path)
    assert any("did not answer (connection refused)" in n for n in notes)
    assert "resolved over DNS (not validated)" in notes
    assert any(f'GET /pub/{NAME} HTTP/1.1" 206' in line for line in mirror.requests())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [NAME]


def test_origin_failing_with_5xx_falls_back_to_dns(
    tmp_path: Path, nginx: StartNginx, named: StartNamed, zone_file: Path
) -> None:
    mirror_root = tmp_path / "mirror"
    mirror = nginx(mirror_root)
    path, torrent = release(mirror_root / "pub", 200_000, webseeds=[mirror.url("pub/")])
    origin = nginx(tmp_path / "empty", status=503)
    url = origin.url(f"pub/{NAME}").replace("127.0.0.1", LOCAL_HOST)
    server = publish(named, zone_file, url, torrent)
    notes: list[str] = []

    got = fetch.get(url, tmp_path / "out", options(server), notes.append)

    assert got.route is fetch.Route.dns
    assert sha256(got.path) == sha256(path)
    assert any("HTTP 503" in n for n in notes)


def test_origin_down_without_web_seeds_downloads_from_a_peer(
    tmp_path: Path, seeder: StartSeeder, named: StartNamed, zone_file: Path
) -> None:
    path, torrent = release(tmp_path / "seed", SIZE)
    peer = seeder(torrent, tmp_path / "seed")
    url = dead_origin()
    server = publish(named, zone_file, url, torrent)
    session = download.SessionOptions(
        listen="127.0.0.1:0", discovery=False, peers=(("127.0.0.1", peer.port),), stall_timeout=20.0
    )

    got = fetch.get(url, tmp_path / "out", options(server, session=session))

    assert got.route is fetch.Route.dns
    assert sha256(got.path) == sha256(path)
    assert peer.uploaded() >= SIZE


def publish_info_hash_only(
    named: StartNamed, zone_file: Path, url: str, torrent: bytes
) -> NamedServer:
    """A head with n=0: DNS names the info-hash and no chunks (record format §2)."""
    records = encode(torrent, names_for(url))
    head = replace(records.head_record, value=replace(records.head, n=0).to_text())
    publish_zone(zone_file, [], LOCAL_ZONE)
    append_records(zone_file, [head])
    return named(LOCAL_ZONE, zone_file)


def test_a_head_without_chunks_gets_the_torrent_from_a_peer(
    tmp_path: Path, seeder: StartSeeder, named: StartNamed, zone_file: Path
) -> None:
    """The peer sends the info dict (BEP 9), then the file."""
    path, torrent = release(tmp_path / "seed", SIZE)
    peer = seeder(torrent, tmp_path / "seed")
    url = dead_origin()
    server = publish_info_hash_only(named, zone_file, url, torrent)
    session = replace(LOOPBACK, peers=(("127.0.0.1", peer.port),))
    notes: list[str] = []

    got = fetch.get(url, tmp_path / "out", options(server, session=session), notes.append)

    assert got.route is fetch.Route.dns
    assert got.resolved is not None and got.resolved.payload is None
    assert sha256(got.path) == sha256(path)
    assert "DNS publishes only the info-hash (n=0); asking peers for the torrent" in notes

    saved = fetch.get(
        url, tmp_path / "torrents", options(server, session=session, torrent_only=True)
    )
    start, end = bencode.info_span(torrent)
    assert saved.path.read_bytes() == b"d4:info" + torrent[start:end] + b"e"


def test_a_head_without_chunks_and_no_peer_is_a_clear_error(
    tmp_path: Path, named: StartNamed, zone_file: Path
) -> None:
    _, torrent = release(tmp_path / "src", 100_000)
    url = dead_origin()
    server = publish_info_hash_only(named, zone_file, url, torrent)
    session = replace(LOOPBACK, stall_timeout=1.0)

    with pytest.raises(DownloadError, match=r"no peer sent the torrent in 1 s \(0 peers\)"):
        fetch.get(url, tmp_path / "out", options(server, session=session))
    assert not (tmp_path / "out" / NAME).exists()


def test_a_partial_download_resumes_from_its_part_directory(tmp_path: Path) -> None:
    """No peers and no web seeds: only what the last run left can finish it."""
    path, torrent = release(tmp_path / "src", 1 << 20)
    out = tmp_path / "out"
    part = download.part_directory(out, NAME)
    part.mkdir(parents=True)
    (part / NAME).write_bytes(path.read_bytes())

    done = download.download(torrent, out, NAME, LOOPBACK)

    assert done == out / NAME
    assert sha256(done) == sha256(path)
    assert not part.exists()


def test_an_interrupted_download_keeps_its_part_and_a_rerun_fetches_only_the_rest(
    tmp_path: Path, seeder: StartSeeder
) -> None:
    path, torrent = release(tmp_path / "seed", SIZE)
    out = tmp_path / "out"
    part = download.part_directory(out, NAME)
    part.mkdir(parents=True)
    (part / NAME).write_bytes(path.read_bytes()[: SIZE // 2])  # what a first run got
    stalled = replace(LOOPBACK, stall_timeout=1.0)

    with pytest.raises(DownloadError, match=r"no progress for 1 s; web seeds tried: none; 0 peers"):
        download.download(torrent, out, NAME, stalled)
    assert (part / download.RESUME_FILE).is_file()
    assert not (out / NAME).exists()

    peer = seeder(torrent, tmp_path / "seed")
    done = download.download(
        torrent, out, NAME, replace(LOOPBACK, peers=(("127.0.0.1", peer.port),))
    )
    assert sha256(done) == sha256(path)
    assert SIZE // 2 <= peer.uploaded() < SIZE * 3 // 4
    assert not part.exists()


def test_an_origin_that_accepts_but_never_answers_falls_back_to_dns(
    tmp_path: Path, named: StartNamed, zone_file: Path
) -> None:
    _, torrent = release(tmp_path / "src", 100_000)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://{LOCAL_HOST}:{silent.getsockname()[1]}/pub/{NAME}"
        server = publish(named, zone_file, url, torrent)
        notes: list[str] = []
        got = fetch.get(
            url,
            tmp_path / "out",
            options(server, http_timeout=0.5, torrent_only=True),
            notes.append,
        )
    assert got.route is fetch.Route.dns
    assert got.path.read_bytes() == torrent
    assert any("did not answer in time (ReadTimeout)" in n for n in notes)


def test_cli_get_torrent_only_over_dns_fallback(
    tmp_path: Path,
    named: StartNamed,
    zone_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, torrent = release(tmp_path / "src", 100_000)
    url = dead_origin()
    server = publish(named, zone_file, url, torrent)
    args = [url, "-o", str(tmp_path / "out"), "--resolver", f"127.0.0.1:{server.port}"]

    code = main(["get", *args, "--torrent-only", "--timeout", "2"])

    out, err = capsys.readouterr()
    assert code == EXIT_OK
    assert out.strip() == str(tmp_path / "out" / f"{NAME}.torrent")
    assert (tmp_path / "out" / f"{NAME}.torrent").read_bytes() == torrent
    assert "did not answer (connection refused); resolving the torrent over DNS" in err

    code = main(["get", dead_origin().replace(NAME, "other.bin"), *args[1:], "--torrent-only"])
    _, err = capsys.readouterr()
    assert code == EXIT_ERROR
    assert "torpub: error: no torrent is published for" in err


def test_cli_get_downloads_from_a_mirror(
    tmp_path: Path,
    nginx: StartNginx,
    named: StartNamed,
    zone_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror = nginx(tmp_path / "mirror")
    path, torrent = release(tmp_path / "mirror" / "pub", 500_000, webseeds=[mirror.url("pub/")])
    url = dead_origin()
    server = publish(named, zone_file, url, torrent)

    code = main(
        [
            "get",
            url,
            "-o",
            str(tmp_path / "out"),
            "-r",
            f"127.0.0.1:{server.port}",
            "--listen",
            "127.0.0.1:0",
            "--no-discovery",
            "--no-seed",
            "--timeout",
            "2",
        ]
    )

    out, _ = capsys.readouterr()
    assert code == EXIT_OK
    assert out.strip() == str(tmp_path / "out" / NAME)
    assert sha256(tmp_path / "out" / NAME) == sha256(path)
