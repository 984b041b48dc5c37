"""All of a torrent's chunk queries, a bounded number in flight, over one UDP socket.

Each answer that arrives sends the next query from the same callback: no task, no
new socket and no message objects per chunk, so the client's own time stays small
beside the network's (``benchmarks/resolve.py``). The socket is connected to the
resolver that answered the head, so datagrams from anywhere else never reach it;
answers are matched by ID and question. Whatever this path does not settle at the
first try (a timeout, an error code, anything but a plain TXT answer) is asked
again through dnspython's resolver, with its retries and resolver rotation; a
truncated answer is asked again over TCP straight away.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from torpub.client.dnswire import TxtAnswer, is_truncated, read_txt_answer, txt_query

Address = tuple[str, int]
# A name to ask for, as text (for the fallback) and in wire form (for the socket).
Question = tuple[str, bytes]
# The general way to ask for one name (over TCP if told): None when the name holds
# no TXT records.
Fallback = Callable[[str, bool], Awaitable[TxtAnswer | None]]
# Told each answer as it arrives; raises to stop the fetch (see resolve._Budget).
Collect = Callable[[int, TxtAnswer | None], None]


async def fetch_chunks(
    questions: Sequence[Question],
    server: Address | None,
    fallback: Fallback,
    collect: Collect,
    width: int,
    timeout: float,
    udp_size: int,
) -> None:
    """Ask for every name, at most ``width`` at once, first over UDP to ``server`` (if
    any) and then through ``fallback``; ``collect`` hears every answer by index."""
    loop = asyncio.get_running_loop()
    window = _Window(questions, fallback, collect, max(1, width), timeout, udp_size)
    transport = None
    if server is not None:
        transport, _ = await loop.create_datagram_endpoint(lambda: window, remote_addr=server)
    try:
        window.start()
        await window.done
    finally:
        window.close()
        if transport is not None:
            transport.close()


class _Window(asyncio.DatagramProtocol):
    def __init__(
        self,
        questions: Sequence[Question],
        fallback: Fallback,
        collect: Collect,
        width: int,
        timeout: float,
        udp_size: int,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.questions = questions
        self.fallback = fallback
        self.collect = collect
        self.width = width
        self.timeout = timeout
        self.udp_size = udp_size
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, tuple[int, bytes, asyncio.TimerHandle]] = {}
        self.asking: set[asyncio.Task[None]] = set()  # questions handed to the fallback
        self.next = 0  # the first index not yet asked for
        self.settled = 0  # indices answered, by either way

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def start(self) -> None:
        if not self.questions:
            self.done.set_result(None)
        self._refill()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        waiting = self.waiting.pop(int.from_bytes(data[:2], "big"), None)
        if waiting is None:
            return  # late, duplicate or stray: nothing asked for it
        index, wire_name, timer = waiting
        timer.cancel()
        answer = read_txt_answer(data, wire_name)
        if answer is None:
            self._ask_again(index, tcp=is_truncated(data))
        else:
            self._settle(index, answer)

    def error_received(self, exc: Exception) -> None:
        # ICMP unreachable on the connected socket: nothing sent that way will be
        # answered, so everything in flight, and everything after, goes the long way.
        self.transport = None
        for query in list(self.waiting):
            index, _, timer = self.waiting.pop(query)
            timer.cancel()
            self._ask_again(index)

    def _refill(self) -> None:
        while (
            self.next - self.settled < self.width
            and self.next < len(self.questions)
            and not self.done.done()
        ):
            index = self.next
            self.next += 1
            if self.transport is None:
                self._ask_again(index)
            else:
                self._send(index)

    def _send(self, index: int) -> None:
        assert self.transport is not None
        query = secrets.randbits(16)
        while query in self.waiting:
            query = secrets.randbits(16)
        wire_name = self.questions[index][1]
        timer = self.loop.call_later(self.timeout, self._timed_out, query)
        self.waiting[query] = (index, wire_name, timer)
        self.transport.sendto(txt_query(query, wire_name, self.udp_size))

    def _timed_out(self, query: int) -> None:
        waiting = self.waiting.pop(query, None)
        if waiting is not None:
            self._ask_again(waiting[0])

    def _ask_again(self, index: int, tcp: bool = False) -> None:
        task = self.loop.create_task(self._fall_back(index, tcp))
        self.asking.add(task)
        task.add_done_callback(self.asking.discard)

    async def _fall_back(self, index: int, tcp: bool) -> None:
        try:
            answer = await self.fallback(self.questions[index][0], tcp)
        except Exception as e:  # the resolver's verdict ends the fetch, as its caller sees
            if not self.done.done():
                self.done.set_exception(e)
            return
        self._settle(index, answer)

    def _settle(self, index: int, answer: TxtAnswer | None) -> None:
        if self.done.done():
            return
        try:
            self.collect(index, answer)
        except Exception as e:
            self.done.set_exception(e)
            return
        self.settled += 1
        if self.settled == len(self.questions):
            self.done.set_result(None)
        else:
            self._refill()

    def close(self) -> None:
        for _, _, timer in self.waiting.values():
            timer.cancel()
        self.waiting.clear()
        for task in self.asking:
            task.cancel()
