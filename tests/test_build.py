"""Building .torrent files: scanning, determinism, the budget, the cache, the hasher."""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torf
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from torpub.errors import ArtifactError, BudgetError, ConfigError
from torpub.format import bencode
from torpub.format.records import chunk_count
from torpub.publish.build import (
    CACHE_NAME,
    MAX_PIECE_SIZE,
    Artifact,
    BuildSettings,
    artifact_url,
    build,
    creation_date_from_env,
    scan,
    torrent_bytes,
    torrent_length,
    total_bytes_to_hash,
    url_list,
)
from torpub.publish.hashing import PieceHasher, piece_hashes

BASE = "https://dl.example.com/pub"
SETTINGS = BuildSettings(BASE)
NASTY = [
    "my file.iso",
    "quote'\"d.bin",
    "semi;colon.txt",
    "bücher ünïcode.tar",
    "100%.iso",
]


def make(path: Path, size: int, seed: int = 0) -> Path:
    """A file of random bytes, last written an hour ago (long settled for the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    age(path)
    return path


def age(path: Path, seconds: int = 3600) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 1_000_000_000))


def decode(torrent: bytes) -> dict[bytes, Any]:
    value = bencode.decode(torrent)
    assert isinstance(value, dict)
    return value


def files_under(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path below ``root`` with what a write would change: size, mtime, inode."""
    found = {}
    for path in root.rglob("*"):
        st = path.lstat()
        found[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return found


def torf_reference(path: Path, piece_size: int, settings: BuildSettings, urls: list[str]) -> bytes:
    """What torf itself makes for the same file and settings."""
    torrent = torf.Torrent(
        path=path,
        webseeds=urls,
        trackers=[list(tier) for tier in settings.trackers],  # type: ignore[misc]  # torf takes tiers
        private=True if settings.private else None,
        created_by=None,
        piece_size=piece_size,
        piece_size_max=MAX_PIECE_SIZE,
    )
    assert torrent.generate(threads=1)
    return torrent.dump()


# --- URLs and scanning --------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "relpath", "url"),
    [
        (BASE, "my file.iso", f"{BASE}/my%20file.iso"),
        (BASE + "/", "a/b c/d.iso", f"{BASE}/a/b%20c/d.iso"),
        (BASE, "q'\";\\%.bin", f"{BASE}/q%27%22%3B%5C%25.bin"),
        (BASE, "bücher.iso", f"{BASE}/b%C3%BCcher.iso"),
        (BASE, os.fsdecode(b"raw\xff.bin"), f"{BASE}/raw%FF.bin"),
    ],
)
def test_artifact_url_percent_encodes_each_segment(base: str, relpath: str, url: str) -> None:
    assert artifact_url(base, relpath) == url


def test_scan_directory_skips_dot_files_dot_dirs_and_torrents(tmp_path: Path) -> None:
    for rel in ["b.iso", "a/deep/er/x.bin", ".hidden", "old.iso.torrent", ".git/c", "a/.cache/d"]:
        make(tmp_path / rel, 10)
    os.mkfifo(tmp_path / "a" / "fifo")

    found = scan([tmp_path], SETTINGS)

    assert [a.relpath for a in found] == ["a/deep/er/x.bin", "b.iso"]
    deep = found[0]
    assert deep.path == tmp_path / "a/deep/er/x.bin"
    assert deep.url == f"{BASE}/a/deep/er/x.bin"
    assert deep.torrent_path == tmp_path / "a/deep/er/x.bin.torrent"
    assert deep.root == tmp_path


def test_scan_file_path_publishes_at_its_name_and_out_keeps_relative_paths(tmp_path: Path) -> None:
    iso = make(tmp_path / "dist" / "sub" / "my file.iso", 10)
    [single] = scan([iso], SETTINGS)
    assert single == Artifact(
        iso, "my file.iso", f"{BASE}/my%20file.iso", iso.parent / "my file.iso.torrent", iso.parent
    )

    out = tmp_path / "out"
    [under] = scan([tmp_path / "dist"], SETTINGS, out=out)
    assert under.relpath == "sub/my file.iso"
    assert under.torrent_path == out / "sub" / "my file.iso.torrent"
    assert under.root == out


