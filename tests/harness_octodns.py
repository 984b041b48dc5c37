"""The conformance harness of the octodns bridge: octodns-bind's Rfc2136Provider
in an octoDNS config, against a real dynamic-zone named read back by AXFR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness_rfc2136 import DynamicZoneHarness
from named_update import SECRET_VARIABLE, UpdateServer, launch, stop, write_octodns_config

from torpub.provider import Target
from torpub_providers.octodns import OctodnsClient, OctodnsProvider


class OctodnsHarness(DynamicZoneHarness):
    def __init__(self, server: UpdateServer, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(server)
        self.config = config
        real_apply = OctodnsClient.apply

        def apply(client: OctodnsClient, plan: Any) -> None:
            # Each octoDNS apply is one write call (octodns-bind sends it as one UPDATE).
            self.count_write()
            real_apply(client, plan)

        monkeypatch.setattr(OctodnsClient, "apply", apply)
        monkeypatch.setenv(SECRET_VARIABLE, server.key.secret_text())

    def provider(self) -> OctodnsProvider:
        options = {"octodns_config": str(self.config), "octodns_target": "dns"}
        return OctodnsProvider(Target("octodns", self.zone, options))


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
