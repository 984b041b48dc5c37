"""The conformance harness of the octodns bridge: octodns-bind's Rfc2136Provider
in an octoDNS config, against a real dynamic-zone named read back by AXFR."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance import InjectedFailure
from named_update import SECRET_VARIABLE, UpdateServer, launch, stop, write_octodns_config

from torpub.provider import Target
from torpub.records import Record
from torpub_providers.octodns import OctodnsClient, OctodnsProvider


class OctodnsHarness:
    def __init__(self, server: UpdateServer, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        self.config = config
        self._writes = 0
        self._fail_at: int | None = None
        real_apply = OctodnsClient.apply

        def apply(client: OctodnsClient, plan: Any) -> None:
            # Each octoDNS apply is one write call (octodns-bind sends it as one UPDATE).
            if self._fail_at is not None and self._writes >= self._fail_at:
                raise InjectedFailure(f"write call {self._writes + 1}")
            self._writes += 1
            real_apply(client, plan)

        monkeypatch.setattr(OctodnsClient, "apply", apply)
        monkeypatch.setenv(SECRET_VARIABLE, server.key.secret_text())

    @property
    def zone(self) -> str:
        return self.server.zone

    def provider(self) -> OctodnsProvider:
        options = {"octodns_config": str(self.config), "octodns_target": "dns"}
        return OctodnsProvider(Target("octodns", self.zone, options))

    def held(self) -> set[Record]:
        return self.server.held()

    def add_foreign(self, record: Record) -> None:
        self.server.send([record])

    def reset(self) -> None:
        self.server.send([], sorted({r.name for r in self.held()}))

    def write_calls(self) -> int:
        return self._writes

    @contextlib.contextmanager
    def failing_after(self, n: int) -> Iterator[None]:
        self._fail_at = self._writes + n
        try:
            yield
        finally:
            self._fail_at = None


@pytest.fixture
def octodns(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OctodnsHarness]:
    server = launch(tmp_path_factory)
    config = write_octodns_config(tmp_path_factory.mktemp("octodns") / "octodns.yaml", server)
    try:
        yield OctodnsHarness(server, config, monkeypatch)
    finally:
        stop(server)
