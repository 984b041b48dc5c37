"""The sync as a library call (torpub.publish.sync): what ``torpub sync`` runs,
usable from Python with progress and notes as callbacks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from test_provider_plugins import two_artifacts

from torpub.provider import Target, open_target
from torpub.publish.config import Settings
from torpub.publish.sync import Report, sync


def test_sync_plans_applies_and_reports_through_callbacks(tmp_path: Path, zone_file: Path) -> None:
    settings = Settings(base_url="https://dl.example.com/pub/", out=str(tmp_path / "t"))
    target = Target("bind", "example.com", {"zone_file": str(zone_file)})
    notes: list[tuple[str, int]] = []
    hashed: list[int] = []

    @contextlib.contextmanager
    def hashing(total: int) -> Iterator[object]:
        hashed.append(total)
        yield lambda n: hashed.append(n)

    report = Report(note=lambda m, level: notes.append((m, level)), hashing=hashing)
    before = zone_file.read_text()
    dry = sync([two_artifacts(tmp_path)], settings, [target], dry_run=True, report=report)
    assert dry.applied == () and dry.plans[0].has_changes
    assert zone_file.read_text() == before and not (tmp_path / "t").exists()
    assert hashed[0] == 80_000 and sum(hashed[1:]) == 80_000

    done = sync([tmp_path / "release"], settings, [target], report=report)
    assert done.applied == done.plans and done.plans[0].has_changes
    held = set(open_target(target).records())
    assert held == set(done.plans[0].state_after([]))
    assert any(m.startswith("applied ") and level == 0 for m, level in notes)
    again = sync([tmp_path / "release"], settings, [target])
    assert again.applied == () and not again.plans[0].has_changes
