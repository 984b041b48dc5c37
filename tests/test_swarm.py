"""The swarm on loopback: ``torpub seed`` and ``torpub get`` as real processes, a
real tracker (opentracker), named serving the zone, the origin dead, no mirror."""

from __future__ import annotations

import json
import random
import signal
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from client_servers import LOCAL_HOST, LOCAL_ZONE, closed_port, publish_zone, wait_until
from processes import free_port
from swarm_servers import (
    StartTorpub,
    StartTracker,
    TorpubProcess,
    opentracker,
    seeders,
    torpub_process,
)
from test_get import publish_info_hash_only, sha256

from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.client import download
from torpub.client.seedgoal import SeedGoal
from torpub.client.session import listen_interfaces, parse_rate
from torpub.errors import ConfigError
from torpub.format import bencode
from torpub.format.names import names_for
from torpub.format.records import encode

if TYPE_CHECKING:
    from conftest import NamedServer, StartNamed

__all__ = ["opentracker", "torpub_process"]  # fixtures, imported for pytest

SIZE = 3 << 20
LOOPBACK = ["--listen", "127.0.0.1:0"]
GET_LOOPBACK = [*LOOPBACK, "--no-discovery", "--timeout", "2", "--stall-timeout", "30"]


@dataclass(frozen=True)
class Release:
    """Artifacts under ``tree``, built with ``flags``, published in DNS for a dead origin."""

    tree: Path
    flags: tuple[str, ...]
    torrents: dict[str, bytes]
    server: NamedServer | None

    def url(self, name: str) -> str:
        return self.flags[self.flags.index("-u") + 1] + name

    def get(self, name: str, out: Path, *more: str) -> list[str]:
        assert self.server is not None
        resolver = f"127.0.0.1:{self.server.port}"
        return ["get", self.url(name), "-o", str(out), "-r", resolver, *GET_LOOPBACK, *more]

    def seed(self, *more: str) -> list[str]:
        return ["seed", str(self.tree), *self.flags, *LOOPBACK, "--no-dht", *more]

    def announced(self, name: str) -> None:
        """Wait until the tracker knows a seeder of ``name``."""
        tracker = self.flags[self.flags.index("--tracker") + 1]
        ih = bencode.info_hash(self.torrents[name])
        wait_until(lambda: seeders(tracker, ih) >= 1, f"a seeder of {name} on the tracker")


def make_release(
    tmp_path: Path, names: tuple[str, ...], tracker: tuple[StartTracker, int] | None = None
) -> Release:
    tree = tmp_path / "pub"
    tree.mkdir()
    for number, name in enumerate(names):
        (tree / name).write_bytes(random.Random(number).randbytes(SIZE))
    flags = ["-u", f"http://{LOCAL_HOST}:{closed_port()}/pub/"]
    if tracker is not None:
        flags += ["--tracker", f"http://127.0.0.1:{tracker[1]}/announce"]
    assert main(["build", str(tree), *flags, "-q"]) == EXIT_OK
    torrents = {name: (tree / f"{name}.torrent").read_bytes() for name in names}
    if tracker is not None:
        start, port = tracker
        start(port, [bencode.info_hash(t) for t in torrents.values()])
    return Release(tree, tuple(flags), torrents, None)


def published(release: Release, named: StartNamed, zone_file: Path) -> Release:
    desired = [encode(t, names_for(release.url(n))) for n, t in release.torrents.items()]
    publish_zone(zone_file, desired, LOCAL_ZONE)
    return replace(release, server=named(LOCAL_ZONE, zone_file))


def swarm(
    tmp_path: Path,
    tracker: StartTracker,
    named: StartNamed,
    zone_file: Path,
    torpub_process: StartTorpub,
    *seed_flags: str,
) -> tuple[Release, TorpubProcess]:
    """``artifact.bin`` published in DNS, tracked, and seeded (``--json``): the
    seeder is on the tracker when this returns."""
    release = make_release(tmp_path, ("artifact.bin",), (tracker, free_port()))
    release = published(release, named, zone_file)
    seeder = torpub_process(*release.seed("--json", *seed_flags))
    release.announced("artifact.bin")
    return release, seeder


def stop(seeder: TorpubProcess) -> dict[str, object]:
    """SIGTERM, then the JSON summary the seeder prints."""
    seeder.process.send_signal(signal.SIGTERM)
    assert seeder.finish(30) == EXIT_OK, seeder.err()
    summary: dict[str, object] = json.loads(seeder.out())
    return summary


def seed_port(seeder: TorpubProcess) -> int:
    return int(seeder.wait_for("listening on port").rsplit(" ", 1)[1])


