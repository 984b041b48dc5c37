"""Each command imports only what it runs: start-up is paid per use, not by --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import torpub
from torpub.cli import fetching, publishing
from torpub.client import download, seedgoal
from torpub.publish import config

# What publishing and --help never need: the downloader, the HTTP side, a cloud
# SDK, dnspython's resolver (a stub resolver, asyncio and all), torf (torpub
# writes its torrents) and pydantic (typer's coercion, replaced by torpub.cli.coercion).
HEAVY = (
    "libtorrent",
    "httpx",
    "uvicorn",
    "boto3",
    "cloudflare",
    "dns.resolver",
    "torf",
    "pydantic",
)


# The CLI's entry point in a fresh process; what it loaded goes last on stderr.
_RUN = """
import sys
from torpub.cli import main
code = main(sys.argv[1:])
sys.stderr.write("\\nmodules: " + " ".join(sorted(sys.modules)))
sys.exit(code)
"""


def imported(*argv: str, cwd: Path | None = None) -> set[str]:
    """The modules a fresh ``torpub ARGV`` process holds when the command is done."""
    result = subprocess.run(
        [sys.executable, "-c", _RUN, *argv], capture_output=True, text=True, cwd=cwd, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(result.stderr.rsplit("modules: ", 1)[1].split())


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["sync", "--help"]])
def test_version_and_help_load_nothing_heavy(argv: list[str]) -> None:
    modules = imported(*argv)
    assert "typer" in modules  # the measurement sees imports at all
    assert sorted(modules & set(HEAVY)) == []
    assert not any(m.startswith("torpub.publish.") for m in modules)


def test_build_loads_no_downloader_server_or_resolver(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    modules = imported("build", "a.bin", "--base-url", "https://dl.example.com/pub/", cwd=tmp_path)
    assert "torpub.publish.hashing" in modules
    assert (tmp_path / "a.bin.torrent").exists()
    assert sorted(modules & {*HEAVY, "dns.query", "rich.progress"}) == []


def test_sync_to_bind_loads_no_cloud_sdk_downloader_or_server(
    tmp_path: Path, zone_file: Path
) -> None:
    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    argv = ["sync", "a.bin", "-u", "https://dl.example.com/pub/", "-p", "bind", "-z", "example.com"]
    modules = imported(*argv, "--zone-file", str(zone_file), "-q", cwd=tmp_path)
    assert "torpub_providers.bind" in modules
    assert "._torrent.dl.example.com. " in zone_file.read_text()
    assert sorted(modules & {"libtorrent", "httpx", "uvicorn", "boto3", "cloudflare"}) == []


def test_public_api_binds_resolve_on_first_use() -> None:
    from torpub.client.resolve import resolve, resolve_async

    assert torpub.resolve is resolve
    assert torpub.resolve_async is resolve_async
    with pytest.raises(AttributeError):
        _ = torpub.no_such_name  # type: ignore[attr-defined]


def test_defaults_spelled_out_for_start_up_match_their_homes() -> None:
    # The CLI writes these two defaults out so that --help imports neither module.
    assert publishing.init_command.__defaults__ is not None
    assert Path(config.CONFIG_NAME) in publishing.init_command.__defaults__
    assert download.SessionOptions.listen == fetching._LISTEN
    assert download.DEFAULT_STALL_TIMEOUT == fetching._STALL_TIMEOUT
    assert (fetching._SEED_RATIO, fetching._SEED_TIME, fetching._SEED_IDLE) == (
        seedgoal.DEFAULT_RATIO,
        seedgoal.DEFAULT_TIME,
        seedgoal.DEFAULT_IDLE,
    )
