"""One `torpub seed` holding a mirror's tree: 10,000 torrents in one session.

Builds the tree once with `torpub build` (which writes the build cache), then
starts `torpub seed` on it and measures, for the seed process: the time until
every torrent is in the session, what the build step hashed (nothing: the cache
vouches for every file, and libtorrent adds them in seed mode), the peak
resident memory (VmHWM) and the CPU time. The same start-up is compared with
the `torpub build` that hashed the tree, as a ratio. Target: at most 500 MiB
peak memory, and no file hashed again.

    .venv/bin/python benchmarks/seed_scale.py [--files 10000] [--size 16384]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAIN = "import sys; from torpub.cli import main; sys.exit(main())"
TARGET_MIB = 500


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="torpub-seed-scale-") as tmp:
        tree = Path(tmp) / "mirror"
        make_tree(tree, args.files, args.size)
        flags = ["-u", "https://mirror.example.org/pub/"]
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", MAIN, "build", str(tree), *flags, "-q"], check=True)
        build = time.monotonic() - start

        err = Path(tmp) / "seed.err"
        start = time.monotonic()
        command = [sys.executable, "-c", MAIN, "seed", str(tree), *flags, "-v", "--json"]
        with err.open("wb") as log:
            seed = subprocess.Popen(
                [*command, "--listen", "127.0.0.1:0", "--no-dht"],
                stdout=subprocess.PIPE,
                stderr=log,
            )
        ready = f"seeding {args.files} torrents"
        while ready not in err.read_text():
            if seed.poll() is not None or time.monotonic() - start > 600:
                sys.exit(f"torpub seed did not start:\n{err.read_text()}")
            time.sleep(0.05)
        startup = time.monotonic() - start
        time.sleep(args.settle)  # a few polls of 10,000 torrents' figures
        peak, cpu = memory_and_cpu(seed.pid)
        seed.send_signal(signal.SIGTERM)
        out, _ = seed.communicate(timeout=120)
        summary = json.loads(out)
        hashed = next(line for line in err.read_text().splitlines() if "hashed" in line)

    print(f"{args.files} torrents of {args.size} bytes, one `torpub seed` session")
    print(f"  build (hashes every file):      {build:7.1f} s")
    print(f"  seed start-up (until all added): {startup:7.1f} s  ({build / startup:.1f}x faster)")
    print(f"  seed's build step:              {hashed}")
    print(f"  peak memory (VmHWM):            {peak / 1024:7.1f} MiB  (target <= {TARGET_MIB})")
    print(f"  CPU time until stopped:         {cpu:7.1f} s")
    print(f"  torrents in the JSON summary:   {len(summary['torrents'])}")


def make_tree(tree: Path, files: int, size: int) -> None:
    rng = random.Random(0)
    for i in range(files):
        directory = tree / f"pool/{i % 100:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"package-{i:05d}.deb").write_bytes(rng.randbytes(size))


def memory_and_cpu(pid: int) -> tuple[int, float]:
    """Peak resident KiB (VmHWM) and user+system CPU seconds of a live process."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return peak, ticks / os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="torrents (10000)")
    parser.add_argument("--size", type=int, default=16_384, help="bytes per file (16384)")
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds seeding before measuring"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
