"""Strings from the network and from file names reach the terminal escaped, once:
no ESC or CR byte forges a line, no Rich markup or emoji code is rendered."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from client_servers import HOST, ZONE, publish_zone

from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.format.names import names_for
from torpub.format.records import encode
from torpub.redaction import redact
from torpub.terminal import markup, shown

if TYPE_CHECKING:
    from conftest import StartNamed

URL = f"https://{HOST}/pub/hostile.bin"
# What a hostile publisher puts in a torrent: a forged summary line, a screen clear,
# a right-to-left override, Rich markup and an emoji code.
FORGED = "evil\x1b[2J\r      DNSSEC  yes\n\u202e [bold red]x[/] :fire: \x9b31m"


def bencode(value: object) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    assert isinstance(value, dict)
    items = sorted((k.encode(), v) for k, v in value.items())
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"


def hostile_torrent() -> bytes:
    piece = 16384
    return bencode(
        {
            "announce": f"http://tracker.example.net/{FORGED}",
            "announce-list": [[f"udp://t2.example.net/{FORGED}"]],
            "comment": FORGED,
            "url-list": [f"http://mirror.example.net/{FORGED}"],
            "info": {
                "name": FORGED,
                "length": piece,
                "piece length": piece,
                "pieces": hashlib.sha1(bytes(piece)).digest(),
            },
        }
    )


def test_shown_makes_every_control_and_format_character_visible() -> None:
    assert shown("a\x1b[2Jb\rc\x7f\x9b\u202e\u200b\u2028\\") == (
        "a\\x1b[2Jb\\x0dc\\x7f\\x9b\\u202e\\u200b\\u2028\\\\"
    )
    assert shown("ordinary näme 名前.iso") == "ordinary näme 名前.iso"
    assert markup("[bold]x :fire:") == "\\[bold]x :fire:"


def test_redact_cuts_credentials_out_of_echoed_requests() -> None:
    echoed = (
        "X-Amz-Security-Token: FwoGZXIvYXdzEJr//////////SECRET1\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2026, Signature=SECRET2\n"
        '<Error>{"api_token": "SECRET3"} ?X-Amz-Signature=SECRET4&x=1 Bearer SECRET5'
        " AKIAIOSFODNN7EXAMPLE</Error>"
    )
    clean = redact(echoed)
    for secret in ("SECRET1", "SECRET2", "SECRET3", "SECRET4", "SECRET5", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in clean
    assert clean.startswith("X-Amz-Security-Token: [redacted]\n")
    assert "&x=1" in clean
    for harmless in (
        "chunk 5 is missing (5.abc._torrent.example.com)",
        "EnvironSecretsException: missing env var TORPUB_SECRET",
    ):
        assert redact(harmless) == harmless


def test_resolve_summary_escapes_what_the_torrent_says(
    zone_file: Path, named: StartNamed, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_zone(zone_file, [encode(hostile_torrent(), names_for(URL))])
    server = named(ZONE, zone_file)

    code = main(["resolve", URL, "-r", f"127.0.0.1:{server.port}"])
    out, err = capsys.readouterr()

    assert code == EXIT_OK, err
    assert "\x1b" not in out and "\r" not in out and "\x9b" not in out and "\u202e" not in out
    assert "evil\\x1b[2J\\x0d      DNSSEC  yes\\x0a\\u202e [bold red]x[/] :fire: \\x9b31m" in out
    assert "🔥" not in out
    # One line per row: the forged "DNSSEC yes" did not become a line of its own.
    assert [line.split()[0] for line in out.splitlines()] == [
        "url",
        "name",
        "size",
        "pieces",
        "info-hash",
        "web",
        "trackers",
        "magnet",
        "DNSSEC",
        "records",
    ]
    assert "mirror.example.net/evil\\x1b" in out and "tracker.example.net/evil\\x1b" in out

    code = main(["resolve", URL, "-r", f"127.0.0.1:{server.port}", "--json"])
    out, _ = capsys.readouterr()
    assert code == EXIT_OK
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out and "\\u202e" in out


def test_an_artifact_named_with_markup_and_an_emoji_code_shows_literally(
    tmp_path: Path, zone_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = tmp_path / "release"
    release.mkdir()
    (release / ":fire:[bold]x").write_bytes(b"payload" * 1000)
    base = ["--base-url", f"https://{HOST}/pub/"]

    code = main(["build", str(release), *base])
    _, err = capsys.readouterr()
    assert code == EXIT_OK
    assert ":fire:[bold]x.torrent" in err and "🔥" not in err

    sync = ["sync", str(release), *base, "-p", "bind", "--zone-file", str(zone_file), "-z", ZONE]
    code = main([*sync, "--dry-run"])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    assert "/pub/%3Afire%3A%5Bbold%5Dx" in out and "🔥" not in out

    code = main([*sync, "--dry-run", "--config", str(tmp_path / "[bold]:fire:\x1b\rx")])
    _, err = capsys.readouterr()
    assert code == EXIT_ERROR
    assert err.endswith("/[bold]:fire:\\x1b x does not exist\n")  # CR: a space
    assert err.count("\n") == 1 and "\x1b" not in err and "\r" not in err
