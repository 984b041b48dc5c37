"""How `torpub sync` into a BIND zone file grows with the release, against octoDNS.

For each size (artifacts; each one is a head and a chunk record) it builds a
tree of tiny files (64 bytes: the build is scanning, the cache and writing
torrents, not hashing), syncs it once, then times three whole processes: a sync
with no change, one with one artifact changed and one with one added. octoDNS
does the same job side by side: `torpub export --format octodns` writes the
records as YAML (not timed), and `octodns-sync --doit` applies them through
octodns-bind's ZoneFileProvider (timed). Wall time and peak memory (max RSS)
per process, and the ratio.

    .venv/bin/python benchmarks/scale.py [--sizes 1000,10000,100000] [--keep]

The first sync of 100,000 artifacts writes 100,000 torrents (each fsynced) and
takes minutes; --keep keeps the trees, torrents and caches for the next run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
DATA = Path(tempfile.gettempdir()) / "torpub-bench-scale"
BASE_URL = "https://dl.example.com/pub/"
ZONE = "example.com."
ZONE_TEXT = f"""$ORIGIN {ZONE}
$TTL 3600
@ IN SOA ns1.example.com. hostmaster.example.com. ( 2024010100 3600 600 86400 300 )
@ IN NS ns1.example.com.
ns1 IN A 192.0.2.1
"""
OCTODNS_CONFIG = """providers:
  config:
    class: octodns.provider.yaml.YamlProvider
    directory: {yaml}
    enforce_order: false
  zonefile:
    class: octodns_bind.ZoneFileProvider
    directory: {zones}
zones:
  {zone}:
    sources: [config]
    targets: [zonefile]
"""


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="artifact counts (1000,10000,100000)"
    )
    parser.add_argument("--no-octodns", action="store_true", help="torpub only")
    parser.add_argument("--keep", action="store_true", help=f"keep {DATA} for the next run")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'artifacts':>9} {'step':<10} {'torpub':>16} {'octoDNS':>16} {'ratio':>6}")
    try:
        for n in sizes:
            bench(n, octodns=not args.no_octodns)
    finally:
        if not args.keep:
            shutil.rmtree(DATA, ignore_errors=True)


def bench(n: int, *, octodns: bool) -> None:
    top = DATA / str(n)
    tree, zones, yaml = top / "tree", top / "zones", top / "yaml"
    if not tree.exists():
        for i in range(n):
            write_artifact(tree, i)
    zones.mkdir(parents=True, exist_ok=True)
    yaml.mkdir(exist_ok=True)
    zone_file = zones / ZONE
    zone_file.write_text(ZONE_TEXT)
    octo_zones = top / "octo-zones"
    octo_zones.mkdir(exist_ok=True)
    (octo_zones / ZONE).write_text(ZONE_TEXT)
    config = top / "octodns.yaml"
    config.write_text(OCTODNS_CONFIG.format(yaml=yaml, zones=octo_zones, zone=ZONE))

    first = run_torpub(tree, zone_file)
    report(n, "first", first, run_octodns(tree, yaml, config) if octodns else None)
    report(n, "no change", run_torpub(tree, zone_file), run_octodns(tree, yaml, config, octodns))
    (tree / "d000" / "f000000.bin").write_bytes(b"changed " * 8)
    report(n, "1 changed", run_torpub(tree, zone_file), run_octodns(tree, yaml, config, octodns))
    write_artifact(tree, n)
    report(n, "1 added", run_torpub(tree, zone_file), run_octodns(tree, yaml, config, octodns))
    write_artifact(tree, 0)  # as it was, for a --keep rerun
    (tree / f"d{n // 1000:03d}" / f"f{n:06d}.bin").unlink()


def write_artifact(tree: Path, i: int) -> None:
    directory = tree / f"d{i // 1000:03d}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"f{i:06d}.bin").write_bytes(i.to_bytes(8, "big") * 8)


def run_torpub(tree: Path, zone_file: Path) -> Run:
    sync = [str(BIN / "torpub"), "sync", str(tree), "-u", BASE_URL, "-p", "bind"]
    return timed([*sync, "--zone-file", str(zone_file), "-q"])


def run_octodns(tree: Path, yaml: Path, config: Path, enabled: bool = True) -> Run | None:
    if not enabled:
        return None
    export = [str(BIN / "torpub"), "export", "--format", "octodns", str(tree), "-u", BASE_URL]
    timed([*export, "-z", ZONE, "--to", str(yaml), "-q"])  # feeds octoDNS; not its time
    return timed([str(BIN / "octodns-sync"), "--config-file", str(config), "--doit", "--quiet"])


def timed(command: list[str]) -> Run:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{command[0]} failed ({process.returncode}): {err.decode()[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024)


def report(n: int, step: str, torpub: Run, octodns: Run | None) -> None:
    theirs = f"{octodns.seconds:7.2f} s {octodns.peak_mib:4.0f} MiB" if octodns else "-"
    ratio = f"{octodns.seconds / torpub.seconds:5.1f}×" if octodns else ""
    ours = f"{torpub.seconds:7.2f} s {torpub.peak_mib:4.0f} MiB"
    print(f"{n:>9} {step:<10} {ours:>16} {theirs:>16} {ratio:>6}", flush=True)


if __name__ == "__main__":
    main()
