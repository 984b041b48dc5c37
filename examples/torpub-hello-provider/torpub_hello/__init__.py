"""An example torpub backend: a zone's TXT records in a JSON file.

It implements the three members of ``torpub.provider.Provider`` and declares
its options; ordering, ownership and safety come from torpub's planner. The
file is replaced atomically once per phase, so every phase is one write.
Everything it uses comes from ``torpub.provider``, the one module a plug-in
imports.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from torpub.provider import (
    Capabilities,
    ConfigError,
    Option,
    Plan,
    ProviderError,
    Record,
    Target,
    state_after,
    zone_name,
)

NAME = "hello"


class HelloProvider:
    """A zone in a JSON file (created when missing)."""

    # `torpub sync --provider hello` gets --path and --indent from these; so do
    # `-O path=…` and a [[targets]] table in torpub.toml.
    options: ClassVar[tuple[Option, ...]] = (
        Option("path", Path, "the JSON file that holds the zone", required=True),
        Option("indent", int, "spaces per level in the JSON file", default=1, minimum=0),
    )

    def __init__(self, target: Target) -> None:
        if not target.zone:
            raise ConfigError("the hello provider needs --zone")
        opts = target.checked(self.options)
        path, indent = opts.path("path"), opts.integer("indent")
        assert path is not None and indent is not None  # required, defaulted
        self._zone = zone_name(target.zone)
        self._path = path
        self._indent = indent

    @property
    def zone(self) -> str:
        return self._zone

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(max_value_length=4000)

    def records(self) -> Sequence[Record]:
        return sorted(self._load())

    def apply(self, plan: Plan) -> None:
        held = self._load()
        for phase in plan.phases:
            if phase.changes:
                # StalePlan when the file no longer holds what the plan was made from.
                held = list(state_after(held, phase.changes, NAME))
                self._save(held)

    def _load(self) -> list[Record]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            raise ProviderError(NAME, f"cannot read {self._path}: {e}") from e
        return [Record(r["name"], int(r["ttl"]), r["value"]) for r in data.get("records", [])]

    def _save(self, records: list[Record]) -> None:
        rows = [{"name": r.name, "ttl": r.ttl, "value": r.value} for r in sorted(records)]
        text = json.dumps({"zone": self._zone, "records": rows}, indent=self._indent) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self._path.parent or ".", prefix=".hello-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self._path)