def test_scan_follows_file_links_not_directory_links(tmp_path: Path) -> None:
    real = make(tmp_path / "elsewhere" / "real.iso", 10)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "linked.iso").symlink_to(real)
    (tmp_path / "dist" / "loop").symlink_to(tmp_path / "dist")
    assert [a.relpath for a in scan([tmp_path / "dist"], SETTINGS)] == ["linked.iso"]

    (tmp_path / "dist" / "dangling.iso").symlink_to(tmp_path / "gone")
    with pytest.raises(ArtifactError, match=r"dangling\.iso: is a symbolic link to nothing"):
        scan([tmp_path / "dist"], SETTINGS)


def test_a_dot_file_named_on_its_own_is_refused(tmp_path: Path) -> None:
    # A client saves a download under the URL's last segment and refuses hidden names.
    hidden = make(tmp_path / ".hidden.iso", 10)
    with pytest.raises(ArtifactError, match=r"\.hidden\.iso: cannot be published: it starts"):
        scan([hidden], SETTINGS)


@pytest.mark.parametrize(
    "name", ["back\\slash", os.fsdecode(b"raw\xff bytes.bin"), "esc\x1b[2J.bin", "x" * 201]
)
def test_names_clients_refuse_are_not_published(tmp_path: Path, name: str) -> None:
    make(tmp_path / "dist" / "fine.iso", 10)
    make(tmp_path / "dist" / name, 10)
    with pytest.raises(ArtifactError, match="cannot be published: it"):
        build(scan([tmp_path / "dist"], SETTINGS), SETTINGS)
    assert not list((tmp_path / "dist").glob("*.torrent"))


def test_scan_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"nowhere\.iso: does not exist"):
        scan([tmp_path / "nowhere.iso"], SETTINGS)


def test_scan_refuses_two_files_for_one_url(tmp_path: Path) -> None:
    make(tmp_path / "one" / "x.iso", 10)
    make(tmp_path / "two" / "x.iso", 10)
    with pytest.raises(ConfigError, match=r"both publish as https://dl.example.com/pub/x.iso"):
        scan([tmp_path / "one", tmp_path / "two"], SETTINGS, out=tmp_path / "out")


def test_scan_refuses_two_urls_for_one_torrent_file(tmp_path: Path) -> None:
    iso = make(tmp_path / "dist" / "sub" / "x.iso", 10)
    with pytest.raises(ConfigError, match=r"x.iso.torrent"):
        scan([tmp_path / "dist", iso], SETTINGS)


def test_scan_takes_the_same_file_once(tmp_path: Path) -> None:
    iso = make(tmp_path / "dist" / "x.iso", 10)
    assert [a.path for a in scan([tmp_path / "dist", iso], SETTINGS)] == [iso]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "dl.example.com/pub"},
        {"base_url": "https://dl.example.com/pub?x=1"},
        {"base_url": "https://dl.example.com/my pub"},
        {"base_url": "https://"},
        {"mirrors": ("not a url",)},
        {"trackers": ((),)},
        {"trackers": (("nope",),)},
        {"piece_size": 3 << 14},
        {"piece_size": 8 << 10},
        {"piece_size": 256 << 20},
        {"chunk_size": 90},
        {"chunk_budget": 0},
        {"creation_date": -1},
    ],
)
def test_settings_refuse_what_cannot_be_built(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        BuildSettings(**{"base_url": BASE, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"SOURCE_DATE_EPOCH": ""}, None),
        ({"SOURCE_DATE_EPOCH": "1700000000"}, 1700000000),
    ],
)
def test_creation_date_from_env(environ: dict[str, str], expected: int | None) -> None:
    assert creation_date_from_env(environ) == expected


