"""The offload a swarm gives an overloaded origin, as ratios (not a timed test).

One `torpub seed` with its upload capped (--cap, 4 MiB/s) stands for the
overloaded origin; N = 2, 4, 8 `torpub get` processes start together and fetch a
--size (32 MiB) file through DNS (named on loopback, the origin's port closed,
no mirror) and a real tracker (opentracker), seeding to each other as they go.
Side by side, in the same run, the same N downloads come from the origin alone
over HTTP: nginx, one worker, `limit_rate` = cap / N per connection. All N
start together and fetch the same size, so a fair share of a total cap is
exactly cap / N each and the last finishes at N × size / cap either way; nginx
has no total-bandwidth limit of its own (limit_rate is per connection).

Printed per N, for the seeder with libtorrent's defaults and with
--super-seed (BEP 16): its uploaded bytes per completed download (in file
sizes) and the time until the last download is complete, against HTTP's.
Target: with 8 downloaders at most 0.4 file sizes per download, and the last
download at least 3x sooner than from the capped origin alone.

    .venv/bin/python benchmarks/swarm.py [--size-mib 32] [--cap 4M] [--n 2 4 8]
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
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from client_servers import LOCAL_HOST, LOCAL_ZONE, publish_zone  # noqa: E402
from conftest import start_named  # noqa: E402
from processes import find_binary, free_port  # noqa: E402
from processes import stop as stop_process  # noqa: E402
from swarm_servers import running_opentracker, seeders  # noqa: E402

from torpub.client.session import parse_rate  # noqa: E402
from torpub.format import bencode  # noqa: E402
from torpub.format.names import names_for  # noqa: E402
from torpub.format.records import encode  # noqa: E402

MAIN = "import sys; from torpub.cli import main; sys.exit(main())"
NAME = "release.iso"
TIMEOUT = 900.0
ZONE_TEXT = """\
$TTL 3600
@ IN SOA ns1 hostmaster 2026010101 7200 3600 1209600 300
  IN NS ns1
