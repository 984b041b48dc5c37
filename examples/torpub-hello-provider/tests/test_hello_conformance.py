"""The hello backend runs torpub's conformance suite, as any third-party backend
can: a ``harness`` fixture, and the suite's tests imported from torpub.testing."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from torpub_hello import HelloProvider

from torpub.provider import Provider, Record, Target
from torpub.testing import Harness, WriteCounter
from torpub.testing.conformance import (
    test_a_changed_artifact_keeps_the_previous_set_and_drops_older_ones,
    test_a_rerun_plans_and_writes_nothing,
    test_a_sync_stopped_after_any_write_leaves_old_or_new,
    test_first_publish,
    test_foreign_records_and_other_owners_are_left_alone,
    test_prune_removes_owned_urls_no_longer_built,
    test_safety_threshold_stops_a_plan_before_any_write,
)

__all__ = [
    "test_a_changed_artifact_keeps_the_previous_set_and_drops_older_ones",
    "test_a_rerun_plans_and_writes_nothing",
    "test_a_sync_stopped_after_any_write_leaves_old_or_new",
    "test_first_publish",
    "test_foreign_records_and_other_owners_are_left_alone",
    "test_prune_removes_owned_urls_no_longer_built",
    "test_safety_threshold_stops_a_plan_before_any_write",
]


class HelloHarness:
    """The JSON file is the server: ``held`` reads it without the backend."""

    zone = "example.com."

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writes = WriteCounter()

    def provider(self) -> Provider:
        writes = self._writes

        class Counted(HelloProvider):
            def _save(self, records: list[Record]) -> None:
                writes.count_write()  # before the write: a failure leaves the file as it was
                super()._save(records)

        return Counted(Target("hello", self.zone, {"path": str(self._path)}))

    def held(self) -> set[Record]:
        if not self._path.exists():
            return set()
        rows = json.loads(self._path.read_text(encoding="utf-8"))["records"]
        return {Record(r["name"].lower(), int(r["ttl"]), r["value"]) for r in rows}

    def add_foreign(self, record: Record) -> None:
        rows = sorted(self.held() | {record})
        data = [{"name": r.name, "ttl": r.ttl, "value": r.value} for r in rows]
        self._path.write_text(json.dumps({"zone": self.zone, "records": data}), encoding="utf-8")

    def reset(self) -> None:
        self._path.unlink(missing_ok=True)

    def write_calls(self) -> int:
        return self._writes.write_calls()

    def failing_after(self, n: int) -> AbstractContextManager[None]:
        return self._writes.failing_after(n)


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return HelloHarness(tmp_path / "zone.json")
