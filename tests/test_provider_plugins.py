"""The provider seam from the outside: backends found through entry points
(a third-party one too, examples/torpub-hello-provider), listed with versions,
and ``torpub sync --wait`` checking what authoritative servers answer."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.provider import Provider, Target, installed, open_target

if TYPE_CHECKING:
    from conftest import StartNamed

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "torpub-hello-provider"
BUILT_IN = {"bind", "route53", "cloudflare"}


def two_artifacts(tmp_path: Path) -> Path:
    """``tmp_path/release``: two small artifacts (80,000 bytes) to sync."""
    root = tmp_path / "release"
    root.mkdir()
    for i in range(2):
        (root / f"tool-{i}.tar.gz").write_bytes(bytes([i + 1]) * 40_000)
    return root


def _sync(tmp_path: Path, *target: str) -> list[str]:
    return [
        "sync", str(two_artifacts(tmp_path)), "--base-url", "https://dl.example.com/pub/",
        "--out", str(tmp_path / "torrents"), *target,
    ]  # fmt: skip


def test_torpub_providers_lists_every_backend_with_its_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["providers", "-v"]) == EXIT_OK
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert set(lines) >= BUILT_IN
    assert f"torpub {version('torpub')}" in lines["route53"]
    assert "torpub_providers.cloudflare.provider:CloudflareProvider" in lines["cloudflare"]


def test_the_example_third_party_backend_is_installed() -> None:
    try:
        found = version("torpub-hello-provider")
    except PackageNotFoundError:
        pytest.fail(
            "examples/torpub-hello-provider is not installed: "
            f"pip install --no-build-isolation {EXAMPLE} (make installs it)"
        )
    (hello,) = [p for p in installed() if p.name == "hello"]
    assert (hello.distribution, hello.version) == ("torpub-hello-provider", found)


def test_torpub_sync_through_the_third_party_backend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "zone.json"
    args = _sync(tmp_path, "--provider", "hello", "--zone", "example.com", "-O", f"path={path}")
    assert main(args) == EXIT_OK
    records = json.loads(path.read_text())["records"]
    assert {r["name"].split(".")[1] for r in records} >= {"_torrent"}
    assert len(records) >= 4
    backend = open_target(Target("hello", "example.com", {"path": str(path)}))
    assert isinstance(backend, Provider)
    capsys.readouterr()
    assert main([*args, "--wait"]) == EXIT_OK
    assert "No changes" in capsys.readouterr().out


def test_the_third_party_backend_gets_real_flags_from_its_declaration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--provider", "hello", "--help"]) == EXIT_OK
    assert "--indent" in capsys.readouterr().out
    path = tmp_path / "zone.json"
    hello = ["--provider", "hello", "--zone", "example.com", "--path", str(path)]
    args = _sync(tmp_path, *hello)
    assert main([*args, "--indent", "4"]) == EXIT_OK
    assert '\n    "records": [' in path.read_text()
    capsys.readouterr()
    assert main([*args, "--indent", "-1"]) == EXIT_ERROR
    assert "hello option indent must be at least 0" in capsys.readouterr().err


def test_wait_with_bind_checks_the_server_it_is_given(
    tmp_path: Path,
    zone_file: Path,
    named: StartNamed,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = named("example.com.", zone_file)
    check = f"127.0.0.1:{server.port}"
    bind = ["--provider", "bind", "--zone", "example.com", "--zone-file", str(zone_file)]
    reload = ["--reload-command", server.reload_command]
    args = _sync(tmp_path, *bind, *reload, "--wait", "--check-server", check, "-v")
    assert main(args) == EXIT_OK
    assert f"{check} answers every change" in capsys.readouterr().err


def test_wait_fails_when_the_server_never_answers_the_change(
    tmp_path: Path,
    zone_file: Path,
    named: StartNamed,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = named("example.com.", zone_file)
    bind = [
        "--provider",
        "bind",
        "--zone",
        "example.com",
        "--zone-file",
        str(zone_file),
    ]  # no reload: named never sees it
    args = _sync(
        tmp_path, *bind, "--wait", "--check-server", f"127.0.0.1:{server.port}",
        "--wait-timeout", "1",
    )  # fmt: skip
    assert main(args) == EXIT_ERROR
    assert "does not answer for example.com. what was written" in capsys.readouterr().err


def test_wait_with_bind_and_no_server_says_what_it_did_not_check(
    tmp_path: Path, zone_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _sync(
        tmp_path,
        "--provider",
        "bind",
        "--zone",
        "example.com",
        "--zone-file",
        str(zone_file),
        "--wait",
    )
    assert main(args) == EXIT_OK
    assert "pass --check-server" in capsys.readouterr().err
