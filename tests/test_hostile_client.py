"""Issue 10 on the client side: hostile torrents served by a real named or nginx,
run through the CLI. Each bad input gives one line on stderr, exit 1, and no write
outside the place the user chose."""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import torf
from client_servers import (
    LOCAL_HOST,
    LOCAL_ZONE,
    StartNginx,
    append_records,
    closed_port,
    nginx,
    publish_zone,
    release,
)
from test_client_fuzz import encode
from test_get import LOOPBACK, NAME, dead_origin, options, publish, sha256
from test_resolve import run

from torpub.cli import EXIT_ERROR, EXIT_OK
from torpub.client import download, fetch
from torpub.client.partial import Partial
from torpub.errors import DownloadError, RecordError
from torpub.format import bencode
from torpub.format.names import names_for
from torpub.format.records import Head, Record

if TYPE_CHECKING:
    from conftest import NamedServer, StartNamed

__all__ = ["nginx"]  # a fixture, imported for pytest


def one_error_line(err: str, *needles: str) -> None:
    """One error line, the last; before it only get's notes of the route taken."""
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("torpub: error: ")]
    assert errors == lines[-1:], err
    assert "Traceback" not in err and "caught mid-update" not in err
    for needle in needles:
        assert needle in lines[-1]


def get_args(url: str, out: Path, server: NamedServer, *more: str) -> list[str]:
    resolver = f"127.0.0.1:{server.port}"
    loopback = ["--listen", "127.0.0.1:0", "--no-discovery", "--no-seed", "--timeout", "2"]
    return ["get", url, "-o", str(out), "-r", resolver, *loopback, *more]


def rewrite(torrent: bytes, **info: Any) -> bytes:
    """The torrent with info fields replaced (None removes one)."""
    meta = bencode.decode(torrent)
    fields = meta[b"info"]
    for key, value in info.items():
        name = key.replace("_", " ").encode()
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return encode(meta)


def publish_raw(named: StartNamed, zone_file: Path, url: str, payload: bytes) -> NamedServer:
    """Records for any payload, even one that is no torrent, as a hostile zone holds."""
    names = names_for(url)
    text = base64.b64encode(payload).decode()
    pieces = [text[i : i + 900] for i in range(0, len(text), 900)]
    try:
        ih = bencode.info_hash(payload)
    except RecordError:
        ih = "0" * 40  # no info dict to hash: the records still decode to these bytes
    head = Head(len(pieces), len(payload), hashlib.sha256(payload).hexdigest(), ih)
    chunks = [Record(names.chunk_name(head.chunk_id, i), 60, p) for i, p in enumerate(pieces)]
    publish_zone(zone_file, [], LOCAL_ZONE)
    append_records(zone_file, [Record(names.head_name, 60, head.to_text()), *chunks])
    return named(LOCAL_ZONE, zone_file)


# --- 1. the output name comes from the URL, never from the torrent -----------------------


@pytest.mark.parametrize(
    "path", ["pub/", "pub/..", "pub/%2e%2e", "pub/.profile", "pub/a%2Fb", "pub/x%0d%0ay", "pub/%2e"]
)
def test_a_url_naming_no_plain_file_is_refused_before_any_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    out = tmp_path / "out"
    code, stdout, err = run(
        capsys, "get", f"http://{LOCAL_HOST}:{closed_port()}/{path}", "-o", str(out)
    )
    assert code == EXIT_ERROR and stdout == ""
    one_error_line(err, "the URL names no file to write")
    assert not out.exists()


