"""The conformance harness of the bind backend: a zone file, read back with dnspython."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.rdatatype
import dns.zone
import pytest

from torpub import atomic
from torpub.format.records import Record
from torpub.provider import Target
from torpub.publish import zonefile
from torpub.testing.conformance import WriteCounter
from torpub_providers.bind import BindProvider

ZONE = "example.com."


class BindHarness(WriteCounter):
    def __init__(self, zone_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self.zone_file = zone_file
        self._initial = zone_file.read_bytes()
        real_commit: Callable[..., None] = atomic.commit

        def commit(*args: Any, **kwargs: Any) -> None:
            # The rename that publishes the new file is bind's one write call.
            self.count_write()
            real_commit(*args, **kwargs)

        monkeypatch.setattr(atomic, "commit", commit)

    @property
    def zone(self) -> str:
        return ZONE

    def provider(self) -> BindProvider:
        target = Target("bind", ZONE, {"zone_file": str(self.zone_file)})
        return BindProvider(target, today=lambda: dt.date(2026, 1, 2))

    def held(self) -> set[Record]:
        zone = dns.zone.from_file(str(self.zone_file), origin=ZONE, relativize=False)
        held = set()
        for name, rdataset in zone.iterate_rdatasets(dns.rdatatype.TXT):
            if "_torrent" not in name.to_text().lower().split("."):
                continue
            for rdata in rdataset:
                held.add(Record.from_strings(name.to_text(), rdataset.ttl, rdata.strings))
        return held

    def add_foreign(self, record: Record) -> None:
        # Only the marked block is torpub's to read, so a stranger's record there
        # (a hand edit, another owner sharing the file) is what torpub must respect.
        text = self.zone_file.read_text()
        block = zonefile.find_block(text)
        records = zonefile.parse_block(block.body, ZONE) if block else ()
        self.zone_file.write_text(zonefile.with_block(text, [*records, record]))

    def reset(self) -> None:
        self.zone_file.write_bytes(self._initial)


@pytest.fixture
def bind(zone_file: Path, monkeypatch: pytest.MonkeyPatch) -> BindHarness:
    return BindHarness(zone_file, monkeypatch)
