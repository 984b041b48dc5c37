"""An example torpub backend: a zone's TXT records in a JSON file.

It implements the three members of ``torpub.provider.Provider`` and nothing
else; ordering, ownership and safety come from torpub's planner. The file is
replaced atomically once per phase, so every phase is one write.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from torpub.errors import ConfigError, ProviderError
from torpub.format.records import Record
from torpub.provider import Capabilities, Target
from torpub.publish.plan import Action, Plan

NAME = "hello"


class HelloProvider:
    """Options: ``path`` (the JSON file; created when missing)."""

    def __init__(self, target: Target) -> None:
        if not target.zone:
            raise ConfigError("the hello provider needs --zone")
        path = target.options.get("path")
        if not isinstance(path, str) or not path:
            raise ConfigError("the hello provider needs -O path=FILE")
        unknown = sorted(set(target.options) - {"path"})
        if unknown:
            raise ConfigError(f"the hello provider has no option {unknown[0]!r}")
        self._zone = target.zone.rstrip(".").lower() + "."
        self._path = Path(path)

    @property
    def zone(self) -> str:
        return self._zone

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(max_value_length=4000)

    def records(self) -> Sequence[Record]:
        return sorted(self._load())

    def apply(self, plan: Plan) -> None:
        held = set(self._load())
        for phase in plan.phases:
            if not phase.changes:
                continue
            for change in phase.changes:
                if change.action is not Action.CREATE:
                    old = change.old or change.record
                    if old not in held:
                        raise ProviderError(NAME, f"{old.name} changed since the plan was made")
                    held.discard(old)
                if change.action is not Action.DELETE:
                    held.add(change.record)
            self._save(held)

    def _load(self) -> list[Record]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            raise ProviderError(NAME, f"cannot read {self._path}: {e}") from e
        return [Record(r["name"], int(r["ttl"]), r["value"]) for r in data.get("records", [])]

    def _save(self, records: set[Record]) -> None:
        rows = [{"name": r.name, "ttl": r.ttl, "value": r.value} for r in sorted(records)]
        text = json.dumps({"zone": self._zone, "records": rows}, indent=1) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self._path.parent or ".", prefix=".hello-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self._path)
