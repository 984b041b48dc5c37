"""The conformance harness of the rfc2136 backend: a real dynamic-zone named,
read back by a signed AXFR that does not go through the backend."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from named_update import UpdateServer, launch, stop

from torpub.format.records import Record
from torpub.provider import Target
from torpub.testing.conformance import WriteCounter
from torpub_providers.rfc2136.client import UpdateClient
from torpub_providers.rfc2136.provider import Rfc2136Provider
from torpub_providers.rfc2136.updates import NameChange


class DynamicZoneHarness(WriteCounter):
    """What the backends writing to the dynamic-zone named share: the server, read
    back by AXFR, and the count of write calls that injects a failure."""

    def __init__(self, server: UpdateServer) -> None:
        super().__init__()
        self.server = server

    @property
    def zone(self) -> str:
        return self.server.zone

    def held(self) -> set[Record]:
        return self.server.held()

    def add_foreign(self, record: Record) -> None:
        self.server.send([record])

    def reset(self) -> None:
        self.server.send([], sorted({r.name for r in self.held()}))


class Rfc2136Harness(DynamicZoneHarness):
    def __init__(self, server: UpdateServer, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(server)
        real_update = UpdateClient.update

        def update(
            client: UpdateClient, groups: Sequence[NameChange], *, check_only: bool = False
        ) -> int:
            # An UPDATE that changes records is a write call; a prerequisite-only one is not.
            if not check_only:
                self.count_write()
            return real_update(client, groups, check_only=check_only)

        monkeypatch.setattr(UpdateClient, "update", update)

    def provider(self) -> Rfc2136Provider:
        options = {"server": self.server.address, "tsig_key_file": str(self.server.tsig_key_file)}
        # A small message limit, so that phases go out in several messages.
        return Rfc2136Provider(Target("rfc2136", self.zone, {**options, "max_message": 4096}))


@pytest.fixture
def rfc2136(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rfc2136Harness]:
    server = launch(tmp_path_factory)
    try:
        yield Rfc2136Harness(server, monkeypatch)
    finally:
        stop(server)
