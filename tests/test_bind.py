"""The bind provider against real zone files, named-checkzone, named and rndc."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from backend_sync import MakeTorrent, all_records, published, sync

from torpub.errors import ConfigError, ProviderError, ZoneError
from torpub.format.records import Head, Record, decode
from torpub.provider import Target, load
from torpub.publish import zonefile
from torpub.publish.plan import Action, Change, Phase, PhaseName, Plan, build_plan
from torpub_providers.bind import BindProvider

if TYPE_CHECKING:
    from conftest import StartNamed

TODAY = dt.date(2026, 1, 2)
ZONE = "example.com."
REPO = Path(__file__).resolve().parents[1]


def bind(zone_file: Path, zone: str | None = ZONE, **options: str) -> BindProvider:
    target = Target("bind", zone, {"zone_file": str(zone_file), **options})
    return BindProvider(target, today=lambda: TODAY)


def leftovers(zone_file: Path) -> list[Path]:
    return [p for p in zone_file.parent.iterdir() if p != zone_file]


def test_sync_publishes_exactly_the_desired_records(
    zone_file: Path, make_torrent: MakeTorrent
) -> None:
    provider = bind(zone_file)
    desired = published(make_torrent)
    plan = sync(provider, desired)
    assert plan.count(Action.CREATE) == len(all_records(desired))
    assert set(provider.records()) == all_records(desired)
    assert len(provider.records()) == len(all_records(desired))
    assert zonefile.find_soa(zone_file.read_text()).serial == 2026010200
    assert not build_plan(provider.zone, desired, provider.records()).has_changes
    assert leftovers(zone_file) == []


def test_a_new_torrent_for_a_url_keeps_the_previous_chunks(
    zone_file: Path, make_torrent: MakeTorrent
) -> None:
    provider = bind(zone_file)
    first = published(make_torrent, seed=0, count=1)
    sync(provider, first)
    second = published(make_torrent, seed=1, count=1)
    plan = sync(provider, second)
    assert [p.name for p in plan.phases if p.changes] == [PhaseName.CHUNKS, PhaseName.HEADS]
    records = provider.records()
    (head_record,) = [r for r in records if r.name == second[0].names.head_name]
    head = Head.from_text(head_record.value)
    assert head.previous == first[0].head.chunk_id
    pieces = {int(r.name.split(".")[0]): r.value for r in records if f".{head.chunk_id}." in r.name}
    assert decode(head, pieces) == make_torrent(40_000, seed=100)
    assert set(first[0].chunks) <= set(records)
    assert zonefile.find_soa(zone_file.read_text()).serial == 2026010201


def test_every_byte_outside_the_block_but_the_serial_is_kept(
    zone_file: Path, make_torrent: MakeTorrent
) -> None:
    # A block in the middle, a Latin-1 byte in a comment and no final line break.
    tail = b'after IN TXT "tail" ; caf\xe9'
    empty = zonefile.render_block([]).encode()
    zone_file.write_bytes(zone_file.read_bytes() + empty + tail)
    provider = bind(zone_file)
    for seed in (0, 1):
        old = zone_file.read_bytes()
        sync(provider, published(make_torrent, seed=seed))
        new = zone_file.read_bytes()
        assert _outside_serial_and_block(new) == _outside_serial_and_block(old)
        assert new.endswith(tail)
    assert zonefile.find_soa(new.decode("utf-8", "surrogateescape")).serial == 2026010201


def _outside_serial_and_block(data: bytes) -> tuple[str, str, str]:
    text = data.decode("utf-8", "surrogateescape")
    soa, block = zonefile.find_soa(text), zonefile.find_block(text)
    assert block is not None and soa.end < block.start
    return text[: soa.start], text[soa.end : block.start], text[block.end :]


def test_an_empty_plan_does_not_touch_the_file(zone_file: Path, make_torrent: MakeTorrent) -> None:
    provider = bind(zone_file)
    desired = published(make_torrent)
    sync(provider, desired)
    before = zone_file.stat()
    data = zone_file.read_bytes()
    time.sleep(0.01)
    plan = sync(provider, desired)
    assert not plan.has_changes
    after = zone_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert zone_file.read_bytes() == data


def test_mode_and_owner_are_kept(zone_file: Path, make_torrent: MakeTorrent) -> None:
    os.chmod(zone_file, 0o640)
    os.chown(zone_file, 1234, 4321)
    inode = zone_file.stat().st_ino
    sync(bind(zone_file), published(make_torrent))
    st = zone_file.stat()
    assert st.st_ino != inode  # replaced, not rewritten in place
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 1234, 4321)


def test_a_zone_file_that_does_not_load_is_a_zone_error_and_left_alone(
    zone_file: Path, make_torrent: MakeTorrent
) -> None:
    zone_file.write_text(zone_file.read_text() + "broken IN A not-an-address\n")
    data = zone_file.read_bytes()
    provider = bind(zone_file)
    with pytest.raises(ZoneError, match=rf"{zone_file.name}:\d+: .*not-an-address"):
        provider.records()
    plan = build_plan(ZONE, published(make_torrent), [])
    with pytest.raises(ZoneError, match=r"does not load as zone example\.com\."):
        provider.apply(plan)
    assert zone_file.read_bytes() == data
    assert leftovers(zone_file) == []


def test_broken_markers_are_a_zone_error_naming_the_file(
    zone_file: Path, make_torrent: MakeTorrent
) -> None:
    zone_file.write_text(zone_file.read_text() + zonefile.BEGIN + "\n")
    data = zone_file.read_bytes()
    provider = bind(zone_file)
    with pytest.raises(ZoneError, match=rf"^{re.escape(str(zone_file))}: .*1 BEGIN and 0 END"):
        provider.records()
    with pytest.raises(ZoneError, match=rf"^{re.escape(str(zone_file))}: "):
        provider.apply(build_plan(ZONE, published(make_torrent), []))
    assert zone_file.read_bytes() == data


def test_a_change_named_would_refuse_is_never_written(zone_file: Path) -> None:
    data = zone_file.read_bytes()
    # Over BIND's 65535 octets of rdata: named-checkzone must stop it before the swap.
    huge = Record("big._torrent.dl.example.com.", 60, "x" * 70_000)
    plan = Plan(ZONE, (Phase(PhaseName.CHUNKS, (Change(Action.CREATE, huge),)),), 0, 0)
    with pytest.raises(ZoneError, match="would not load after the change"):
        bind(zone_file).apply(plan)
    assert zone_file.read_bytes() == data
    assert leftovers(zone_file) == []


def test_a_value_of_the_declared_maximum_length_loads(zone_file: Path) -> None:
    provider = bind(zone_file)
    limit = provider.capabilities.max_value_length
    assert limit is not None
    value = "y" * limit
    record = Record("big._torrent.dl.example.com.", 60, value)
    plan = Plan(ZONE, (Phase(PhaseName.CHUNKS, (Change(Action.CREATE, record),)),), 0, 0)
    provider.apply(plan)
    assert provider.records() == (record,)


def test_a_missing_zone_file_is_a_zone_error(tmp_path: Path) -> None:
    provider = bind(tmp_path / "nowhere.db")
    for call in (lambda: provider.zone, provider.records):
        with pytest.raises(ZoneError, match="does not exist"):
            call()
    plan = Plan(
        ZONE,
        (Phase(PhaseName.HEADS, (Change(Action.CREATE, Record("a.example.com.", 1, "x")),)),),
        0,
        0,
    )
    with pytest.raises(ZoneError, match="does not create zones"):
        provider.apply(plan)
    assert not (tmp_path / "nowhere.db").exists()


def test_a_name_with_records_outside_the_block_is_refused(
    zone_file: Path, make_torrent: MakeTorrent
) -> None:
    desired = published(make_torrent)
    head = desired[1].names.head_name
    zone_file.write_text(zone_file.read_text() + f'{head} 60 IN TXT "hand-made"\n')
    data = zone_file.read_bytes()
    provider = bind(zone_file)
    plan = build_plan(ZONE, desired, provider.records())
    with pytest.raises(ProviderError, match=rf"{head} already hold records outside"):
        provider.apply(plan)
    assert zone_file.read_bytes() == data
    assert leftovers(zone_file) == []


def test_a_stale_plan_is_refused(zone_file: Path, make_torrent: MakeTorrent) -> None:
    provider = bind(zone_file)
    stale = build_plan(ZONE, published(make_torrent, seed=0), provider.records())
    sync(provider, published(make_torrent, seed=1))
    data = zone_file.read_bytes()
    with pytest.raises(ProviderError, match="plan again"):
        provider.apply(stale)
    assert zone_file.read_bytes() == data


def test_records_outside_the_zone_are_refused(zone_file: Path) -> None:
    record = Record("x._torrent.example.net.", 60, "v")
    plan = Plan(ZONE, (Phase(PhaseName.HEADS, (Change(Action.CREATE, record),)),), 0, 0)
    with pytest.raises(ZoneError, match=r"not in zone example\.com\."):
        bind(zone_file).apply(plan)
    with pytest.raises(ZoneError, match=r"plan is for zone example\.org\."):
        bind(zone_file).apply(Plan("example.org.", plan.phases, 0, 0))


def test_the_zone_name_comes_from_the_file_or_must_match_it(zone_file: Path) -> None:
    with pytest.raises(ZoneError, match="pass --zone"):
        _ = bind(zone_file, zone=None).zone
    assert bind(zone_file, zone="EXAMPLE.com").zone == ZONE
    zone_file.write_text("$ORIGIN example.com.\n" + zone_file.read_text())
    assert bind(zone_file, zone=None).zone == ZONE
    with pytest.raises(ZoneError, match=r"holds zone example\.com\., not example\.org\."):
        _ = bind(zone_file, zone="example.org").zone


def test_bad_options_are_config_errors(zone_file: Path) -> None:
    with pytest.raises(ConfigError, match="zone file"):
        BindProvider(Target("bind", ZONE, {}))
    with pytest.raises(ConfigError, match="does not split"):
        bind(zone_file, reload_command="rndc 'reload")
    with pytest.raises(ConfigError, match="must be text"):
        BindProvider(Target("bind", ZONE, {"zone_file": str(zone_file), "checkzone": 1}))
    with pytest.raises(ConfigError, match="no option 'zonefile'"):
        BindProvider(Target("bind", ZONE, {"zone_file": str(zone_file), "zonefile": "x"}))


def test_the_entry_point_loads_this_provider() -> None:
    assert load("bind") is BindProvider


def test_reload_makes_named_serve_the_new_records(
    zone_file: Path, make_torrent: MakeTorrent, named: StartNamed
) -> None:
    server = named(ZONE, zone_file)
    assert server.serial() == 2024010101
    provider = bind(zone_file, reload_command=server.reload_command)
    desired = published(make_torrent)
    sync(provider, desired)
    server.wait_for_serial(2026010200)
    for want in desired:
        response, _ = server.query(want.names.head_name)
        (rrset,) = response.answer
        assert b"".join(rrset[0].strings).decode() == want.head_record.value


def test_a_failing_reload_is_a_provider_error_after_the_write(
    zone_file: Path, make_torrent: MakeTorrent
) -> None:
    desired = published(make_torrent)
    failing = bind(zone_file, reload_command="sh -c 'echo rndc: connection refused >&2; exit 3'")
    with pytest.raises(
        ProviderError,
        match=r"wrote .* but the reload command failed \(exit 3\): rndc: connection refused",
    ):
        sync(failing, desired)
    assert set(failing.records()) == all_records(desired)
    missing = bind(zone_file, reload_command="/nonexistent/rndc reload")
    with pytest.raises(ProviderError, match="cannot run /nonexistent/rndc"):
        sync(missing, published(make_torrent, seed=1))


# --- a sync killed at any moment leaves the old file or the new one -----------------

KILLED_SYNC = """
import datetime as dt, os, random, signal, sys, time
from torpub.format.names import names_for
from torpub.publish.plan import build_plan
from torpub.provider import Target
from torpub.format.records import encode
from torpub_providers.bind import BindProvider

