"""The bind provider with zone files as real setups have them: behind a symlink,
named relative to a subdirectory, read-only, not a file at all, or beside the
leftovers of a killed sync. Real files, named-checkzone, named and the CLI."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from backend_sync import MakeTorrent, all_records, published, sync

from torpub import atomic
from torpub.errors import ZoneError
from torpub.provider import Target
from torpub.publish import zonefile
from torpub.publish.plan import build_plan
from torpub_providers.bind import BindProvider

if TYPE_CHECKING:
    from conftest import StartNamed

ZONE = "example.com."
REPO = Path(__file__).resolve().parents[1]
BASE = "https://dl.example.com/pub/"
MAIN = "import sys; from torpub.cli import main; sys.exit(main(sys.argv[1:]))"
CLI_TIMEOUT = 60  # generous on a loaded machine; a hang on a FIFO would be forever


def bind(zone_file: Path, **options: str) -> BindProvider:
    target = Target("bind", ZONE, {"zone_file": str(zone_file), **options})
    return BindProvider(target, today=lambda: dt.date(2026, 1, 2))


def torpub(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a child process, so that a hang fails the test instead of it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "providers")])}
    return subprocess.run(
        [sys.executable, "-c", MAIN, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def sync_args(release: Path, zone_file: Path | str, *extra: str) -> list[str | Path]:
    return ["sync", release, "--base-url", BASE, "--provider", "bind", "--zone-file", zone_file,
            "--zone", ZONE, *extra]  # fmt: skip


@pytest.fixture
def release(tmp_path: Path) -> Path:
    root = tmp_path / "release"
    root.mkdir()
    (root / "app-1.0.tar.gz").write_bytes(os.urandom(50_000))
    return root


def test_a_symlinked_zone_file_is_replaced_at_its_target(
    tmp_path: Path, zone_file: Path, make_torrent: MakeTorrent, named: StartNamed
) -> None:
    real = tmp_path / "real" / "db.example.com"
    real.parent.mkdir()
    shutil.move(zone_file, real)
    zone_file.symlink_to(os.path.relpath(real, zone_file.parent))
    os.chmod(real, 0o604)  # unusual, and still readable by named
    server = named(ZONE, zone_file)  # named loads the zone through the link
    provider = bind(zone_file, reload_command=server.reload_command)
    desired = published(make_torrent)
    sync(provider, desired)
    assert zone_file.is_symlink() and zone_file.resolve() == real
    assert real.stat().st_mode & 0o7777 == 0o604
    assert zonefile.find_soa(real.read_text()).serial == 2026010200
    server.wait_for_serial(2026010200)
    for want in desired:
        response, _ = server.query(want.names.head_name)
        (rrset,) = response.answer
        assert b"".join(rrset[0].strings).decode() == want.head_record.value
    assert set(bind(zone_file).records()) == all_records(desired)
    assert not build_plan(ZONE, desired, bind(zone_file).records()).has_changes
    assert sorted(p.name for p in real.parent.iterdir()) == ["db.example.com"]


def test_a_relative_zone_file_in_a_subdirectory(
    tmp_path: Path, zone_file: Path, make_torrent: MakeTorrent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = zone_file.relative_to(tmp_path)
    assert relative.parent != Path(".")
    provider = bind(relative)
    desired = published(make_torrent)
    sync(provider, desired)
    assert set(provider.records()) == all_records(desired)
    assert set(bind(zone_file).records()) == all_records(desired)


def test_a_relative_zone_file_through_the_command(
    tmp_path: Path, zone_file: Path, release: Path
) -> None:
    done = torpub(*sync_args(release, zone_file.relative_to(tmp_path)), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "_torrent.dl.example.com." in zone_file.read_text()


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o000])
def test_a_write_protected_zone_file_is_refused_even_for_root(
    tmp_path: Path, zone_file: Path, release: Path, mode: int
) -> None:
    os.chmod(zone_file, mode)
    data = zone_file.read_bytes()
    done = torpub(*sync_args(release, zone_file), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"will not replace zone file {zone_file}: it is write-protected" in done.stderr
    assert zone_file.read_bytes() == data
    assert zone_file.stat().st_mode & 0o7777 == mode
    assert sorted(p.name for p in zone_file.parent.iterdir()) == [zone_file.name]


def test_a_write_protected_target_of_a_symlink_is_refused(
    tmp_path: Path, zone_file: Path, make_torrent: MakeTorrent
) -> None:
    link = tmp_path / "db.link"
    link.symlink_to(zone_file)
    os.chmod(zone_file, 0o444)
    data = zone_file.read_bytes()
    plan = build_plan(ZONE, published(make_torrent), [])
    with pytest.raises(ZoneError, match="write-protected"):
        bind(link).apply(plan)
    assert zone_file.read_bytes() == data and link.is_symlink()


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_zone_file_that_is_not_a_regular_file_is_refused_at_once(
    tmp_path: Path, release: Path, kind: str, dry_run: bool
) -> None:
    path = tmp_path / "db.example.com"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/null")  # a link, so nothing is made under /dev
    else:
        path.mkdir()
    done = torpub(*sync_args(release, path, *(["--dry-run"] if dry_run else [])), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    described = {"fifo": "a named pipe", "device": "a character device", "directory": "a directory"}
    assert f"it is {described[kind]}, not a regular file" in done.stderr


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from torpub import atomic
from torpub.errors import ZoneError
fd, tmp = atomic.temp_path_for(Path(sys.argv[1]))
os.write(fd, b"half a zone")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_leftovers_of_killed_syncs_are_removed_and_nothing_else(
    tmp_path: Path, zone_file: Path, make_torrent: MakeTorrent
) -> None:
    script = tmp_path / "killed.py"
    script.write_text(KILLED_WRITER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(2):
        killed = subprocess.run([sys.executable, str(script), str(zone_file)], env=env, check=False)
        assert killed.returncode == -signal.SIGKILL
    leftovers = [p for p in zone_file.parent.iterdir() if p.name.endswith(atomic.TEMP_SUFFIX)]
    assert len(leftovers) == 2
    # Not torpub's leftovers of this file: a live writer's, other names, a link.
    live_fd, live = atomic.temp_path_for(zone_file)
    strangers = [
        zone_file.parent / f".{zone_file.name}.toolong12.torpub-tmp",
        zone_file.parent / f".other.abcdefgh{atomic.TEMP_SUFFIX}",
        zone_file.parent / "notes.txt",
    ]
    for stranger in strangers:
        stranger.write_text("someone else's")
    link = zone_file.parent / f".{zone_file.name}.linklink{atomic.TEMP_SUFFIX}"
    link.symlink_to(strangers[2])
    try:
        sync(bind(zone_file), published(make_torrent))
        kept = {p.name for p in zone_file.parent.iterdir()}
        assert kept == {zone_file.name, live.name, link.name, *(s.name for s in strangers)}
    finally:
        os.close(live_fd)
        live.unlink()


def test_the_temp_name_of_a_long_file_name_fits(tmp_path: Path) -> None:
    long_file = tmp_path / ("d" * 250)
    long_file.write_text("old")
    atomic.write_atomic(long_file, b"new")
    assert long_file.read_bytes() == b"new"
    fd, tmp = atomic.temp_path_for(long_file)
    os.close(fd)
    assert atomic.remove_leftovers(long_file) == [tmp]