@pytest.mark.parametrize("value", ["yesterday", "-5", "1.5", "١٢"])
def test_creation_date_from_env_refuses_non_integers(value: str) -> None:
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        creation_date_from_env({"SOURCE_DATE_EPOCH": value})


# --- Torrent content ------------------------------------------------------------


def test_build_is_deterministic_and_carries_no_date_or_creator(tmp_path: Path) -> None:
    iso = make(tmp_path / "x.iso", 200_000)
    first = build(scan([iso], SETTINGS), SETTINGS, write=False)[0].torrent
    (tmp_path / "x.iso").touch()  # a new mtime changes nothing in the torrent
    second = build(scan([iso], SETTINGS), SETTINGS, write=False)[0].torrent

    assert first == second
    meta = decode(first)
    assert b"creation date" not in meta
    assert b"created by" not in meta
    assert b"private" not in decode(first)[b"info"]


def test_source_date_epoch_sets_the_creation_date(tmp_path: Path) -> None:
    iso = make(tmp_path / "x.iso", 1000)
    dated = BuildSettings(
        BASE, creation_date=creation_date_from_env({"SOURCE_DATE_EPOCH": "1700000000"})
    )
    [built] = build(scan([iso], dated), dated, write=False)
    assert decode(built.torrent)[b"creation date"] == 1700000000


def test_url_list_holds_the_url_then_each_mirror_in_order(tmp_path: Path) -> None:
    iso = make(tmp_path / "sub dir" / "my file.iso", 1000)
    mirrored = BuildSettings(BASE, mirrors=("https://m1.example.org/x/", "http://m2.example.net"))
    [artifact] = scan([tmp_path], mirrored)
    [built] = build([artifact], mirrored)

    expected = [
        b"https://dl.example.com/pub/sub%20dir/my%20file.iso",
        b"https://m1.example.org/x/sub%20dir/my%20file.iso",
        b"http://m2.example.net/sub%20dir/my%20file.iso",
    ]
    assert decode(built.torrent)[b"url-list"] == expected
    assert (tmp_path / "sub dir" / "my file.iso.torrent").read_bytes() == built.torrent
    assert torf.Torrent.read(str(artifact.torrent_path)).verify(str(iso))


def test_trackers_keep_their_tiers_and_private_sets_the_flag(tmp_path: Path) -> None:
    iso = make(tmp_path / "x.iso", 1000)
    tiers = (("http://t1.example/a", "http://t2.example/a"), ("udp://t3.example:80/a",))
    tracked = BuildSettings(BASE, trackers=tiers, private=True)
    meta = decode(build(scan([iso], tracked), tracked, write=False)[0].torrent)

    assert meta[b"announce"] == b"http://t1.example/a"
    assert meta[b"announce-list"] == [[t.encode() for t in tier] for tier in tiers]
    assert meta[b"info"][b"private"] == 1


def test_nasty_names_round_trip(tmp_path: Path) -> None:
    names = NASTY
    for i, name in enumerate(names):
        make(tmp_path / "a b" / "c;d" / name, 100 + i, seed=i)
    built = build(scan([tmp_path], SETTINGS), SETTINGS)

    assert len(built) == len(names)
    for b in built:
        meta = decode(b.torrent)
        assert meta[b"url-list"] == [b.artifact.url.encode()]
        assert b.artifact.url.startswith(f"{BASE}/a%20b/c%3Bd/")
        assert b.artifact.torrent_path.read_bytes() == b.torrent
        assert b.artifact.torrent_path.name == b.artifact.path.name + ".torrent"
        if b.artifact.path.name.isprintable():
            info = meta[b"info"]
            assert info[b"name"] == b.artifact.path.name.encode()


# --- The budget -----------------------------------------------------------------