def test_one_seeder_and_several_gets_complete_with_identical_files(
    tmp_path: Path,
    opentracker: StartTracker,
    named: StartNamed,
    zone_file: Path,
    torpub_process: StartTorpub,
) -> None:
    release, seeder = swarm(tmp_path, opentracker, named, zone_file, torpub_process, "-v")
    gets = [
        torpub_process(*release.get("artifact.bin", tmp_path / f"out{i}", "--seed-time", "3"))
        for i in range(3)
    ]

    for get in gets:
        assert get.finish(90) == EXIT_OK, get.err()
    summary = stop(seeder)

    want = sha256(release.tree / "artifact.bin")
    assert {sha256(tmp_path / f"out{i}" / "artifact.bin") for i in range(3)} == {want}
    assert all("seeding until ratio 1 or 3 s" in get.err() for get in gets)
    assert "1 torrent: 0 hashed, 1 unchanged" in seeder.err()  # the cache vouched for it
    (torrent,) = summary["torrents"]  # type: ignore[misc]
    assert torrent["name"] == release.url("artifact.bin")
    assert torrent["info_hash"] == bencode.info_hash(release.torrents["artifact.bin"])
    assert torrent["peers"] >= 1
    assert summary["uploaded"] == torrent["uploaded"] >= SIZE  # every piece left it once


def test_a_magnet_only_head_downloads_from_the_seeder(
    tmp_path: Path, named: StartNamed, zone_file: Path, torpub_process: StartTorpub
) -> None:
    release = make_release(tmp_path, ("artifact.bin",))
    url = release.url("artifact.bin")
    server = publish_info_hash_only(named, zone_file, url, release.torrents["artifact.bin"])
    seeder = torpub_process(*release.seed("--json", "--super-seed"))  # BEP 9 and 16 together
    peer = f"127.0.0.1:{seed_port(seeder)}"
    args = [url, "-o", str(tmp_path / "out"), "-r", f"127.0.0.1:{server.port}", *GET_LOOPBACK]

    get = torpub_process("get", *args, "--peer", peer, "--no-seed")

    assert get.finish(60) == EXIT_OK, get.err()
    assert "DNS publishes only the info-hash (n=0)" in get.err()
    assert sha256(tmp_path / "out" / "artifact.bin") == sha256(release.tree / "artifact.bin")
    assert stop(seeder)["uploaded"] >= SIZE


def test_a_get_gives_back_until_ctrl_c_which_keeps_the_file(
    tmp_path: Path,
    opentracker: StartTracker,
    named: StartNamed,
    zone_file: Path,
    torpub_process: StartTorpub,
) -> None:
    """Once the seeder is gone, a second downloader gets the file from the first."""
    release, seeder = swarm(tmp_path, opentracker, named, zone_file, torpub_process)
    first = torpub_process(*release.get("artifact.bin", tmp_path / "a", "--seed-ratio", "0"))
    first.wait_for("complete; seeding until 30 min", timeout=60)
    stop(seeder)

    second = torpub_process(*release.get("artifact.bin", tmp_path / "b", "--no-seed"))
    assert second.finish(60) == EXIT_OK, second.err()
    first.process.send_signal(signal.SIGINT)

    assert first.finish(30) == EXIT_OK, first.err()
    want = sha256(release.tree / "artifact.bin")
    assert (
        sha256(tmp_path / "a" / "artifact.bin") == sha256(tmp_path / "b" / "artifact.bin") == want
    )
    assert first.out().strip() == str(tmp_path / "a" / "artifact.bin")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["artifact.bin"]


def test_a_get_alone_in_the_swarm_stops_seeding_when_idle(
    tmp_path: Path,
    opentracker: StartTracker,
    named: StartNamed,
    zone_file: Path,
    torpub_process: StartTorpub,
) -> None:
    """Nobody left to give to: seeding ends by itself after --seed-idle seconds."""
    release, seeder = swarm(tmp_path, opentracker, named, zone_file, torpub_process)
    first = torpub_process(*release.get("artifact.bin", tmp_path / "a", "--seed-idle", "2"))
    first.wait_for("or 2 s without a peer", timeout=60)
    stop(seeder)

    assert first.finish(60) == EXIT_OK, first.err()
    assert sha256(tmp_path / "a" / "artifact.bin") == sha256(release.tree / "artifact.bin")