ns1 IN A 127.0.0.1
"""
NGINX_CONF = """\
{user}
worker_processes 1;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ limit_rate {rate}; }}
    }}
}}
"""


def main() -> None:
    args = parse_args()
    cap = parse_rate(args.cap)
    size = args.size_mib << 20
    with tempfile.TemporaryDirectory(prefix="torpub-swarm-") as tmp:
        work = Path(tmp)
        tree = work / "pub"
        tree.mkdir()
        (tree / NAME).write_bytes(random.Random(0).randbytes(size))
        tracker_port = free_port()
        url_base = f"http://{LOCAL_HOST}:{free_port()}/pub/"  # nothing listens: the origin is down
        flags = ["-u", url_base, "--tracker", f"http://127.0.0.1:{tracker_port}/announce"]
        torpub("build", str(tree), *flags, "-q").check_returncode()
        torrent = (tree / f"{NAME}.torrent").read_bytes()
        zone_file = work / "db.localhost"
        zone_file.write_text(ZONE_TEXT)
        publish_zone(zone_file, [encode(torrent, names_for(url_base + NAME))], LOCAL_ZONE)
        (work / "named").mkdir()
        named = start_named(work / "named", LOCAL_ZONE, zone_file)
        ih = bencode.info_hash(torrent)
        print(
            f"file {args.size_mib} MiB, cap {args.cap}/s; seeder upload per download in file sizes"
        )
        print(
            f"{'N':>3}  {'seeder':<13} {'per download':>12}  {'swarm last':>10}  {'HTTP last':>9}  {'speed-up':>8}"
        )
        try:
            with running_opentracker(tracker_port, [ih], work / "tracker.log") as announce:
                for n in args.n:
                    resolver = f"127.0.0.1:{named.port}"
                    http = http_round(work / f"http{n}", tree, cap, n)
                    for mode, extra in (("plain", ()), ("--super-seed", ("--super-seed",))):
                        swarm = swarm_round(
                            work / f"swarm{n}{mode}",
                            tree,
                            [*flags, *extra],
                            cap,
                            n,
                            announce,
                            ih,
                            resolver,
                            url_base + NAME,
                        )
                        per = swarm.uploaded / size / max(swarm.completed, 1)
                        missing = (
                            "" if swarm.completed == n else f"  ({swarm.completed}/{n} completed)"
                        )
                        print(
                            f"{n:>3}  {mode:<13} {per:>12.2f}  {swarm.last:>9.1f}s  {http:>8.1f}s"
                            f"  {http / swarm.last:>7.1f}x{missing}",
                            flush=True,
                        )
        finally:
            stop_process(named.process)


class SwarmResult:
    def __init__(self, uploaded: int, completed: int, last: float) -> None:
        self.uploaded, self.completed, self.last = uploaded, completed, last


def swarm_round(
    work: Path,
    tree: Path,
    flags: Sequence[str],
    cap: int,
    n: int,
    announce: str,
    ih: str,
    resolver: str,
    url: str,
) -> SwarmResult:
    work.mkdir()
    loopback = ["--listen", "127.0.0.1:0"]
    with ExitStack() as stack:
        seeder = stack.enter_context(
            process(
                work / "seed",
                "seed",
                str(tree),
                *flags,
                *loopback,
                "--no-dht",
                "--json",
                "--upload-limit",
                str(cap),
            )
        )
        wait(lambda: seeders(announce, ih) >= 1, 30, "the seeder's announce")
        outs = [work / f"out{i}" for i in range(n)]
        gets = [
            stack.enter_context(
                process(
                    work / f"get{i}",
                    "get",
                    url,
                    "-o",
                    str(out),
                    "-r",
                    resolver,
                    *loopback,
                    "--no-discovery",
                    "--timeout",
                    "2",
                    "--seed-ratio",
                    "0",
                    "--seed-time",
                    str(TIMEOUT),
                )
            )
            for i, out in enumerate(outs)
        ]
        start = time.monotonic()
        # A get moves the file into place only when it is whole: its arrival is completion.
        done: dict[int, float] = {}
        while len(done) < n and time.monotonic() - start < TIMEOUT:
            for i, out in enumerate(outs):
                if i not in done and (out / NAME).exists():
                    done[i] = time.monotonic() - start
            if any(g.poll() not in (None, 0) for g in gets):
                break
            time.sleep(0.1)
        for get in gets:
            get.send_signal(signal.SIGINT)  # ends their seeding; the files stay
        seeder.send_signal(signal.SIGTERM)
        out, _ = seeder.communicate(timeout=60)
        uploaded = int(json.loads(out)["uploaded"])
    return SwarmResult(uploaded, len(done), max(done.values(), default=TIMEOUT))


def http_round(work: Path, tree: Path, cap: int, n: int) -> float:
    work.mkdir()
    with nginx(work, tree, cap // n) as port:
        start = time.monotonic()
        gets = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    MAIN,
                    "get",
                    f"http://127.0.0.1:{port}/{NAME}",
                    "-o",
                    str(work / f"out{i}"),
                    "-q",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(n)
        ]
        for get in gets:
            get.wait(TIMEOUT)
        return time.monotonic() - start


@contextmanager
def process(directory: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    directory.mkdir()
    with (directory / "stderr").open("wb") as err:
        running = subprocess.Popen(
            [sys.executable, "-c", MAIN, *args],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield running
    finally:
        if running.poll() is None:
            running.kill()
        running.wait(30)


@contextmanager
def nginx(directory: Path, root: Path, rate: int) -> Iterator[int]:
    port = free_port()
    conf = directory / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(NGINX_CONF.format(user=user, dir=directory, port=port, root=root, rate=rate))
    running = subprocess.Popen(
        [find_binary("nginx"), "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(lambda: listening(port), 15, "nginx")
        yield port
    finally:
        running.terminate()
        running.wait(10)


def listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def wait(ready: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.1)


def torpub(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", MAIN, *args], check=False)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=32, help="file size in MiB (32)")
    parser.add_argument("--cap", default="4M", help="the seeder's and origin's upload cap (4M)")
    parser.add_argument("--n", type=int, nargs="+", default=[2, 4, 8], help="downloaders (2 4 8)")
    return parser.parse_args()


if __name__ == "__main__":
    main()
