"""A release of many artifacts costs a fixed amount of work per artifact, counted in
operations (stat calls, cache reads, IDNA and dnspython name parses), never timed:
benchmarks/scale.py measures the time."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dns.name
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torpub.format import names
from torpub.format.records import Record
from torpub.provider import Target
from torpub.publish import build, buildcache, config, pipeline, zonefile
from torpub.publish.plan import Action
from torpub.publish.sync import Publisher

BASE = "https://dl.example.com/pub/"
ZONE = "example.com."


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return function(*args, **kwargs)

        return counted


@pytest.fixture
def count(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Any, str], Counter]]:
    def patch(owner: Any, name: str) -> Counter:
        counter = Counter()
        monkeypatch.setattr(owner, name, counter.wrap(getattr(owner, name)))
        return counter

    yield patch


def release(root: Path, n: int) -> Path:
    tree = root / "tree"
    for i in range(n):
        path = tree / f"d{i % 7}" / f"f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(i.to_bytes(4, "big"))
        past = path.stat().st_mtime_ns - 3600 * 10**9  # settled, so the cache vouches
        os.utime(path, ns=(past, past))
    return tree


def publisher() -> Publisher:
    return Publisher(config.Settings(base_url=BASE))


def test_scanning_a_tree_stats_no_plain_file(
    tmp_path: Path, count: Callable[[Any, str], Counter]
) -> None:
    tree = release(tmp_path, 200)
    (tree / "d0" / "link.bin").symlink_to(tree / "d1" / "f00001.bin")
    stats = count(os, "stat")
    found = build.scan([tree], build.BuildSettings(BASE))
    assert len(found) == 201
    # The top, and the symlink's target: directory entries say the rest.
    assert stats.calls <= 2


def test_an_unchanged_build_reads_the_cache_once_and_writes_nothing(
    tmp_path: Path, count: Callable[[Any, str], Counter]
) -> None:
    tree = release(tmp_path, 300)
    publisher().built([tree], write=True)
    cache = tree / buildcache.CACHE_NAME
    before = cache.stat().st_mtime_ns
    loads = count(json, "loads")
    digests = count(buildcache, "entry")
    built = publisher().built([tree], write=True)
    assert all(b.reused for b in built) and len(built) == 300
    assert loads.calls == 1
    assert digests.calls == 0
    assert cache.stat().st_mtime_ns == before


def test_the_cache_file_is_one_line_per_artifact_and_reads_back(tmp_path: Path) -> None:
    tree = release(tmp_path, 20)
    publisher().built([tree], write=True)
    text = (tree / buildcache.CACHE_NAME).read_text()
    assert len(text.splitlines()) == 20 + 2
    assert set(json.loads(text)["artifacts"]) == {f"d{i % 7}/f{i:05d}.bin" for i in range(20)}


def test_one_idna_conversion_per_host_not_per_artifact(
    tmp_path: Path, count: Callable[[Any, str], Counter]
) -> None:
    tree = release(tmp_path, 100)
    names._a_labels.cache_clear()
    idna = count(dns.name, "from_unicode")
    desired = publisher().desired([tree], write=True, zones=[ZONE])
    assert len(desired) == 100
    assert idna.calls <= 1  # none at all for an ASCII host: canonical_name reads it as is


def test_rendering_the_block_parses_no_name_with_dnspython(
    tmp_path: Path, count: Callable[[Any, str], Counter]
) -> None:
    tree = release(tmp_path, 100)
    desired = pipeline.desired_records(publisher().built([tree], write=True), config.Settings())
    parses = count(dns.name, "from_text")
    block = zonefile.render_block(r for d in desired for r in d.records)
    assert block.count(" IN TXT ") == 200
    assert parses.calls == 0


_label = st.text('abcxyzABC019-_.\\"@é ', min_size=0, max_size=70)


@given(st.lists(_label, min_size=1, max_size=5).map(".".join), st.booleans())
@settings(max_examples=500)
def test_record_line_names_are_what_dnspython_writes(name: str, absolute: bool) -> None:
    name = name + "." if absolute else name
    try:
        expected: str | type[Exception] = dns.name.from_text(name, origin=dns.name.root).to_text()
    except dns.exception.DNSException:
        expected = zonefile.ZoneError
    try:
        got: str | type[Exception] = zonefile.record_line(Record(name, 60, "v")).split(" ")[0]
    except zonefile.ZoneError:
        got = zonefile.ZoneError
    assert got == expected


def test_a_fifo_in_a_cached_torrents_place_is_replaced_not_read(tmp_path: Path) -> None:
    tree = release(tmp_path, 2)
    publisher().built([tree], write=True)
    torrent = tree / "d0" / "f00000.bin.torrent"
    torrent.unlink()
    os.mkfifo(torrent)  # reading it would wait for a writer forever
    code = (
        "import sys; from pathlib import Path; from torpub.publish import config;"
        "from torpub.publish.sync import Publisher;"
        "p = Publisher(config.Settings(base_url=sys.argv[2]));"
        "print(sum(not b.reused for b in p.built([Path(sys.argv[1])], write=True)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tree), BASE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["1"]
    assert torrent.is_file()


def test_a_sync_runs_no_cycle_collection_and_leaves_the_collector_on(
    tmp_path: Path, zone_file: Path
) -> None:
    tree = release(tmp_path, 300)
    target = Target(provider="bind", zone=ZONE, options={"zone_file": str(zone_file)})
    publisher = Publisher(config.Settings(base_url=BASE), [target])
    collections: list[str] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(phase)

    gc.collect()
    threshold = gc.get_threshold()
    # A collection every 200 new objects, unless it is off: a sync of 300
    # artifacts makes some 100,000, its bookkeeping between the steps a few dozen.
    gc.set_threshold(200, 1, 1)
    gc.callbacks.append(note)
    try:
        plans = publisher.plan([tree])
        publisher.apply(plans)
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*threshold)
    assert plans[0].count(Action.CREATE) == 600
    # One as each step turns the collector back on (plan, then apply), where every
    # 200 objects would have made hundreds.
    assert len(collections) <= 2
    assert gc.isenabled()