def test_get_no_seed_uploads_nothing_after_finishing(
    tmp_path: Path,
    opentracker: StartTracker,
    named: StartNamed,
    zone_file: Path,
    torpub_process: StartTorpub,
) -> None:
    release, seeder = swarm(tmp_path, opentracker, named, zone_file, torpub_process)
    first = torpub_process(*release.get("artifact.bin", tmp_path / "a", "--no-seed"))
    assert first.finish(60) == EXIT_OK, first.err()  # ends by itself, seeding nothing
    stop(seeder)

    second = torpub_process(
        *release.get("artifact.bin", tmp_path / "b", "--no-seed"), "--stall-timeout", "3"
    )

    assert second.finish(60) == EXIT_ERROR
    assert "no progress for 3 s" in second.err()
    assert "seeding" not in first.err()


def test_sighup_rescans_and_seeds_a_new_artifact(
    tmp_path: Path, torpub_process: StartTorpub
) -> None:
    release = make_release(tmp_path, ("a.bin",))
    seeder = torpub_process(*release.seed("--json", "--rescan-interval", "3600"))
    port = seed_port(seeder)
    seeder.wait_for("seeding 1 torrent (")
    (release.tree / "b.bin").write_bytes(random.Random(9).randbytes(SIZE))

    seeder.process.send_signal(signal.SIGHUP)
    seeder.wait_for("seeding 2 torrents (1 added, 0 removed)")
    torrent = _built(release, "b.bin")
    (tmp_path / "out").mkdir()
    got = download.download(
        torrent,
        tmp_path / "out",
        "b.bin",
        download.SessionOptions(
            listen="127.0.0.1:0", discovery=False, peers=(("127.0.0.1", port),)
        ),
    )
    summary = stop(seeder)

    assert sha256(got) == sha256(release.tree / "b.bin")
    uploaded = {t["name"]: t["uploaded"] for t in summary["torrents"]}  # type: ignore[attr-defined]
    assert uploaded == {release.url("a.bin"): 0, release.url("b.bin"): SIZE}


def test_a_changed_tree_is_rescanned_without_a_signal(
    tmp_path: Path, torpub_process: StartTorpub
) -> None:
    release = make_release(tmp_path, ("a.bin",))
    seeder = torpub_process(*release.seed("--rescan-interval", "0.2"))
    seeder.wait_for("seeding 1 torrent (")

    (release.tree / "b.bin").write_bytes(b"new")
    seeder.wait_for("seeding 2 torrents (1 added, 0 removed)")
    (release.tree / "a.bin").unlink()
    seeder.wait_for("seeding 1 torrent (0 added, 1 removed)")
    seeder.process.send_signal(signal.SIGINT)

    assert seeder.finish(30) == EXIT_OK
    assert "uploaded 0 B from 2 torrents" in seeder.out()


def _built(release: Release, name: str) -> bytes:
    """The torrent ``build`` makes for a file added after the release was built."""
    assert main(["build", str(release.tree), *release.flags, "-q"]) == EXIT_OK
    return (release.tree / f"{name}.torrent").read_bytes()


@pytest.mark.parametrize(
    ("text", "rate"),
    [("0", 0), ("500K", 500 << 10), ("10M", 10 << 20), ("1.5MiB/s", 3 << 19), ("2048", 2048)],
)
def test_upload_rates_read_like_aria2s(text: str, rate: int) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "-1K", "10X", "3G"])
def test_a_rate_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="rate"):
        parse_rate(text)


def test_listen_takes_a_port_zero_or_interfaces() -> None:
    assert listen_interfaces("0") == "0.0.0.0:0,[::]:0"
    assert listen_interfaces("127.0.0.1:0, [::1]:6881") == "127.0.0.1:0,[::1]:6881"
    for bad in ("127.0.0.1", "host:99999", "a:1;rm"):
        with pytest.raises(ConfigError, match="listen interface"):
            listen_interfaces(bad)


def test_the_seed_goal_is_whichever_comes_first() -> None:
    goal = SeedGoal(ratio=1.0, seconds=60)
    assert not goal.reached(uploaded=99, size=100, seconds=59)
    assert goal.reached(uploaded=100, size=100, seconds=1)
    assert goal.reached(uploaded=0, size=100, seconds=60)
    assert not SeedGoal(ratio=0, seconds=60).reached(uploaded=10**9, size=100, seconds=1)
    assert SeedGoal().describe() == "ratio 1 or 30 min, or 2 min without a peer"
    # Nobody there to give to: idle stops it; 0 turns the idle limit off.
    assert SeedGoal(idle=120).reached(uploaded=0, size=100, seconds=130, idle=120)
    assert not SeedGoal(idle=0).reached(uploaded=0, size=100, seconds=130, idle=130)
