"""The record budget of a whole release (--max-records): piece sizes chosen across
every artifact, big files first, deterministically; refused before any write."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from torpub.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from torpub.errors import RecordBudgetError
from torpub.format import bencode
from torpub.format.records import chunk_count
from torpub.publish.build import (
    CACHE_NAME,
    Artifact,
    BuildSettings,
    Built,
    build,
    scan,
    torrent_length,
)
from torpub.publish.hashing import PieceHasher
from torpub.publish.torrent import piece_size_options

BASE = "https://dl.example.com/pub"
# Small chunks make a torrent's record count follow its piece count closely.
SMALL = 100
BIG = {"big-a.iso": 24 << 20, "big-b.iso": 9 << 20}


def make(path: Path, size: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    st = path.stat()  # an hour old: settled, so the cache vouches for it
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 3600 * 10**9))


@pytest.fixture
def release(tmp_path: Path) -> Path:
    root = tmp_path / "release"
    for i in range(4):
        make(root / f"small-{i}.txt", 3_000 + i, seed=i)
    for seed, (name, size) in enumerate(BIG.items(), start=10):
        make(root / name, size, seed)
    return root


def settings(max_records: int | None = None, **more: Any) -> BuildSettings:
    return BuildSettings(BASE, chunk_size=SMALL, max_records=max_records, **more)


def records(built: list[Built], chunk_size: int = SMALL) -> int:
    return sum(1 + chunk_count(len(b.torrent), chunk_size) for b in built)


def pieces(built: list[Built]) -> dict[str, int]:
    return {b.artifact.path.name: b.piece_size for b in built}


def bounds(release: Path) -> tuple[int, int]:
    """The release's records at natural piece sizes, and the fewest it can have."""
    total = records(build(scan([release], settings()), settings(), write=False))
    with pytest.raises(RecordBudgetError) as caught:
        build(scan([release], settings(1)), settings(1), write=False)
    return total, caught.value.needed


def files_under(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    }


def piece_length(b: Built) -> int:
    info = bencode.decode(b.torrent)
    assert isinstance(info, dict)
    value = info[b"info"][b"piece length"]
    assert isinstance(value, int)
    return value


def test_big_files_give_way_and_the_release_fits(release: Path) -> None:
    natural = build(scan([release], settings()), settings(), write=False)
    total, fewest = bounds(release)
    budget = (total + fewest) // 2

    fitted = build(scan([release], settings(budget)), settings(budget), write=False)

    assert records(fitted) <= budget < total
    before, after = pieces(natural), pieces(fitted)
    for name in before:
        if name.startswith("small"):
            assert after[name] == before[name]
    assert after["big-a.iso"] > before["big-a.iso"]
    assert all(piece_length(b) == b.piece_size for b in fitted)


def test_the_choice_does_not_depend_on_scan_order(release: Path) -> None:
    budget = sum(bounds(release)) // 2
    artifacts = scan([release], settings(budget))
    shuffled: list[Artifact] = list(reversed(artifacts))
    random.Random(1).shuffle(shuffled)
    one = build(artifacts, settings(budget), write=False)
    other = build(shuffled, settings(budget), write=False)
    assert pieces(one) == pieces(other)
    assert {b.artifact.url: b.torrent for b in one} == {b.artifact.url: b.torrent for b in other}


def test_pieces_grow_only_where_they_save_records(release: Path) -> None:
    budget = sum(bounds(release)) // 2
    fitted = build(scan([release], settings(budget)), settings(budget), write=False)
    for b in fitted:
        options = piece_size_options(
            b.artifact.path.name,
            b.artifact.path.stat().st_size,
            [b.artifact.url],
            settings(budget),
            "x",
        )
        count = dict(options)
        index = [p for p, _ in options].index(b.piece_size)
        if index:  # grown: the size below costs more records
            smaller = options[index - 1][1]
            assert chunk_count(smaller, SMALL) > chunk_count(count[b.piece_size], SMALL)


