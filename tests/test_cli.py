"""The torpub command end to end: real files, real named-checkzone, real exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from torpub.cli import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, EXIT_USAGE, main

BASE = "https://downloads.example.com/pub/"
ZONE = """\
$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1 hostmaster 2026010101 7200 3600 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.53
downloads IN A 192.0.2.80
"""


@pytest.fixture
def release(tmp_path: Path) -> Path:
    root = tmp_path / "release"
    (root / "docs").mkdir(parents=True)
    (root / "app-1.0.tar.gz").write_bytes(os.urandom(300_000))
    (root / "docs" / 'notes; "v1" é.txt').write_bytes(b"release notes\n" * 100)
    (root / ".hidden").write_bytes(b"not published")
    return root


@pytest.fixture
def zone_file(tmp_path: Path) -> Path:
    path = tmp_path / "db.example.com"
    path.write_text(ZONE)
    return path


def run(*args: str | Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def sync_args(release: Path, zone_file: Path, *extra: str) -> list[str | Path]:
    return [
        "sync",
        release,
        "--base-url",
        BASE,
        "--provider",
        "bind",
        "--zone-file",
        zone_file,
        *extra,
    ]


def torrents(root: Path) -> list[Path]:
    return sorted(root.rglob("*.torrent"))


def test_build_writes_torrents_and_skips_unchanged(
    release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run("build", release, "--base-url", BASE, "-v", capsys=capsys)
    assert code == EXIT_OK, err
    assert [p.name for p in torrents(release)] == [
        "app-1.0.tar.gz.torrent",
        'notes; "v1" é.txt.torrent',
    ]
    assert "2 hashed, 0 unchanged" in err
    code, _, err = run("build", release, "--base-url", BASE, "-v", capsys=capsys)
    assert "0 hashed, 2 unchanged" in err


def test_zone_output_passes_named_checkzone(
    release: Path, zone_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run("zone", release, "--base-url", BASE, "-q", capsys=capsys)
    assert code == EXIT_OK and err == ""
    lines = out.splitlines()
    assert all(line.split()[0].endswith("._torrent.downloads.example.com.") for line in lines)
    assert sum(1 for line in lines if '"v=torrent1;' in line) == 2
    (tmp_path / "torrents.zone").write_text(out)
    zone_file.write_text(ZONE + f"$INCLUDE {tmp_path / 'torrents.zone'}\n")
    checked = subprocess.run(
        ["named-checkzone", "example.com", str(zone_file)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout


def test_dry_run_writes_nothing_then_sync_then_no_change(
    release: Path, zone_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = zone_file.read_bytes()
    code, out, _ = run(
        *sync_args(release, zone_file, "--dry-run", "--detailed-exitcode"), capsys=capsys
    )
    assert code == EXIT_CHANGES
    assert "create chunks" in out and "to create" in out
    assert zone_file.read_bytes() == before
    assert torrents(release) == [] and not list(release.rglob(".torpub-cache.json"))

    code, out, err = run(*sync_args(release, zone_file), capsys=capsys)
    assert code == EXIT_OK, err
    assert "applied" in err
    text = zone_file.read_text()
    serial = re.search(r"SOA ns1 hostmaster (\d+) ", text)
    assert serial and int(serial.group(1)) > 2026010101
    assert text.replace(serial.group(1), "2026010101", 1).startswith(ZONE)
    assert len(torrents(release)) == 2

    code, out, _ = run(
        *sync_args(release, zone_file, "--dry-run", "--detailed-exitcode"), capsys=capsys
    )
    assert code == EXIT_OK
    assert out.startswith("No changes")


def test_json_and_markdown_plans(
    release: Path, zone_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        *sync_args(release, zone_file, "--dry-run", "--format", "json"), capsys=capsys
    )
    plan = json.loads(out)
    assert code == EXIT_OK and plan["zone"] == "example.com." and plan["has_changes"]
    assert plan["summary"]["largest_answer"] <= 1232
    code, out, _ = run(*sync_args(release, zone_file, "-n", "-f", "markdown"), capsys=capsys)
    assert out.startswith("### torpub plan for `example.com.`")


def test_config_file_drives_sync(
    release: Path,
    zone_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "torpub.toml").write_text(
        f'base_url = "{BASE}"\npaths = ["release/"]\nowner = "ci"\n'
        '[[targets]]\nprovider = "bind"\nzone_file = "db.example.com"\n'
    )
    monkeypatch.chdir(tmp_path)
    code, _, err = run("sync", capsys=capsys)
    assert code == EXIT_OK, err
    assert "o=ci" in zone_file.read_text()
    code, _, err = run("sync", "--dry-run", "--owner", "other", capsys=capsys)
    assert code == EXIT_ERROR
    assert "published by owner 'ci'" in one_line_error(err)


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("torpub: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "does not exist"),
        ("empty", "empty"),
        ("outside", "is not inside zone example.com"),
        ("bad-zone", "example.com"),
        ("budget", "chunk"),
        ("no-base-url", "base URL"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_nothing_written(
    case: str,
    message: str,
    release: Path,
    zone_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = sync_args(release, zone_file)
    if case == "missing":
        args[1] = tmp_path / "nope.iso"
    elif case == "empty":
        (release / "empty.bin").write_bytes(b"")
    elif case == "outside":
        args[3] = "https://downloads.example.org/pub/"
    elif case == "bad-zone":
        zone_file.write_text(ZONE + "broken IN A not-an-address\n")
    elif case == "budget":
        args += ["--chunk-size", "100", "--chunk-budget", "1", "--piece-size", "16KiB"]
    elif case == "no-base-url":
        del args[2:4]
    zone_before = zone_file.read_bytes()
    code, _, err = run(*args, capsys=capsys)
    assert code == EXIT_ERROR
    assert message in one_line_error(err)
    assert zone_file.read_bytes() == zone_before
    assert torrents(release) == []


def test_unwritable_output_is_refused_before_hashing(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    code, _, err = run(
        "build", release, "--base-url", BASE, "--out", blocker / "sub", capsys=capsys
    )
    assert code == EXIT_ERROR
    one_line_error(err)
    assert torrents(tmp_path) == []


def test_bad_config_and_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "torpub.toml").write_text("chunk_size = 901\n")
    code, _, err = run("build", "x", capsys=capsys)
    assert code == EXIT_ERROR and "multiple of 4" in one_line_error(err)
    code, _, err = run("build", "--no-such-flag", capsys=capsys)
    assert code == EXIT_USAGE and "No such option" in err


def test_init_writes_a_scaffold_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("init", capsys=capsys)[0] == EXIT_OK
    assert "[[targets]]" in (tmp_path / "torpub.toml").read_text()
    code, _, err = run("init", capsys=capsys)
    assert code == EXIT_ERROR and "--force" in one_line_error(err)


def test_providers_lists_bind(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("providers", capsys=capsys)
    assert code == EXIT_OK
    assert out.split()[0] == "bind" and "torpub" in out


@pytest.mark.parametrize("command", ["build", "zone", "sync", "init", "providers"])
def test_every_command_has_help_verbose_and_quiet(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(command, "--help", capsys=capsys)
    assert code == EXIT_OK
    assert "--verbose" in out and "--quiet" in out and "-v" in out and "-q" in out


def test_console_script_runs_as_a_process(tmp_path: Path) -> None:
    exe = shutil.which("torpub", path=str(Path(sys.executable).parent))
    assert exe, "the torpub console script is not installed in this environment"
    done = subprocess.run(
        [
            exe,
            "sync",
            tmp_path / "none",
            "--base-url",
            BASE,
            "-p",
            "bind",
            "--zone-file",
            tmp_path / "z",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == EXIT_ERROR
    assert done.stderr.startswith("torpub: error: ") and done.stderr.count("\n") == 1
    version = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("torpub ")
