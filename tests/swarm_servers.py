"""A BitTorrent tracker and torpub processes for the swarm tests, on 127.0.0.1.

- ``opentracker(port, info_hashes)``: Debian's opentracker on ``port`` (TCP and
  UDP), its whitelist holding ``info_hashes``; returns the announce URL. The port
  is chosen first (``free_port()``) because the torrents name the tracker.
- ``seeders(announce, info_hash)``: how many seeders the tracker knows of.
- ``torpub_process(*args)``: a real ``torpub`` process; stopped at the end of the test.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from processes import find_binary

from torpub.format import bencode

STARTUP_TIMEOUT = 15.0
MAIN = "import sys; from torpub.cli import main; sys.exit(main())"

StartTracker = Callable[[int, Sequence[str]], str]


@contextmanager
def running_opentracker(port: int, info_hashes: Sequence[str], log: Path) -> Iterator[str]:
    """opentracker on 127.0.0.1:``port``; yields the announce URL. Also used by
    benchmarks/swarm.py, outside pytest."""
    # opentracker refuses to run as root: it drops to nobody and chroots to -d,
    # so its directory must be one nobody may read (pytest's are private),
    # and the whitelist (one hash a line) is named as seen from inside it.
    directory = Path(tempfile.mkdtemp(prefix="opentracker-"))
    directory.chmod(0o755)
    whitelist = directory / "whitelist"
    whitelist.write_text("".join(f"{ih}\n" for ih in info_hashes))
    whitelist.chmod(0o644)
    command = [find_binary("opentracker"), "-i", "127.0.0.1", "-p", str(port)]
    command += ["-P", str(port), "-w", "/whitelist", "-d", str(directory)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_tcp(port, process)
        time.sleep(1.0)  # it reads the whitelist after it starts listening
        yield f"http://127.0.0.1:{port}/announce"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def opentracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartTracker]:
    with ExitStack() as running:

        def start(port: int, info_hashes: Sequence[str]) -> str:
            log = tmp_path_factory.mktemp("opentracker") / "opentracker.log"
            return running.enter_context(running_opentracker(port, info_hashes, log))

        yield start


def seeders(announce: str, info_hash: str) -> int:
    """The tracker's scrape (BEP 48): seeders of the torrent it knows of."""
    scrape = announce.replace("/announce", "/scrape")
    query = "info_hash=" + quote(bytes.fromhex(info_hash), safe="")
    answer = bencode.decode(httpx.get(f"{scrape}?{query}", timeout=2).content)
    files = answer.get(b"files", {})
    return int(files.get(bytes.fromhex(info_hash), {}).get(b"complete", 0))


def _wait_for_tcp(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"opentracker exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    raise RuntimeError(f"opentracker did not listen within {STARTUP_TIMEOUT} s")


@dataclass
class TorpubProcess:
    """A running ``torpub``; its stdout and stderr go to files, read as text."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    def out(self) -> str:
        return self.stdout.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """The first stderr line holding ``text``, once the process has written it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.err().splitlines():
                if text in line:
                    return line
            if self.process.poll() is not None:
                pytest.fail(f"torpub exited ({self.process.returncode}):\n{self.err()}")
            time.sleep(0.05)
        pytest.fail(f"torpub did not say {text!r} within {timeout} s:\n{self.err()}")

    def finish(self, timeout: float = 60.0) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"torpub did not exit within {timeout} s:\n{self.err()}")


StartTorpub = Callable[..., TorpubProcess]


@pytest.fixture
def torpub_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartTorpub]:
    started: list[TorpubProcess] = []

    def start(*args: str, cwd: Path | None = None) -> TorpubProcess:
        directory = tmp_path_factory.mktemp("torpub")
        out, err = directory / "stdout", directory / "stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", MAIN, *args],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                cwd=cwd,
            )
        started.append(TorpubProcess(process, out, err))
        return started[-1]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)