def test_piece_size_grows_until_the_torrent_fits_the_budget(tmp_path: Path) -> None:
    size = 2 << 20
    iso = make(tmp_path / "x.iso", size)
    default = torf.Torrent.calculate_piece_size(size)
    tight = BuildSettings(BASE, chunk_budget=2)
    [artifact] = scan([iso], tight)
    urls = url_list(artifact, tight)
    assert chunk_count(torrent_length("x.iso", size, default, urls, tight), 900) > 2

    [built] = build([artifact], tight)

    assert built.piece_size > default
    assert built.piece_size & (built.piece_size - 1) == 0
    assert chunk_count(len(built.torrent), tight.chunk_size) <= tight.chunk_budget
    smaller = torrent_length("x.iso", size, built.piece_size // 2, urls, tight)
    assert chunk_count(smaller, tight.chunk_size) > tight.chunk_budget
    assert decode(built.torrent)[b"info"][b"piece length"] == built.piece_size


@pytest.mark.parametrize(
    ("size", "piece_size"),
    [(1, 16 << 10), (16 << 10, 16 << 10), (100_001, 32 << 10), (3 << 20, 1 << 20)],
)
def test_torrent_length_matches_the_real_torrent(
    tmp_path: Path, size: int, piece_size: int
) -> None:
    iso = make(tmp_path / "x y.iso", size)
    fixed = BuildSettings(
        BASE, mirrors=("https://m.example/",), piece_size=piece_size, creation_date=1
    )
    [built] = build(scan([iso], fixed), fixed, write=False)
    urls = url_list(built.artifact, fixed)
    assert torrent_length("x y.iso", size, piece_size, urls, fixed) == len(built.torrent)


def test_an_impossible_budget_fails_before_anything_is_written(tmp_path: Path) -> None:
    make(tmp_path / "a-small.iso", 100)
    with (tmp_path / "b-large.iso").open("wb") as f:
        f.truncate(300 << 20)  # sparse: 3 pieces even at the largest piece size
    small = torrent_length("a-small.iso", 100, 16 << 10, [f"{BASE}/a-small.iso"], SETTINGS)
    tight = BuildSettings(BASE, chunk_size=4, chunk_budget=chunk_count(small, 4) + 2)
    artifacts = scan([tmp_path], tight)
    before = files_under(tmp_path)

    with pytest.raises(BudgetError) as caught:
        build(artifacts, tight)

    assert files_under(tmp_path) == before
    assert caught.value.path == str(tmp_path / "b-large.iso")
    message = str(caught.value)
    assert "even at the largest piece size (128 MiB)" in message
    # The numbers it offers must really fit (planning checks the budget, without hashing).
    budget = int(message.split("a chunk budget of ")[1].split()[0])
    chunk = int(message.split("a chunk size of ")[1].split()[0])
    assert budget > tight.chunk_budget
    assert chunk > tight.chunk_size
    for fits in (
        BuildSettings(BASE, chunk_size=4, chunk_budget=budget),
        BuildSettings(BASE, chunk_size=chunk, chunk_budget=tight.chunk_budget),
    ):
        assert total_bytes_to_hash(artifacts, fits) == 100 + (300 << 20)
    for short in (
        BuildSettings(BASE, chunk_size=4, chunk_budget=budget - 1),
        BuildSettings(BASE, chunk_size=chunk - 4, chunk_budget=tight.chunk_budget),
    ):
        with pytest.raises(BudgetError):
            total_bytes_to_hash(artifacts, short)


def test_a_fixed_piece_size_is_honoured_or_refused(tmp_path: Path) -> None:
    iso = make(tmp_path / "x.iso", 1_000_000)
    fixed = BuildSettings(BASE, piece_size=64 << 10)
    [built] = build(scan([iso], fixed), fixed, write=False)
    assert built.piece_size == 64 << 10
    assert decode(built.torrent)[b"info"][b"piece length"] == 64 << 10

    too_small = BuildSettings(BASE, piece_size=16 << 10, chunk_budget=1)
    with pytest.raises(BudgetError, match=r"at the fixed piece size \(16 KiB\)"):
        build(scan([iso], too_small), too_small, write=False)


# --- Incremental builds ------------------------------------------------------


def refuse_to_hash(*args: object, **kwargs: object) -> bytes:
    raise AssertionError("hashed a file that the cache covers")


def test_an_unchanged_artifact_is_not_hashed_or_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path / "a.iso", 50_000)
    make(tmp_path / "sub" / "b.iso", 70_000, seed=1)
    artifacts = scan([tmp_path], SETTINGS)
    first = build(artifacts, SETTINGS)
    assert [b.reused for b in first] == [False, False]
    after_first = files_under(tmp_path)
    assert CACHE_NAME in after_first

    monkeypatch.setattr(PieceHasher, "hash_file", refuse_to_hash)
    assert total_bytes_to_hash(artifacts, SETTINGS) == 0
    second = build(scan([tmp_path], SETTINGS), SETTINGS)

    assert [b.reused for b in second] == [True, True]
    assert [b.torrent for b in second] == [b.torrent for b in first]
    assert [b.piece_size for b in second] == [b.piece_size for b in first]
    assert files_under(tmp_path) == after_first


