"""The life of a server a test runs: find its binary, a free port, start it, wait
until it is ready, stop it (terminate, then kill). Registered as a pytest plugin
by conftest, so every fixture starts its servers the same way.

- ``processes``: a :class:`Processes` whose servers stop after the test; module-
  scoped fixtures use ``with Processes() as processes:`` instead.
- :func:`wait_until`: the one poll loop (a predicate, a timeout, a message).
- :class:`Exited`: the process ended while starting; its log says why (callers
  retry when another process took the probed port first).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import dns.exception
import httpx
import pytest

STARTUP_TIMEOUT = 20.0  # under load: ~7 engineers share 2 cores
STOP_TIMEOUT = 10.0
POLL = 0.05
# What a readiness probe raises while the server is not listening yet.
NOT_YET = (OSError, dns.exception.DNSException, httpx.TransportError)
T = TypeVar("T")


def find_binary(name: str, package: str = "bind9, bind9-utils") -> str:
    """The path of a server binary; a missing one fails the test loudly, as these
    tests exist to run it."""
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail(f"{name} is not installed (Debian: {package}); these tests run it")
    return found


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (named needs both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    pytest.fail("no free port on 127.0.0.1")


def wait_until(
    predicate: Callable[[], bool],
    what: str,
    timeout: float = 10.0,
    *,
    log: Callable[[], str] = lambda: "",
) -> None:
    """Poll ``predicate`` until it holds; fail the test with ``what`` and the log
    after ``timeout`` seconds. A predicate raising :data:`NOT_YET` has not held."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except NOT_YET:
            pass
        if time.monotonic() > deadline:
            text = log()
            pytest.fail(
                f"timed out after {timeout} s waiting for {what}" + (f":\n{text}" if text else "")
            )
        time.sleep(POLL)


class Exited(Exception):
    """The server stopped while starting; the message is its log."""


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate, wait, and kill when it will not go."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def read_logs(*paths: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in paths if p.exists())


def start_process(
    command: Sequence[str],
    *,
    what: str,
    ready: Callable[[], bool],
    output: Path,
    logs: Sequence[Path] = (),
    timeout: float = STARTUP_TIMEOUT,
) -> subprocess.Popen[bytes]:
    """Run ``command`` (stdout and stderr to ``output``) and wait until ``ready``.
    :class:`Exited` when it ends first; the test fails when it is not ready in time,
    with ``output`` and ``logs`` in the message. The caller stops it (:func:`stop`)."""
    with output.open("wb") as out:
        process = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )

    def log() -> str:
        return read_logs(output, *logs)

    def up() -> bool:
        if process.poll() is not None:
            raise Exited(log())
        return ready()

    try:
        wait_until(up, f"{what} to serve", timeout, log=log)
    except BaseException:
        stop(process)
        raise
    return process


def on_free_port(start: Callable[[], T], what: str, attempts: int = 3) -> T:
    """``start()`` again when the server found its probed port taken by another
    process in the meantime; any other early exit fails the test with its log."""
    for _attempt in range(attempts):
        try:
            return start()
        except Exited as e:
            if "in use" not in str(e):
                pytest.fail(f"{what} exited while starting:\n{e}")
    pytest.fail(f"{what} could not bind a free port in {attempts} attempts")


class Processes:
    """Servers started by one test or module, stopped together."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        command: Sequence[str],
        *,
        what: str,
        ready: Callable[[], bool],
        output: Path,
        logs: Sequence[Path] = (),
        timeout: float = STARTUP_TIMEOUT,
    ) -> subprocess.Popen[bytes]:
        """:func:`start_process`, stopped with the others."""
        process = start_process(
            command, what=what, ready=ready, output=output, logs=logs, timeout=timeout
        )
        self._started.append(process)
        return process

    def close(self) -> None:
        for process in self._started:
            stop(process)
        self._started.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture
def processes() -> Iterator[Processes]:
    with Processes() as started:
        yield started
