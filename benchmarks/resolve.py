"""How many round trips `torpub resolve` takes for a torrent of 64 chunks.

A real named serves a zone that torpub's BIND backend wrote; every query reaches
it through a UDP proxy on loopback that holds each query for --delay (20 ms), as
a distant resolver would. The same records are fetched concurrently (the client's
default, 32 in flight) and strictly one after another, alternately, in one run.
Wall time is printed in round trips of the proxied path (the sequential run's time
divided by its 65 queries). Target: at most 3 round trips (head, then 2 × 32
chunks); sequential needs 65.

    .venv/bin/python benchmarks/resolve.py [--delay 0.02] [--rounds 5] [--chunks 64]
        [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dns.message
import dns.query

from torpub.client.resolve import DEFAULT_CONCURRENCY, Nameserver, ResolveOptions, resolve
from torpub.format.names import names_for
from torpub.format.records import chunk_count, encode
from torpub.provider import Target
from torpub.publish.plan import build_plan
from torpub_providers.bind import BindProvider

ZONE = "example.com."
URL = "https://dl.example.com/pub/big-release.iso"
ZONE_TEXT = """\
$TTL 3600
@ IN SOA ns1 hostmaster 2026010101 7200 3600 1209600 300
  IN NS ns1
ns1 IN A 127.0.0.1
"""


def main() -> None:
    args = parse_args()
    named = shutil.which("named") or "/usr/sbin/named"
    with tempfile.TemporaryDirectory(prefix="torpub-bench-") as tmp:
        directory = Path(tmp)
        payload = torrent_of_chunks(args.chunks)
        zone_file = directory / "db.example.com"
        zone_file.write_text(ZONE_TEXT)
        publish(zone_file, payload)
        with (
            named_server(named, directory, zone_file) as port,
            delaying_proxy(port, args.delay) as proxy,
        ):
            compare(proxy, payload, args.rounds, args.chunks, args.concurrency)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=0.02, help="seconds added per query")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each way (5)")
    parser.add_argument("--chunks", type=int, default=64, help="chunks in the torrent (64)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"queries in flight ({DEFAULT_CONCURRENCY}, the client's default)",
    )
    return parser.parse_args()


def compare(proxy: int, payload: bytes, rounds: int, chunks: int, width: int) -> None:
    concurrent: list[Run] = []
    sequential: list[Run] = []
    for _ in range(rounds):
        concurrent.append(fetch(proxy, payload, concurrency=width))
        sequential.append(fetch(proxy, payload, concurrency=1))
    queries = 1 + chunks
    slow = statistics.median(r.wall for r in sequential)
    fast = statistics.median(r.wall for r in concurrent)
    cpu = statistics.median(r.cpu for r in concurrent)
    trip = slow / queries
    waves = 1 + -(-chunks // width)
    print(f"torrent: {len(payload)} bytes in {chunks} chunks; {queries} queries per fetch")
    print(f"round trip through the proxy: {trip * 1000:.1f} ms (sequential time / {queries})")
    print(f"concurrent ({width} in flight): {fast * 1000:7.1f} ms = {fast / trip:5.2f} round trips")
    print(f"sequential (1 in flight):  {slow * 1000:7.1f} ms = {slow / trip:5.2f} round trips")
    print(f"speed-up: {slow / fast:.1f}x")
    print(f"client CPU per concurrent fetch: {cpu * 1000:.1f} ms ({cpu / trip:.2f} round trips)")
    print(
        f"floor at {width} in flight: 1 head + {waves - 1} waves of chunks = {waves} round trips;"
        f" measured {fast / trip:.2f} ({fast / trip - waves:+.2f}: time in the client, the"
        " proxy and named)"
    )
    verdict = "met" if fast / trip <= 3 else "missed"
    print(f"target <= 3 round trips: {verdict} ({fast / trip:.2f})")


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float


def fetch(proxy: int, payload: bytes, concurrency: int) -> Run:
    options = ResolveOptions(
        nameservers=(Nameserver("127.0.0.1", proxy),), concurrency=concurrency, timeout=2.0
    )
    started, cpu = time.perf_counter(), time.process_time()
    resolved = resolve(URL, options)
    run = Run(time.perf_counter() - started, time.process_time() - cpu)
    if resolved.payload != payload:
        sys.exit("the resolved torrent differs from the published one")
    return run


def torrent_of_chunks(chunks: int) -> bytes:
    """A valid single-file torrent whose records take exactly ``chunks`` chunks."""
    pieces = 1
    while chunk_count(len(torrent(pieces)), 900) < chunks:
        pieces += 1
    return torrent(pieces)


def torrent(pieces: int) -> bytes:
    rng = random.Random(pieces)
    info = {
        b"length": pieces * (1 << 20),
        b"name": b"big-release.iso",
        b"piece length": 1 << 20,
        b"pieces": rng.randbytes(20 * pieces),
    }
    return bencode({b"info": info})


def bencode(value: object) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, dict):
        return b"d" + b"".join(bencode(k) + bencode(value[k]) for k in sorted(value)) + b"e"
    raise TypeError(type(value))


def publish(zone_file: Path, payload: bytes) -> None:
    provider = BindProvider(
        Target("bind", ZONE, {"zone_file": str(zone_file)}), today=lambda: dt.date(2026, 1, 2)
    )
    provider.apply(build_plan(ZONE, [encode(payload, names_for(URL))], provider.records()))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        port: int = udp.getsockname()[1]
        return port


@contextmanager
def named_server(named: str, directory: Path, zone_file: Path) -> Iterator[int]:
    port = free_port()
    conf = directory / "named.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            options {{
                directory "{directory}";
                pid-file "{directory / "named.pid"}";
                session-keyfile "{directory / "session.key"}";
                listen-on port {port} {{ 127.0.0.1; }};
                listen-on-v6 {{ none; }};
                recursion no;
                notify no;
            }};
            zone "{ZONE}" {{ type primary; file "{zone_file}"; }};
            """
        )
    )
    log = (directory / "named.log").open("wb")
    process = subprocess.Popen([named, "-g", "-n", "1", "-c", str(conf)], stdout=log, stderr=log)
    try:
        wait_for(lambda: answers(port), "named", process)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def answers(port: int) -> bool:
    try:
        dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", timeout=0.2, port=port)
    except (OSError, dns.exception.DNSException):
        return False
    return True