def _touch(artifact: Artifact) -> None:
    st = artifact.path.stat()
    os.utime(artifact.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _append(artifact: Artifact) -> None:
    with artifact.path.open("ab") as f:
        f.write(b"more")


def _replace(artifact: Artifact) -> None:
    # Same size and mtime, new inode: what a deploy by rename looks like.
    tmp = artifact.path.with_name("new")
    shutil.copy2(artifact.path, tmp)
    os.replace(tmp, artifact.path)


def _delete_torrent(artifact: Artifact) -> None:
    artifact.torrent_path.unlink()


def _tamper_torrent(artifact: Artifact) -> None:
    artifact.torrent_path.write_bytes(artifact.torrent_path.read_bytes() + b" ")


def _corrupt_cache(artifact: Artifact) -> None:
    (artifact.root / CACHE_NAME).write_text("{not json")


@pytest.mark.parametrize(
    "change", [_touch, _append, _replace, _delete_torrent, _tamper_torrent, _corrupt_cache]
)
def test_a_changed_artifact_or_output_is_hashed_again(
    tmp_path: Path, change: Callable[[Artifact], None]
) -> None:
    iso = make(tmp_path / "x.iso", 50_000)
    [artifact] = scan([iso], SETTINGS)
    build([artifact], SETTINGS)
    change(artifact)

    assert total_bytes_to_hash([artifact], SETTINGS) == iso.stat().st_size
    [again] = build([artifact], SETTINGS)

    assert not again.reused
    assert artifact.torrent_path.read_bytes() == again.torrent
    assert build([artifact], SETTINGS)[0].reused  # and the cache holds it once more


def test_a_fifo_in_the_caches_place_means_hashing_again_not_waiting(tmp_path: Path) -> None:
    iso = make(tmp_path / "x.iso", 50_000)
    os.mkfifo(tmp_path / CACHE_NAME)  # reading it would wait for a writer forever
    code = (
        "import sys; from pathlib import Path;"
        "from torpub.publish.build import BuildSettings, build, scan;"
        "s = BuildSettings(sys.argv[2]);"
        "print(sum(not b.reused for b in build(scan([Path(sys.argv[1])], s), s)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(iso), BASE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["1"]
    assert (tmp_path / CACHE_NAME).is_file()


def test_a_file_written_just_now_is_cached_after_a_tick(tmp_path: Path) -> None:
    iso = tmp_path / "x.iso"
    iso.write_bytes(b"fresh")  # nanosecond mtime: the build waits out one clock tick
    artifacts = scan([iso], SETTINGS)
    assert not build(artifacts, SETTINGS)[0].reused
    assert build(artifacts, SETTINGS)[0].reused


def test_a_recent_whole_second_mtime_is_not_trusted_to_the_cache(tmp_path: Path) -> None:
    # A file system that stamps whole seconds could hide a second write in this one.
    iso = tmp_path / "x.iso"
    iso.write_bytes(b"fresh")
    now = time.time_ns() // 1_000_000_000 * 1_000_000_000
    os.utime(iso, ns=(now, now))
    artifacts = scan([iso], SETTINGS)
    assert not build(artifacts, SETTINGS)[0].reused
    assert not build(artifacts, SETTINGS)[0].reused

    age(iso, 3)
    assert not build(artifacts, SETTINGS)[0].reused
    assert build(artifacts, SETTINGS)[0].reused


@pytest.mark.parametrize(
    "other",
    [
        BuildSettings(BASE, mirrors=("https://m.example/",)),
        BuildSettings("https://other.example/pub"),
        BuildSettings(BASE, trackers=(("http://t.example/a",),)),
        BuildSettings(BASE, private=True),
        BuildSettings(BASE, piece_size=16 << 10),
        BuildSettings(BASE, chunk_size=1200),
        BuildSettings(BASE, chunk_budget=15),
        BuildSettings(BASE, creation_date=1700000000),
    ],
)
def test_changed_settings_rebuild(tmp_path: Path, other: BuildSettings) -> None:
    iso = make(tmp_path / "x.iso", 20_000)
    build(scan([iso], SETTINGS), SETTINGS)
    [again] = build(scan([iso], other), other)
    assert not again.reused


def test_dry_run_writes_nothing_but_returns_the_real_bytes(tmp_path: Path) -> None:
    make(tmp_path / "a.iso", 30_000)
    make(tmp_path / "deep" / "b.iso", 40_000, seed=2)
    out = tmp_path / "out"
    before = files_under(tmp_path)

    dry = build(scan([tmp_path], SETTINGS, out=out), SETTINGS, write=False)

    assert files_under(tmp_path) == before
    assert not out.exists()
    real = build(scan([tmp_path], SETTINGS, out=out), SETTINGS)
    assert [b.torrent for b in dry] == [b.torrent for b in real]
    assert (out / "deep" / "b.iso.torrent").read_bytes() == real[1].torrent
    assert (out / CACHE_NAME).exists()


def test_progress_counts_every_byte_hashed(tmp_path: Path) -> None:
    make(tmp_path / "a.iso", 3_000_000)
    make(tmp_path / "b.iso", 12_345, seed=3)
    seen: list[int] = []
    artifacts = scan([tmp_path], SETTINGS)
    total = total_bytes_to_hash(artifacts, SETTINGS)
    build(artifacts, SETTINGS, progress=seen.append, threads=3)
    assert total == 3_000_000 + 12_345
    assert sum(seen) == total
    assert len(seen) > 1


# --- Refusals before any work ------------------------------------------------


def test_an_empty_artifact_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    make(tmp_path / "a.iso", 100)
    (tmp_path / "b-empty.iso").touch()
    before = files_under(tmp_path)
    with pytest.raises(ArtifactError, match=r"b-empty.iso: is empty"):
        build(scan([tmp_path], SETTINGS), SETTINGS)
    assert files_under(tmp_path) == before


def test_an_artifact_gone_since_the_scan_is_refused(tmp_path: Path) -> None:
    iso = make(tmp_path / "x.iso", 100)
    artifacts = scan([iso], SETTINGS)
    iso.unlink()
    with pytest.raises(ArtifactError, match=r"x.iso: does not exist"):
        build(artifacts, SETTINGS)


def test_an_unreadable_artifact_is_refused(tmp_path: Path) -> None:
    iso = make(tmp_path / "x.iso", 100)
    iso.chmod(0)
    command = [
        sys.executable,
        "-m",
        "torpub",
        "build",
        str(iso),
        "--base-url",
        "https://h.example/",
    ]
    if os.geteuid() == 0:
        # root reads every file: drop the capabilities that let it, as setpriv(1) does
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "x.iso: cannot be read: Permission denied" in done.stderr
    assert not (tmp_path / "x.iso.torrent").exists()


def test_an_output_location_that_is_a_file_is_refused(tmp_path: Path) -> None:
    iso = make(tmp_path / "x.iso", 100)
    blocker = make(tmp_path / "blocker", 1)
    with pytest.raises(ConfigError, match="blocker: the output location is not a directory"):
        scan([iso], SETTINGS, out=blocker)
    artifacts = scan([iso], SETTINGS, out=blocker / "below")
    with pytest.raises(ConfigError, match="is not a directory"):
        build(artifacts, SETTINGS)
    assert build(artifacts, SETTINGS, write=False)[0].torrent  # a dry run needs no output


# --- The hasher --------------------------------------------------------------


def reference_pieces(data: bytes, piece_size: int) -> bytes:
    return b"".join(
        hashlib.sha1(data[i : i + piece_size]).digest() for i in range(0, len(data), piece_size)
    )


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 300_000),
    piece_exp=st.integers(10, 16),
    span=st.integers(1, 200_000),
    block=st.integers(1, 70_000),
    threads=st.integers(1, 4),
)
def test_hasher_matches_sha1_per_piece_for_any_span_and_block(
    tmp_path_factory: pytest.TempPathFactory,
    size: int,
    piece_exp: int,
    span: int,
    block: int,
    threads: int,
) -> None:
    data = random.Random(size).randbytes(size)
    path = tmp_path_factory.mktemp("h") / "f"
    path.write_bytes(data)
    with PieceHasher(threads, span_size=span, block_size=block) as hasher:
        assert hasher.hash_file(path, size, 1 << piece_exp) == reference_pieces(
            data, 1 << piece_exp
        )


