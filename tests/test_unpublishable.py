"""Names and numbers DNS or clients cannot hold are refused where records and
artifacts are made: one line, exit 1, and nothing written, whichever command."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import dns.name
import pytest

from torpub.cli import EXIT_ERROR, main
from torpub.errors import ConfigError, InvalidURL
from torpub.format.filename import MAX_NAME, unsafe_reason
from torpub.format.names import MAX_NAME_OCTETS, names_for
from torpub.format.records import MAX_TTL, Encoding, encode
from torpub.publish.config import Settings, from_mapping

ZONE = "example.com."
ZONE_TEXT = textwrap.dedent(
    """\
    $ORIGIN example.com.
    $TTL 3600
    @ IN SOA ns1 hostmaster 2026010101 7200 3600 1209600 300
      IN NS ns1
    ns1 IN A 192.0.2.53
    """
)
# "<index>.<16 hex>.<40 hex>._torrent.<host>." is 71 octets more than the host.
LONGEST_HOST = MAX_NAME_OCTETS - 71


def host_of(length: int) -> str:
    """A host of ``length`` characters in ``example.com``, every label under 64."""
    labels, rest = [], length - len(".example.com")
    while rest > 0:
        label = min(60, rest - 1 if rest > 61 else rest)
        labels.append("h" * label)
        rest -= label + 1
    host = ".".join(labels) + ".example.com"
    assert len(host) == length
    return host


# --- the rules, where names and records are made ------------------------------------


def test_chunk_names_fill_dns_names_exactly_and_no_further() -> None:
    fits = names_for(f"https://{host_of(LONGEST_HOST)}/a.bin")
    name = fits.chunk_name("0" * 16, 0)
    assert len(dns.name.from_text(name).to_wire()) == MAX_NAME_OCTETS  # what DNS itself says
    with pytest.raises(
        InvalidURL, match=r"would be 256 octets long, over DNS's 255: the host is too long by 1"
    ):
        names_for(f"https://{host_of(LONGEST_HOST + 1)}/a.bin")


def test_a_chunk_index_that_overflows_the_name_is_refused_when_records_are_made() -> None:
    names = names_for(f"https://{host_of(LONGEST_HOST)}/a.bin")
    payload = b"d4:infod6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces20:" + b"p" * 20 + b"ee"
    assert len(encode(payload, names, Encoding(chunk_size=12)).chunks) == 10  # indexes 0-9
    with pytest.raises(InvalidURL, match="would be 256 octets long"):
        encode(payload, names, Encoding(chunk_size=8))  # index 10 needs one more octet


def test_a_label_over_63_octets_is_refused() -> None:
    with pytest.raises(InvalidURL, match="label"):
        names_for(f"https://{'h' * 64}.example.com/a.bin")


@pytest.mark.parametrize("key", ["head_ttl", "chunk_ttl"])
def test_ttls_dns_cannot_hold_are_refused(key: str) -> None:
    assert getattr(Settings(**{key: MAX_TTL}), key) == MAX_TTL
    for bad in (MAX_TTL + 1, 2**32 - 1, -1):
        with pytest.raises(ConfigError, match=rf"{key} {bad} must be from 0 to {MAX_TTL}"):
            Settings(**{key: bad})
        with pytest.raises(ConfigError, match=rf"{key} {bad} must be"):
            from_mapping({key: bad}, Path("."))
        with pytest.raises(ConfigError, match=rf"TTL {bad} is not between 0 and {MAX_TTL}"):
            Encoding(**{key: bad})


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        (".", "empty"),
        ("..", "empty"),
        (".profile", "starts with a dot"),
        ("a\\b.bin", "path separator"),
        ("a/b.bin", "path separator"),
        ("bad\x1b[31m.bin", "control"),
        ("line\nbreak.bin", "control"),
        ("bell\x07.bin", "control"),
        ("del\x7f.bin", "control"),
        ("c1\x9b.bin", "control"),
        ("rtl\u202egnp.exe", "format"),
        ("latin1-\udce9.bin", "not UTF-8"),
        ("x" * (MAX_NAME + 1), "longer than"),
    ],
)
def test_names_a_client_would_refuse(name: str, reason: str) -> None:
    found = unsafe_reason(name)
    assert found is not None and reason in found


@pytest.mark.parametrize("name", ["app-1.0.tar.gz", 'notes; "v1" é.txt', "x" * MAX_NAME, "a..b"])
def test_ordinary_names_pass(name: str) -> None:
    assert unsafe_reason(name) is None


# --- every command refuses before writing anything ---------------------------------


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)
    release = tmp_path / "release"
    release.mkdir()
    (release / "app-1.0.tar.gz").write_bytes(os.urandom(20_000))
    zone_file = tmp_path / "db.example.com"
    zone_file.write_text(ZONE_TEXT)
    return release, zone_file


COMMANDS = {
    "zone": ["zone"],
    "dry-run": [
        "sync",
        "--zone",
        ZONE,
        "--provider",
        "bind",
        "--zone-file",
        "db.example.com",
        "--dry-run",
    ],
    "sync": ["sync", "--zone", ZONE, "--provider", "bind", "--zone-file", "db.example.com"],
    "export": ["export", "--zone", ZONE, "--format", "octodns", "--to", "out.yaml"],
}
BAD = {
    "long host": (["--base-url", f"https://{host_of(LONGEST_HOST + 1)}/"], "octets long"),
    "head TTL": (["--head-ttl", str(2**31)], "head_ttl 2147483648 must be from 0"),
    "chunk TTL": (["--chunk-ttl", str(2**32 - 1)], "chunk_ttl 4294967295 must be from 0"),
    "escape": (
        ["--add", "evil\x1b]0;owned\x07.bin"],
        r"/release/evil\x1b]0;owned\x07.bin: cannot be published",
    ),
    "newline": (["--add", "two\nlines.bin"], "/release/two lines.bin: cannot be published"),
    "dot-file": (["--only", ".profile"], "release/.profile: cannot be published: it starts"),
    "backslash": (["--add", "a\\b.bin"], r"a\\b.bin: cannot be published: it holds a path"),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("bad", BAD)
def test_every_command_refuses_in_one_line_before_any_write(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], command: str, bad: str
) -> None:
    release, zone_file = setup
    flags, message = BAD[bad]
    path = release
    if flags[0] == "--add":
        (release / flags[1]).write_bytes(b"x" * 100)
        flags = []
    elif flags[0] == "--only":
        path = release / flags[1]
        path.write_bytes(b"x" * 100)
        flags = []
    args = [*COMMANDS[command], str(path), *flags]
    if "--base-url" not in args:
        args += ["--base-url", "https://dl.example.com/pub/"]
    before = {p: p.read_bytes() for p in Path(".").rglob("*") if p.is_file()}
    code = main(args)
    _, err = capsys.readouterr()
    assert code == EXIT_ERROR
    assert err.count("\n") == 1 and err.startswith("torpub: error: "), err
    assert message in err
    assert "\x1b" not in err and "\x07" not in err
    after = {p: p.read_bytes() for p in Path(".").rglob("*") if p.is_file()}
    assert after == before  # no .torrent, no cache, no zone change, no export
    assert zone_file.read_text() == ZONE_TEXT