def wait_for(ready: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{what} did not start")
        time.sleep(0.05)


class _Front(asyncio.DatagramProtocol):
    """Holds each query for ``delay``, then relays it upstream over one socket; the
    answer goes back to whoever asked. Timers and one socket, not a task and a socket
    per query, so the proxy costs little CPU on a machine it shares with the client."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.transport: asyncio.DatagramTransport | None = None
        self.back: asyncio.DatagramTransport | None = None
        self.waiting: dict[bytes, tuple[str | object, int]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.waiting[_query_key(data)] = addr
        assert self.back is not None
        asyncio.get_running_loop().call_later(self.delay, self.back.sendto, data)

    def answer(self, data: bytes) -> None:
        client = self.waiting.pop(_query_key(data), None)
        if client is not None and self.transport is not None:
            self.transport.sendto(data, client)


class _Back(asyncio.DatagramProtocol):
    def __init__(self, front: _Front) -> None:
        self.front = front

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.front.answer(data)


def _query_key(packet: bytes) -> bytes:
    """The message ID and the question: what pairs an answer with its query."""
    end = 12
    while end < len(packet) and packet[end]:
        end += packet[end] + 1
    return packet[:2] + packet[12 : end + 5].lower()


@contextmanager
def delaying_proxy(upstream: int, delay: float) -> Iterator[int]:
    """A UDP proxy in its own process, so that it delays queries in parallel as a
    network would and takes no CPU time (or GIL) from the client being measured."""
    port = free_port()
    process = multiprocessing.Process(target=run_proxy, args=(port, upstream, delay), daemon=True)
    process.start()
    try:
        deadline = time.monotonic() + 10
        while not answers(port):
            if time.monotonic() > deadline:
                sys.exit("the proxy did not start")
        yield port
    finally:
        process.terminate()
        process.join(5)


def run_proxy(port: int, upstream: int, delay: float) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        front = _Front(delay)
        # The upstream side first: the front may hear a query as soon as it exists.
        front.back, _ = await loop.create_datagram_endpoint(
            lambda: _Back(front), remote_addr=("127.0.0.1", upstream)
        )
        await loop.create_datagram_endpoint(lambda: front, local_addr=("127.0.0.1", port))
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