@pytest.mark.parametrize("size", [1, (16 << 10) - 1, 16 << 10, 5 * (16 << 10) + 7, 2_500_000])
def test_build_equals_torf_generate(tmp_path: Path, size: int) -> None:
    iso = make(tmp_path / "my file.iso", size)
    full = BuildSettings(
        BASE, mirrors=("https://m.example/x",), trackers=(("http://t.example/a",),), private=True
    )
    [built] = build(scan([iso], full), full, write=False)
    assert built.torrent == torf_reference(
        iso, built.piece_size, full, url_list(built.artifact, full)
    )


@pytest.mark.parametrize("size", [100_000, 1_048_576, 3_333_333])
def test_info_hash_equals_mktorrent(tmp_path: Path, size: int) -> None:
    assert shutil.which("mktorrent"), "mktorrent is missing: `make test` installs it"
    iso = make(tmp_path / "src" / "a file.iso", size)
    fixed = BuildSettings(BASE, piece_size=32 << 10)
    [built] = build(scan([iso], fixed), fixed, write=False)
    out = tmp_path / "m.torrent"
    subprocess.run(
        ["mktorrent", "-d", "-l", "15", "-o", str(out), str(iso)], check=True, capture_output=True
    )
    theirs = out.read_bytes()
    assert decode(built.torrent)[b"info"][b"pieces"] == decode(theirs)[b"info"][b"pieces"]
    assert bencode.info_hash(built.torrent) == bencode.info_hash(theirs)


def test_hasher_refuses_a_file_that_is_not_the_size_it_was(tmp_path: Path) -> None:
    path = make(tmp_path / "f", 100_000)
    with pytest.raises(ArtifactError, match="changed size"):
        piece_hashes(path, 99_999, 16 << 10)
    with pytest.raises(ArtifactError, match=r"f: the file shrank"):
        piece_hashes(path, 100_001, 16 << 10)


def test_torrent_bytes_are_valid_for_torf(tmp_path: Path) -> None:
    path = make(tmp_path / "x.iso", 40_000)
    pieces = piece_hashes(path, 40_000, 16 << 10)
    torrent = torrent_bytes("x.iso", 40_000, 16 << 10, pieces, [f"{BASE}/x.iso"], SETTINGS)
    parsed = torf.Torrent.read_stream(io.BytesIO(torrent))
    assert parsed.verify(str(path))
    assert list(parsed.webseeds) == [f"{BASE}/x.iso"]