def test_a_multi_file_torrent_named_dot_ssh_is_refused(
    tmp_path: Path,
    named: StartNamed,
    zone_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = tmp_path / "src" / ".ssh"
    keys.mkdir(parents=True)
    (keys / "authorized_keys").write_text("ssh-ed25519 AAAA attacker\n")
    hostile = torf.Torrent(keys, created_by=None, creation_date=None, webseeds=["http://x/"])
    hostile.generate()
    url = dead_origin()
    server = publish(named, zone_file, url, hostile.dump())
    monkeypatch.chdir(tmp_path)

    for more in ((), ("--torrent-only",)):
        code, _, err = run(capsys, *get_args(url, Path("."), server, *more))
        assert code == EXIT_ERROR
        one_error_line(err, "refusing the torrent", "file list")
    assert sorted(os.listdir(tmp_path)) == ["src", "zones"]


def test_a_single_file_torrent_named_dot_profile_lands_under_the_urls_name(
    tmp_path: Path,
    nginx: StartNginx,
    named: StartNamed,
    zone_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror = nginx(tmp_path / "mirror")
    source, _ = release(tmp_path / "mirror" / "pub", 300_000)
    source.rename(source.with_name(".profile"))  # what the hostile torrent names
    _, torrent = release(tmp_path / "mirror" / "pub", 300_000)
    hostile = rewrite(torrent, name=b".profile")
    hostile = encode(bencode.decode(hostile) | {b"url-list": mirror.url("pub/").encode()})
    url = dead_origin()
    server = publish(named, zone_file, url, hostile)
    out = tmp_path / "out"

    code, stdout, _ = run(capsys, *get_args(url, out, server))

    assert code == EXIT_OK and stdout.strip() == str(out / NAME)
    assert sorted(os.listdir(out)) == [NAME]
    assert sha256(out / NAME) == sha256(source.with_name(".profile"))


@pytest.mark.parametrize(
    "change",
    [
        {"length": 10_000_000},  # more than the pieces cover
        {"length": 1},  # fewer
        {"piece_length": 0},
        {"attr": b"l", "symlink_path": [b"etc", b"passwd"]},
        {"name": 7},  # type confusion
        {"pieces": [b"x"]},
    ],
)
def test_a_torrent_whose_fields_do_not_agree_is_refused_before_any_write(
    tmp_path: Path,
    named: StartNamed,
    zone_file: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
) -> None:
    _, torrent = release(tmp_path / "src", 200_000)
    url = dead_origin()
    server = publish_raw(named, zone_file, url, rewrite(torrent, **change))
    out = tmp_path / "out"

    for more in ((), ("--torrent-only",)):
        code, _, err = run(capsys, *get_args(url, out, server, *more))
        assert code == EXIT_ERROR
        one_error_line(err)
        assert list(out.iterdir()) == []


def test_torrent_only_never_replaces_a_file(
    tmp_path: Path, named: StartNamed, zone_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, torrent = release(tmp_path / "src", 100_000)
    url = dead_origin()
    server = publish(named, zone_file, url, torrent)
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{NAME}.torrent").write_text("mine")

    code, _, err = run(capsys, *get_args(url, out, server, "--torrent-only"))

    assert code == EXIT_ERROR
    one_error_line(err, "already exists")
    assert (out / f"{NAME}.torrent").read_text() == "mine"


# --- symlinks planted at part paths ---------------------------------------------------------


def test_a_symlink_at_the_http_part_does_not_redirect_the_write(
    tmp_path: Path, nginx: StartNginx
) -> None:
    root = tmp_path / "www"
    path, _ = release(root / "pub", 500_000)
    origin = nginx(root)
    out = tmp_path / "out"
    out.mkdir()
    victim, secret = tmp_path / "victim", tmp_path / "secret"
    victim.write_text("keep me")
    secret.write_text('"a secret"')
    partial = Partial(out / NAME)
    partial.part.symlink_to(victim)
    partial.etag_file.symlink_to(secret)

    assert partial.request_headers() == {}  # the secret is not sent as If-Range
    got = fetch.get(origin.url(f"pub/{NAME}"), out, options())

    assert sha256(got.path) == sha256(path)
    assert victim.read_text() == "keep me"


def test_a_symlink_in_the_part_directory_is_refused(tmp_path: Path) -> None:
    _, torrent = release(tmp_path / "src", 100_000)
    out = tmp_path / "out"
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    part = download.part_directory(out, NAME)
    part.mkdir(parents=True)
    (part / NAME).symlink_to(victim)

    with pytest.raises(DownloadError, match="is a symlink or special file"):
        download.download(torrent, out, NAME, LOOPBACK)
    assert victim.read_text() == "keep me"

    (part / NAME).unlink()
    part.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    part.symlink_to(elsewhere)
    with pytest.raises(DownloadError, match="is not a directory of this user"):
        download.download(torrent, out, NAME, LOOPBACK)
    assert list(elsewhere.iterdir()) == []


# --- 8. web seeds and stalls ----------------------------------------------------------------


def test_only_http_web_seeds_are_used_and_a_stall_names_what_was_tried(
    tmp_path: Path,
    named: StartNamed,
    zone_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead_seed = f"http://127.0.0.1:{closed_port()}/pub/"
    seeds = ["ftp://127.0.0.1/pub/", "gopher://127.0.0.1/pub/", dead_seed]
    _, torrent = release(tmp_path / "src", 100_000, webseeds=seeds)
    url = dead_origin()
    server = publish(named, zone_file, url, torrent)

    code, _, err = run(
        capsys, *get_args(url, tmp_path / "out", server, "--stall-timeout", "1", "-v")
    )

    assert code == EXIT_ERROR
    notes, last = err.strip().splitlines()[:-1], err.strip().splitlines()[-1]
    assert any("ignoring web seed gopher://127.0.0.1/pub/" in n for n in notes)
    assert any("ignoring web seed ftp://127.0.0.1/pub/" in n for n in notes)
    one_error_line(last, "no progress for 1 s", f"web seeds tried: {dead_seed};", "0 peers")
    assert "--no-discovery" in last
    assert not (tmp_path / "out" / NAME).exists()


def test_ssrf_mitigation_stays_on() -> None:
    session = download.SessionOptions(listen="127.0.0.1:0", discovery=False)
    settings = download.lt.session(session.settings()).get_settings()
    assert settings["ssrf_mitigation"] is True and settings["allow_idna"] is False


# --- 7. misc: errors that gave tracebacks ----------------------------------------------------


@pytest.fixture
def redirect_loop() -> Iterator[str]:
    """An origin that redirects every request to itself."""

    class Loop(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Loop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pub/{NAME}"
    server.shutdown()
    server.server_close()


def test_a_redirect_loop_is_one_line(
    tmp_path: Path, redirect_loop: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "get", redirect_loop, "-o", str(tmp_path / "out"))
    assert code == EXIT_ERROR
    one_error_line(err, "redirects in a loop")
    assert list((tmp_path / "out").iterdir()) == []


def test_get_o_naming_a_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    code, _, err = run(capsys, "get", dead_origin(), "-o", str(a_file))
    assert code == EXIT_ERROR
    one_error_line(err, "is not a directory")
    assert a_file.read_text() == "mine"


def test_resolve_o_into_a_missing_directory_or_a_directory(
    tmp_path: Path, named: StartNamed, zone_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, torrent = release(tmp_path / "src", 100_000)
    url = dead_origin()
    server = publish(named, zone_file, url, torrent)
    resolver = f"127.0.0.1:{server.port}"

    code, _, err = run(capsys, "resolve", url, "-r", resolver, "-o", str(tmp_path / "no" / "x"))
    assert code == EXIT_ERROR
    one_error_line(err, "its directory does not exist")
    assert not (tmp_path / "no").exists()

    code, _, _ = run(capsys, "resolve", url, "-r", resolver, "-o", str(tmp_path), "-q")
    assert code == EXIT_OK
    assert (tmp_path / f"{NAME}.torrent").read_bytes() == torrent
    code, _, err = run(capsys, "resolve", url, "-r", resolver, "-o", str(tmp_path))
    assert code == EXIT_ERROR
    one_error_line(err, "already exists")


@pytest.mark.parametrize("command", ["resolve", "get"])
def test_a_deeply_nested_torrent_is_not_called_mid_update(
    tmp_path: Path,
    named: StartNamed,
    zone_file: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    nested = b"d4:infod4:name1:x6:nested" + b"l" * 200 + b"e" * 200 + b"ee"
    url = dead_origin()
    server = publish_raw(named, zone_file, url, nested)
    args = [command, url, "-r", f"127.0.0.1:{server.port}", "-o", str(tmp_path / "out")]

    code, _, err = run(capsys, *args)

    assert code == EXIT_ERROR
    one_error_line(err, "not valid bencode", "nested too deeply")


def test_a_hostile_64_mib_torrent_answer_keeps_memory_bounded(
    tmp_path: Path, nginx: StartNginx
) -> None:
    """An origin that answers with an endless .torrent: the client stops at its
    limit, holding at most that much."""
    root = tmp_path / "www"
    (root / "pub").mkdir(parents=True)
    with (root / "pub" / f"{NAME}.torrent").open("wb") as huge:
        huge.truncate(64 << 20)
    origin = nginx(root, torrent_aware=True)

    tracemalloc.start()
    try:
        with pytest.raises(DownloadError, match="torrent exceeds"):
            fetch.get(origin.url(f"pub/{NAME}"), tmp_path / "out", options())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * fetch.MAX_HTTP_TORRENT < 64 << 20
    assert list((tmp_path / "out").iterdir()) == []
