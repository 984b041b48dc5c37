"""The chunk window: a bounded number of queries in flight over one socket, and
every question it cannot settle handed to the general resolver."""

from __future__ import annotations

import asyncio
import heapq
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from client_servers import HOST, ZONE, closed_port, publish_zone, release

import torpub
from torpub.client.chunkwindow import Address, fetch_chunks
from torpub.client.dnswire import TxtAnswer, child, qname
from torpub.client.resolve import Nameserver, ResolveOptions
from torpub.format.names import names_for
from torpub.format.records import Encoding, encode

if TYPE_CHECKING:
    from conftest import StartNamed

URL = f"https://{HOST}/pub/window.bin"
PARENT = f"0123456789abcdef.{names_for(URL).head_name}"
QUESTIONS = [(f"{i}.{PARENT}", child(str(i), qname(PARENT))) for i in range(20)]


@dataclass
class Heard:
    """What the general resolver was asked, by the window under test."""

    names: list[str]

    async def fallback(self, name: str, tcp: bool) -> TxtAnswer:
        assert not tcp
        self.names.append(name)
        return TxtAnswer(((name.encode(),),), 60, False)


def fetch(server: Address, timeout: float = 5.0) -> tuple[dict[int, TxtAnswer | None], Heard]:
    found: dict[int, TxtAnswer | None] = {}
    heard = Heard([])

    def collect(index: int, answer: TxtAnswer | None) -> None:
        found[index] = answer

    asyncio.run(fetch_chunks(QUESTIONS, server, heard.fallback, collect, 8, timeout, 1232))
    return found, heard


def test_an_unreachable_server_sends_everything_the_long_way_at_once() -> None:
    started = time.monotonic()
    found, heard = fetch(("127.0.0.1", closed_port()))
    assert time.monotonic() - started < 2.0, "ICMP unreachable, not the 5 s timeout"
    assert sorted(heard.names) == sorted(name for name, _ in QUESTIONS)
    assert found == {
        i: TxtAnswer(((name.encode(),),), 60, False) for i, (name, _) in enumerate(QUESTIONS)
    }


@contextmanager
def udp_server(reply: bool) -> Iterator[Address]:
    """A socket that hears queries and either ignores them or sends each back
    unchanged: a query, not an answer, so nothing the window may take."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            if select.select([sock], [], [], 0.05)[0]:
                data, peer = sock.recvfrom(4096)
                if reply:
                    sock.sendto(data, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()
    finally:
        stop.set()
        thread.join()
        sock.close()


def test_a_silent_server_times_out_into_the_resolver() -> None:
    with udp_server(reply=False) as server:
        started = time.monotonic()
        found, heard = fetch(server, timeout=0.2)
    assert len(heard.names) == len(QUESTIONS) == len(found)
    # 20 questions, 8 at a time, each waiting 0.2 s: three rounds of timeouts.
    assert 0.5 < time.monotonic() - started < 3.0


def test_an_answer_that_is_not_an_answer_goes_to_the_resolver() -> None:
    with udp_server(reply=True) as server:
        started = time.monotonic()
        found, heard = fetch(server)
    assert len(heard.names) == len(QUESTIONS) == len(found)
    assert time.monotonic() - started < 2.0, "handed over at once, not after the timeout"


class DelayingRelay:
    """A UDP relay on loopback that holds each query for ``delay`` before passing
    it to named, and counts how many were in flight at once."""

    def __init__(self, upstream: int, delay: float) -> None:
        self.upstream = ("127.0.0.1", upstream)
        self.delay = delay
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(self.upstream)
        self.stop = threading.Event()
        self.in_flight = 0
        self.most_in_flight = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    @property
    def port(self) -> int:
        port: int = self.front.getsockname()[1]
        return port

    def run(self) -> None:
        held: list[tuple[float, int, bytes]] = []
        client: tuple[str, int] | None = None
        while not self.stop.is_set():
            wait = max(0.0, held[0][0] - time.monotonic()) if held else 0.05
            for sock in select.select([self.front, self.back], [], [], wait)[0]:
                data, peer = sock.recvfrom(65535)
                if sock is self.front:
                    client = peer
                    self.in_flight += 1
                    self.most_in_flight = max(self.most_in_flight, self.in_flight)
                    heapq.heappush(held, (time.monotonic() + self.delay, id(data), data))
                elif client is not None:
                    self.in_flight -= 1
                    self.front.sendto(data, client)
            while held and held[0][0] <= time.monotonic():
                self.back.send(heapq.heappop(held)[2])

    def __enter__(self) -> DelayingRelay:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()
        self.front.close()
        self.back.close()


def test_at_most_the_given_number_of_queries_are_in_flight(
    tmp_path: Path, named: StartNamed, zone_file: Path
) -> None:
    torrent = release(tmp_path / "release", 6_000_000, piece_size=16384)[1]
    records = encode(torrent, names_for(URL))
    assert len(records.chunks) == 11
    publish_zone(zone_file, [records])
    server = named(ZONE, zone_file, "querylog yes;")
    with DelayingRelay(server.port, 0.05) as relay:
        options = ResolveOptions(nameservers=(Nameserver("127.0.0.1", relay.port),), concurrency=4)
        assert torpub.resolve(URL, options).payload == torrent
    assert relay.most_in_flight == 4
    log = server.log()
    for i in range(11):  # each chunk asked exactly once: nothing fell back
        assert len(re.findall(rf"query: {i}\.{records.head.chunk_id}\.", log)) == 1


def test_a_truncated_chunk_is_asked_again_over_tcp(
    tmp_path: Path, named: StartNamed, zone_file: Path
) -> None:
    """Chunks cut for a provider that allows 4000 characters do not fit in 1232
    octets: named truncates them over UDP and the resolver asks again, at once
    over TCP."""
    torrent = release(tmp_path / "release", 6_000_000, piece_size=16384)[1]
    records = encode(torrent, names_for(URL), Encoding(chunk_size=4000))
    publish_zone(zone_file, [records])
    server = named(ZONE, zone_file, "querylog yes;")
    options = replace(ResolveOptions(), nameservers=(Nameserver("127.0.0.1", server.port),))
    assert torpub.resolve(URL, options).payload == torrent
    chunk_queries = re.findall(
        rf"query: 0\.{records.head.chunk_id}\.\S+ IN TXT (\S+)", server.log()
    )
    assert ["T" in flags for flags in chunk_queries] == [False, True], chunk_queries
