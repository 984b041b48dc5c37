"""The process-lifecycle helper every server fixture uses: start, wait until ready,
stop with a kill fallback, and the log when something goes wrong."""

import os
import sys
from pathlib import Path

import pytest
from processes import Exited, Processes, on_free_port, start_process, stop

# A server that ignores SIGTERM, as a wedged one would.
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(600)"


def test_a_server_is_ready_once_its_predicate_holds_and_stops_even_when_stubborn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "out.log"
    process = start_process(
        [sys.executable, "-c", STUBBORN],
        what="stubborn",
        ready=lambda: "up" in output.read_text(),
        output=output,
    )
    assert process.poll() is None
    monkeypatch.setattr("processes.STOP_TIMEOUT", 0.5)
    stop(process)
    assert process.returncode == -9  # killed after terminate was ignored


def test_a_server_that_exits_while_starting_raises_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(Exited, match="bind: Address already in use"):
        start_process(
            [sys.executable, "-c", "print('bind: Address already in use')"],
            what="clash",
            ready=lambda: False,
            output=tmp_path / "out.log",
        )


def test_a_server_never_ready_fails_the_test_with_its_log_and_is_stopped(tmp_path: Path) -> None:
    output = tmp_path / "out.log"
    slow = "import os, time; print('still loading', os.getpid(), flush=True); time.sleep(600)"
    with Processes() as processes, pytest.raises(pytest.fail.Exception) as failed:
        processes.start(
            [sys.executable, "-c", slow],
            what="slow",
            ready=lambda: False,
            output=output,
            timeout=0.5,
        )
    assert "waiting for slow to serve" in str(failed.value)
    assert "still loading" in str(failed.value)
    pid = int(output.read_text().split()[-1])
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(pid, 0)


def test_on_free_port_retries_a_port_clash_only(tmp_path: Path) -> None:
    clashes = iter(["Address already in use", "Address already in use"])

    def start() -> str:
        reason = next(clashes, None)
        if reason:
            raise Exited(reason)
        return "served"

    assert on_free_port(start, "server") == "served"

    def broken() -> str:
        raise Exited("syntax error in the config")

    with pytest.raises(pytest.fail.Exception, match="syntax error"):
        on_free_port(broken, "server")