def test_a_budget_too_small_fails_before_any_write_naming_the_smallest(
    release: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = files_under(release)
    with monkeypatch.context() as m:
        m.setattr(PieceHasher, "hash_file", _refuse_to_hash)
        with pytest.raises(RecordBudgetError) as caught:
            build(scan([release], settings(1)), settings(1))
    assert files_under(release) == before
    needed = caught.value.needed
    assert f"a budget of {needed} would fit" in str(caught.value)

    with pytest.raises(RecordBudgetError):
        build(scan([release], settings(needed - 1)), settings(needed - 1))
    assert files_under(release) == before
    fitted = build(scan([release], settings(needed)), settings(needed))
    assert records(fitted) == needed
    assert (release / CACHE_NAME).exists()


def test_a_changed_budget_rehashes_only_what_it_resized(
    release: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    total, fewest = bounds(release)
    loose, tight = settings(total - 2), settings(fewest + 1)
    first = build(scan([release], loose), loose)
    again = build(scan([release], loose), loose)
    assert all(b.reused for b in again)

    second = build(scan([release], tight), tight)
    resized = {n for n, p in pieces(second).items() if pieces(first)[n] != p}
    assert resized  # the tighter budget moved some big file
    assert {b.artifact.path.name for b in second if not b.reused} == resized
    for b in second:
        assert b.artifact.torrent_path.read_bytes() == b.torrent
        assert piece_length(b) == b.piece_size

    monkeypatch.setattr(PieceHasher, "hash_file", _refuse_to_hash)
    assert all(b.reused for b in build(scan([release], tight), tight))


def test_a_fixed_piece_size_fails_with_what_it_needs(release: Path) -> None:
    fixed = settings(piece_size=1 << 20)
    total = records(build(scan([release], fixed), fixed, write=False))
    short = settings(total - 1, piece_size=1 << 20)
    with pytest.raises(RecordBudgetError) as caught:
        build(scan([release], short), short, write=False)
    assert caught.value.needed == total
    exact = settings(total, piece_size=1 << 20)
    assert pieces(build(scan([release], exact), exact, write=False)) == dict.fromkeys(
        [*(f"small-{i}.txt" for i in range(4)), *BIG], 1 << 20
    )


def _refuse_to_hash(*args: object, **kwargs: object) -> bytes:
    raise AssertionError("hashed a file")


@hypothesis_settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 1 << 40), chunk_budget=st.integers(1, 64))
def test_every_option_has_the_exact_torrent_length(length: int, chunk_budget: int) -> None:
    urls = [f"{BASE}/x.iso", "https://mirror.example/x.iso"]
    s = BuildSettings(BASE, chunk_budget=chunk_budget)
    try:
        options = piece_size_options("x.iso", length, urls, s, "x")
    except Exception as e:  # a budget that no piece size meets is tested elsewhere
        assert type(e).__name__ == "BudgetError"
        return
    for piece_size, size in options:
        assert size == torrent_length("x.iso", length, piece_size, urls, s)
    assert [r for _, r in options] == sorted((r for _, r in options), reverse=True)


# --- The flag and the config key --------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_flag_and_config_key_choose_the_same(
    release: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    budget = sum(bounds(release)) // 2
    common = ("--base-url", BASE, "--chunk-size", str(SMALL), "--out")
    code, err = run(capsys, "build", release, *common, tmp_path / "a", "--max-records", budget)
    assert code == EXIT_OK, err
    config = tmp_path / "torpub.toml"
    config.write_text(f"max_records = {budget}\n")
    code, err = run(capsys, "build", release, *common, tmp_path / "b", "-c", config)
    assert code == EXIT_OK, err
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").rglob("*.torrent")}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").rglob("*.torrent")}
    assert a == b and len(a) == 6
    assert sum(1 + chunk_count(len(t), SMALL) for t in a.values()) <= budget

    code, err = run(capsys, "build", release, *common, tmp_path / "c", "--max-records", "3")
    assert code == EXIT_ERROR
    assert err.count("\n") == 1 and "max_records 3:" in err and "would fit" in err
    assert not (tmp_path / "c").exists()
    config.write_text("max_records = 0\n")
    code, err = run(capsys, "build", release, *common, tmp_path / "c", "-c", config)
    assert code == EXIT_ERROR and "max_records must be at least 1" in err
    config.write_text('max_records = "many"\n')
    code, err = run(capsys, "build", release, *common, tmp_path / "c", "-c", config)
    assert code == EXIT_ERROR and "max_records must be an integer" in err
    code, err = run(capsys, "build", release, *common, tmp_path / "c", "--max-records", "x")
    assert code == EXIT_USAGE