zone_file, seed, count, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def torrent(seed, i):
    pieces = random.Random(seed * 100_000 + i).randbytes(20 * 100)
    info = b"6:lengthi%de4:name%d:f%d.bin12:piece lengthi16384e6:pieces%d:" % (
        100 * 16384, len(str(i)) + 5, i, len(pieces))
    return b"d4:infod" + info + pieces + b"ee"

def desired(seed):
    return [encode(torrent(seed, i), names_for(f"https://dl.example.com/f{i}.bin")) for i in range(count)]

target = Target("bind", "example.com.", {"zone_file": zone_file})
provider = BindProvider(target, today=lambda: dt.date(2026, 1, 2))
# What the seed run wrote, known without reading it back, so that each run starts quickly.
held = [r for d in desired(0) for r in d.records] if seed else []
plan = build_plan("example.com.", desired(seed), held)

real_replace = os.replace
def replace(src, dst):
    # "time": report when the rename that publishes the file starts;
    # "before"/"after": die right before or right after it.
    if mode == "time":
        print("rename", time.monotonic() - started, flush=True)
    if mode == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
    if mode == "after":
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace

print("go", flush=True)
started = time.monotonic()
provider.apply(plan)
print("done", flush=True)
"""
KILL_COUNT = 150  # torrents: 600 records, about 1 MB, so a write takes a measurable while


def _sync_command(script: Path, zone_file: Path, seed: int, mode: str) -> list[str]:
    return [sys.executable, str(script), str(zone_file), str(seed), str(KILL_COUNT), mode]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "providers")])}


def _start_sync(script: Path, zone_file: Path, mode: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        _sync_command(script, zone_file, 1, mode),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert process.stdout is not None
    if process.stdout.readline() != "go\n":
        pytest.fail(f"the sync script did not start: {process.communicate()[1]}")
    return process


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = process.communicate()  # and close its pipes
    return process.returncode, out


def _restore(zone_file: Path, data: bytes) -> None:
    for path in leftovers(zone_file):
        path.unlink()
    zone_file.write_bytes(data)


@pytest.mark.slow
def test_a_killed_sync_leaves_the_old_file_or_the_new(
    tmp_path: Path, zone_file: Path, checkzone: str
) -> None:
    script = tmp_path / "sync.py"
    script.write_text(KILLED_SYNC)
    # The old state already holds a block, so the killed runs replace one.
    subprocess.run(_sync_command(script, zone_file, 0, "run"), check=True, env=_env())
    old = zone_file.read_bytes()

    process = _start_sync(script, zone_file, "time")
    started = time.monotonic()
    code, out = _finish(process)
    runtime = time.monotonic() - started
    assert code == 0
    rename = float(out.split("rename ")[1].split()[0])
    new = zone_file.read_bytes()
    assert new != old
    assert 0 < rename < runtime

    for mode, expected in (("before", old), ("after", new)):
        _restore(zone_file, old)
        assert _finish(_start_sync(script, zone_file, mode))[0] == -signal.SIGKILL
        assert zone_file.read_bytes() == expected, mode

    # Ten kills across the whole write, ten within a few milliseconds of the rename.
    delays = [runtime * (i + 0.5) / 10 for i in range(10)]
    delays += [max(0.0, rename + (i - 5) * 0.002) for i in range(10)]
    seen = []
    for delay in delays:
        _restore(zone_file, old)
        process = _start_sync(script, zone_file, "run")
        time.sleep(delay)
        process.kill()
        _finish(process)
        data = zone_file.read_bytes()
        assert data in (old, new), f"killed after {delay:.3f} s: the zone file is neither"
        seen.append("new" if data == new else "old")
        check = subprocess.run([checkzone, ZONE, str(zone_file)], capture_output=True, check=False)
        assert check.returncode == 0, check.stdout
    print(f"\nsync of {len(new)} bytes: {runtime:.3f} s, rename at {rename:.3f} s; {seen}")
