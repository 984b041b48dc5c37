"""How fast `torpub build` is as the process a user runs, against mktorrent and
against Python's own start-up, all in the same script.

Part 1 alternates whole processes over one page-cached random file: `torpub
build` (fresh output, so it really hashes) and `mktorrent -t <cores>` at the
same piece size; wall time and CPU time (user + system) per process, medians,
and hashlib's single-core SHA-1 over memory as the ceiling. Beside them, in the
same rounds, torpub's hashing as a library call in this process (no start-up):
what the process would cost without Python's and typer's start-up. Part 2 builds a
tree of sparse files once, then times the unchanged rebuild, which the cache
answers without hashing. Part 3 alternates `python -c "import typer"`,
`torpub --version` and `torpub --help`.

    .venv/bin/python benchmarks/build.py [--size 1G] [--rounds 7] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torpub.publish.build import BuildSettings, build, scan

T = TypeVar("T")
MiB = 1 << 20
BASE_URL = "https://downloads.example.com/pub/"
SETTINGS = BuildSettings(BASE_URL)
DATA = Path(tempfile.gettempdir()) / "torpub-bench"
BIN = Path(sys.executable).parent


def main() -> None:
    args = parse_args()
    if shutil.which("mktorrent") is None:
        sys.exit("mktorrent is not installed")
    DATA.mkdir(exist_ok=True)
    try:
        hashing(args.size, args.rounds)
        rebuild(args.tree_files, args.tree_file_size, args.rounds)
        start_up(args.startup_runs)
    finally:
        if not args.keep:
            shutil.rmtree(DATA)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=size_arg, default=1 << 30, help="hashed file (1G)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per measurement (7)")
    parser.add_argument("--startup-runs", type=int, default=30, help="start-up rounds (30)")
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


# --- Part 1: build as a whole process ----------------------------------------


def hashing(size: int, rounds: int) -> None:
    source = random_file(DATA / f"random-{size}.bin", size)
    warm(source)
    out = DATA / "out"
    [artifact] = scan([source], SETTINGS, out=out)
    [first] = build([artifact], SETTINGS, write=False)
    piece_size = first.piece_size
    cores = os.cpu_count() or 1
    target = DATA / "mktorrent.torrent"
    torpub = [str(BIN / "torpub"), "build", str(source), "-u", BASE_URL, "-o", str(out), "-q"]
    torpub += ["--piece-size", f"{piece_size // 1024}KiB"]
    mktorrent = ["mktorrent", "-d", "-t", str(cores), "-l", str(piece_size.bit_length() - 1)]
    mktorrent += ["-o", str(target), str(source)]

    def fresh() -> None:
        shutil.rmtree(out, ignore_errors=True)  # no cache: every round hashes
        target.unlink(missing_ok=True)

    memory = os.urandom(min(size, 256 * MiB))
    runs: dict[str, list[Run]] = {"torpub": [], "mktorrent": [], "library": [], "sha1": []}
    for _ in range(rounds):
        fresh()
        runs["torpub"].append(process(torpub))
        runs["mktorrent"].append(process(mktorrent))
        runs["library"].append(in_process(lambda: build([artifact], SETTINGS, write=False)))
        start = time.perf_counter()
        hashlib.sha1(memory)
        runs["sha1"].append(Run(time.perf_counter() - start, 0.0, 0.0))
    assert (out / f"{source.name}.torrent").read_bytes() == first.torrent

    print(f"\nBuild of {size / MiB:.0f} MiB as a whole process, page cache warm, {cores} cores, ")
    print(f"piece size {piece_size // 1024} KiB, median of {rounds} alternating rounds")
    print(f"  {'':30} {'wall s':>7} {'MiB/s':>7} {'user s':>7} {'sys s':>7}")
    rows = (
        ("torpub build", "torpub"),
        (f"mktorrent -t {cores}", "mktorrent"),
        ("torpub hashing, library call", "library"),
    )
    for label, name in rows:
        wall = statistics.median(r.wall for r in runs[name])
        user = statistics.median(r.user for r in runs[name])
        system = statistics.median(r.system for r in runs[name])
        print(f"  {label:30} {wall:7.3f} {size / MiB / wall:7.0f} {user:7.3f} {system:7.3f}")
    sha1 = statistics.median(r.wall for r in runs["sha1"]) * size / len(memory)
    print(f"  {'hashlib SHA-1, 1 core, memory':30} {sha1:7.3f} {size / MiB / sha1:7.0f}")
    # Paired by round: the VM's neighbours slow both tools of a round alike.
    pairs = zip(runs["torpub"], runs["mktorrent"], strict=True)
    ratio = statistics.median(m.wall / t.wall for t, m in pairs)
    print(f"  {'torpub speed / mktorrent speed':30} {ratio:7.2f}×  (median of per-round ratios)")
    busy = statistics.median((r.user + r.system) / r.wall for r in runs["torpub"])
    theirs = statistics.median((r.user + r.system) / r.wall for r in runs["mktorrent"])
    print(f"  {'cores busy, torpub / mktorrent':30} {busy:7.2f} / {theirs:.2f}")


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    user: float  # CPU seconds of the process and its threads
    system: float


def in_process(call: Callable[[], object]) -> Run:
    """``call`` in this process: its wall time and the process's CPU time (all threads)."""
    before, start = os.times(), time.perf_counter()
    call()
    wall, after = time.perf_counter() - start, os.times()
    return Run(wall, after.user - before.user, after.system - before.system)


def process(command: Sequence[str]) -> Run:
    """Run ``command`` to the end: its wall time and its own CPU time."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{command[0]} failed ({child.returncode}): {err.decode()[-2000:]}")
    return Run(wall, usage.ru_utime, usage.ru_stime)


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


# --- Part 3: start-up ------------------------------------------------------


def start_up(runs: int) -> None:
    commands = {
        'python -c "import typer"': [sys.executable, "-c", "import typer"],
        "torpub --version": [str(BIN / "torpub"), "--version"],
        "torpub --help": [str(BIN / "torpub"), "--help"],
        "torpub build -h": [str(BIN / "torpub"), "build", "-h"],
    }
    for command in commands.values():
        process(command)  # warm: compiled bytecode, page cache
    times: dict[str, list[Run]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            times[label].append(process(command))
    base = {
        kind: statistics.median(getattr(r, kind) for r in times['python -c "import typer"'])
        for kind in ("wall", "user")
    }
    print(f"\nStart-up, median of {runs} alternating rounds (ratios to import typer)")
    print(f"  {'':26} {'wall ms':>8} {'ratio':>6} {'user ms':>8} {'ratio':>6}")
    for label, measured in times.items():
        wall = statistics.median(r.wall for r in measured)
        user = statistics.median(r.user for r in measured)
        print(
            f"  {label:26} {wall * 1000:8.1f} {wall / base['wall']:5.2f}× "
            f"{user * 1000:8.1f} {user / base['user']:5.2f}×"
        )


def timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


if __name__ == "__main__":
    main()
