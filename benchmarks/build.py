"""How fast `torpub build` hashes, against mktorrent run in the same script.

Part 1 alternates torpub's build (library call, fresh output, so it really
hashes) with `mktorrent -t <cores>` at the same piece size over one random
file, and measures hashlib's single-core SHA-1 over memory as the ceiling.
Part 2 builds a tree of sparse files once, then times the unchanged rebuild,
which the cache should answer without hashing.

    .venv/bin/python benchmarks/build.py [--size 1G] [--rounds 5] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torpub.publish.build import BuildSettings, build, scan

T = TypeVar("T")
MiB = 1 << 20
SETTINGS = BuildSettings("https://downloads.example.com/pub")
DATA = Path(tempfile.gettempdir()) / "torpub-bench"


def main() -> None:
    args = parse_args()
    if shutil.which("mktorrent") is None:
        sys.exit("mktorrent is not installed")
    DATA.mkdir(exist_ok=True)
    try:
        hashing(args.size, args.rounds)
        rebuild(args.tree_files, args.tree_file_size, args.rounds)
    finally:
        if not args.keep:
            shutil.rmtree(DATA)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=size_arg, default=1 << 30, help="hashed file (1G)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per measurement (5)")
    parser.add_argument("--tree-files", type=int, default=16, help="files in the tree (16)")
    parser.add_argument(
        "--tree-file-size", type=size_arg, default=256 * MiB, help="size of each (256M)"
    )
    parser.add_argument("--keep", action="store_true", help=f"keep {DATA} for the next run")
    return parser.parse_args()


def size_arg(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    unit = units.get(text[-1:].upper(), 1)
    return int(text[:-1] if unit > 1 else text) * unit


# --- Part 1: hashing speed ---------------------------------------------------


def hashing(size: int, rounds: int) -> None:
    source = random_file(DATA / f"random-{size}.bin", size)
    warm(source)
    out = DATA / "out"
    [artifact] = scan([source], SETTINGS, out=out)
    [first] = build([artifact], SETTINGS, write=False)
    piece_size = first.piece_size
    cores = os.cpu_count() or 1

    def torpub() -> None:
        shutil.rmtree(out, ignore_errors=True)  # no cache: every round hashes
        [built] = build(scan([source], SETTINGS, out=out), SETTINGS)
        assert not built.reused and built.torrent == first.torrent

    def mktorrent() -> None:
        target = DATA / "mktorrent.torrent"
        target.unlink(missing_ok=True)
        command = ["mktorrent", "-d", "-t", str(cores), "-l", str(piece_size.bit_length() - 1)]
        subprocess.run([*command, "-o", str(target), str(source)], check=True, capture_output=True)

    memory = os.urandom(min(size, 256 * MiB))
    runs: dict[str, list[Run]] = {"torpub": [], "mktorrent": [], "sha1": []}
    for _ in range(rounds):
        runs["torpub"].append(measure(torpub, size))
        runs["mktorrent"].append(measure(mktorrent, size))
        runs["sha1"].append(measure(lambda: hashlib.sha1(memory), len(memory)))

    print(f"\nHashing {size / MiB:.0f} MiB, page cache warm, {cores} cores, ", end="")
    print(f"piece size {piece_size // 1024} KiB, median of {rounds} rounds")
    print(f"  {'':30} {'MiB/s':>7} {'CPU s/GiB':>10}  MiB/s per round")
    rows = [
        ("torpub build", "torpub"),
        (f"mktorrent -t {cores}", "mktorrent"),
        ("hashlib SHA-1, 1 core, memory", "sha1"),
    ]
    for label, name in rows:
        rate = statistics.median(r.rate for r in runs[name])
        cpu = statistics.median(r.cpu_per_gib for r in runs[name])
        spread = " ".join(f"{r.rate:.0f}" for r in runs[name])
        print(f"  {label:30} {rate:7.0f} {cpu:10.3f}  {spread}")
    # Paired by round: the VM's neighbours slow both tools of a round alike.
    pairs = zip(runs["torpub"], runs["mktorrent"], strict=True)
    ratio = statistics.median(t.rate / m.rate for t, m in pairs)
    ceiling = statistics.median(r.rate for r in runs["torpub"]) / (
        cores * statistics.median(r.rate for r in runs["sha1"])
    )
    print(f"  {'torpub / mktorrent':30} {ratio:7.2f}×  (median of per-round ratios)")
    print(f"  {'torpub / (cores × SHA-1)':30} {ceiling:7.2f}×")


@dataclass(frozen=True)
class Run:
    rate: float  # MiB/s, wall clock
    cpu_per_gib: float  # CPU seconds of every thread and child, per GiB


def measure(action: Callable[[], object], size: int) -> Run:
    before = cpu_seconds()
    elapsed = seconds(action)
    return Run(size / MiB / elapsed, (cpu_seconds() - before) / (size / (1 << 30)))


def cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def random_file(path: Path, size: int) -> Path:
    if path.exists() and path.stat().st_size == size:
        return path  # reused from an earlier run with --keep
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as f:
        for offset in range(0, size, 64 * MiB):
            f.write(os.urandom(min(64 * MiB, size - offset)))
    tmp.replace(path)
    return path


def warm(path: Path) -> None:
    # Both tools then read from the page cache; the benchmark measures hashing, not the disk.
    with path.open("rb") as f:
        while f.read(64 * MiB):
            pass


# --- Part 2: the unchanged rebuild ------------------------------------------


def rebuild(files: int, file_size: int, rounds: int) -> None:
    tree = DATA / "tree"
    shutil.rmtree(tree, ignore_errors=True)  # sparse files cost nothing to make again
    tree.mkdir()
    for i in range(files):
        with (tree / f"part-{i:02}.bin").open("wb") as f:
            f.truncate(file_size)

    first_seconds, _ = timed(lambda: build(scan([tree], SETTINGS), SETTINGS))
    timings = []
    for _ in range(rounds):
        elapsed, built = timed(lambda: build(scan([tree], SETTINGS), SETTINGS))
        assert len(built) == files and all(b.reused for b in built)
        timings.append(elapsed)

    total = files * file_size
    print(f"\nTree of {files} × {file_size / MiB:.0f} MiB = {total / (1 << 30):.1f} GiB (sparse)")
    print(
        f"  {'first build (hashes)':32} {first_seconds:8.3f} s  {total / MiB / first_seconds:.0f} MiB/s"
    )
    spread = " ".join(f"{t * 1000:.1f}" for t in timings)
    print(f"  {'unchanged rebuild, median':32} {statistics.median(timings):8.3f} s  ({spread} ms)")


def seconds(action: Callable[[], object]) -> float:
    return timed(action)[0]


def timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


if __name__ == "__main__":
    main()
