"""Inputs that used to end in a traceback: each is one line on stderr, a non-zero
exit, and nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ZONE_TEXT

from torpub.cli import EXIT_ERROR, EXIT_USAGE, main
from torpub.errors import ConfigError
from torpub.provider import Target
from torpub_providers.rfc2136 import tsig
from torpub_providers.rfc2136.options import Rfc2136Options
from torpub_providers.route53.provider import Route53Options

BASE = "https://dl.example.com/pub/"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.count("\n") == 1, err
    return code, err


@pytest.fixture
def release(tmp_path: Path) -> Path:
    root = tmp_path / "release"
    root.mkdir()
    (root / "a.bin").write_bytes(b"a" * 40_000)
    return root


@pytest.mark.parametrize("epoch", ["253402300800", "999999999999", str(10**30)])
def test_a_creation_date_past_year_9999_is_refused(
    release: Path, epoch: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, "build", release, "-u", BASE, "--creation-date", epoch)
    assert code == EXIT_ERROR and "after the year 9999" in err
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    code, err = run(capsys, "build", release, "-u", BASE)
    assert code == EXIT_ERROR and "after the year 9999" in err
    assert list(release.glob("*.torrent")) == []
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "253402300799")  # the last second that fits
    assert main(["build", str(release), "-u", BASE, "-q"]) == 0


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_serve_refuses_a_port_out_of_range(
    release: Path, port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["serve", str(release), "--port", port])
    _, err = capsys.readouterr()
    assert code == EXIT_USAGE
    assert "--port" in err and "Traceback" not in err


@pytest.mark.parametrize("base_url", ["http://[x", "http://[::1/pub/", "pub/"])
def test_serve_refuses_a_base_url_it_cannot_mount(
    release: Path, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, "serve", release, "--port", "1", "--base-url", base_url)
    assert code == EXIT_ERROR and f"base URL {base_url!r}" in err


def test_a_backend_whose_sdk_is_not_installed_is_one_line(
    release: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # as without torpub[route53]
    code, err = run(
        capsys, "sync", release, "-u", BASE, "--provider", "route53", "--zone", "dl.example.com"
    )
    assert code == EXIT_ERROR and "'boto3' is not installed" in err
    assert list(release.glob("*.torrent")) == []


def test_a_name_near_name_max_is_refused_before_any_write(
    release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limit = os.pathconf(release, "PC_NAME_MAX")
    long_name = "b" * (limit - len(".torrent"))  # its .torrent would just fit
    (release / long_name).write_bytes(b"b" * 1000)
    code, err = run(capsys, "build", release, "-u", BASE)
    assert code == EXIT_ERROR
    assert "cannot be published: it is longer than 200 bytes" in err
    assert sorted(p.name for p in release.iterdir()) == ["a.bin", long_name]


def test_an_unwritable_zone_directory_is_one_line(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zones = tmp_path / "zones"
    zones.mkdir()
    zone_file = zones / "db.example.com"
    zone_file.write_text(ZONE_TEXT)
    zones.chmod(0o555)
    # root writes anywhere: run torpub without the capability that lets it.
    drop = ["setpriv", "--bounding-set", "-dac_override"] if os.geteuid() == 0 else []
    args = ["sync", release, "-u", BASE, "--out", tmp_path / "torrents"]
    args += ["-p", "bind", "--zone-file", zone_file, "-z", "example.com"]
    try:
        done = subprocess.run(
            [*drop, sys.executable, "-m", "torpub", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        zones.chmod(0o755)
    assert done.returncode == EXIT_ERROR
    assert (
        done.stderr == f"torpub: error: cannot write a file beside {zone_file}: Permission denied\n"
    )
    assert zone_file.read_text() == ZONE_TEXT
    assert sorted(p.name for p in zones.iterdir()) == ["db.example.com"]


@pytest.mark.parametrize("name", ["a..example", "x" * 64 + ".example", ".", "a." + "b." * 130])
def test_tsig_key_names_dns_cannot_hold_are_config_errors(name: str) -> None:
    text = f'key "{name}" {{ algorithm hmac-sha256; secret "c2VjcmV0"; }};'
    with pytest.raises(ConfigError, match="TSIG key"):
        tsig.from_text(text)


def test_a_bad_tsig_key_name_from_the_cli_is_one_line(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "bad.key"
    key_file.write_text('key "a..example" { algorithm hmac-sha256; secret "c2VjcmV0"; };')
    code, err = run(
        capsys, "sync", release, "-u", BASE, "-p", "rfc2136", "-z", "example.com",
        "--server", "127.0.0.1:53", "--tsig-key-file", key_file, "--dry-run",
    )  # fmt: skip
    assert code == EXIT_ERROR and "is not a DNS name" in err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "NaN"])
def test_nan_and_inf_option_values_are_refused(
    value: str, release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match="route53 option wait_timeout must be a number"):
        Route53Options.from_target(Target("route53", "example.com", {"wait_timeout": value}))
    with pytest.raises(ConfigError, match="rfc2136 option timeout must be a number"):
        Rfc2136Options.from_target(
            Target("rfc2136", "example.com", {"server": "127.0.0.1", "timeout": value})
        )
    code, err = run(
        capsys, "sync", release, "-u", BASE, "-p", "rfc2136", "-z", "example.com",
        "--server", "127.0.0.1:53", "-O", f"timeout={value}", "--dry-run",
    )  # fmt: skip
    assert code == EXIT_ERROR and f"rfc2136 option timeout must be a number, not {value!r}" in err
    code = main(["sync", str(release), "-u", BASE, "--wait-timeout", value, "--dry-run"])
    _, err = capsys.readouterr()
    assert code == EXIT_USAGE and "--wait-timeout" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["get", "http://127.0.0.1:1/x.bin", "--timeout"],
        ["get", "http://127.0.0.1:1/x.bin", "--stall-timeout"],
        ["check", "--url", "http://127.0.0.1:1/x.bin", "--timeout"],
    ],
)
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_seconds_flags_refuse_nan_and_inf(
    args: list[str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*args, value])
    _, err = capsys.readouterr()
    assert code == EXIT_USAGE and f"Invalid value for '{args[-1]}'" in err
    assert "Traceback" not in err


def test_an_os_error_no_caller_named_is_still_one_line(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # export writes its file with no wrapper of its own: main() says it in one line.
    target = tmp_path / "missing" / "example.com.yaml"
    code, err = run(capsys, "export", release, "-u", BASE, "--to", target)
    assert code == EXIT_ERROR
    assert err.startswith("torpub: error: [Errno 2] No such file or directory: ")


@pytest.mark.parametrize(
    "args",
    [["resolve", "http://[x/a.bin"], ["get", "http://[x/a.bin"], ["check", "--url", "http://[x/a"]],
)
def test_a_url_that_does_not_parse_is_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(args)
    _, err = capsys.readouterr()
    assert code == EXIT_ERROR and "is not a URL" in err and len(err.splitlines()) == 1, err
