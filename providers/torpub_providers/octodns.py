"""Any octoDNS provider, as named in an octoDNS config, as a torpub backend.

octoDNS builds the provider (its class, its secrets from ``env/…``), reads the
zone and plans and applies each change; torpub decides what changes. Each phase
of torpub's plan becomes one octoDNS plan-and-apply whose view of the zone is
cut down to the names that phase touches, so octoDNS never plans anything else
in the zone, let alone deletes it; the next phase starts when that apply
returns. Before every apply the records octoDNS reads at those names must be
those torpub's plan was made from, so a change made since the plan stops the
sync instead of being overwritten.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from torpub.errors import (
    ConfigError,
    PlanError,
    ProviderError,
    StalePlan,
    TorpubError,
)
from torpub.format.names import LABEL
from torpub.format.records import Record
from torpub.provider import (
    Capabilities,
    Option,
    Target,
    canonical_name,
    check_plan_zone,
    zone_name,
)
from torpub.publish.octodns_yaml import escape as to_octodns_value
from torpub.publish.octodns_yaml import unescape as from_octodns_value
from torpub.publish.plan import Action, Change, Plan
from torpub.redaction import reason

NAME = "octodns"
# Shorter values would turn up inside ordinary text; real secrets are longer.
_MIN_SECRET = 6
TXT = "TXT"


# What octodns raised before the one error for a stale plan existed.
OctodnsStale = StalePlan


@dataclass(frozen=True)
class NameState:
    """The TXT values torpub expects at one name before a phase, and after it."""

    name: str
    old: frozenset[Record]
    new: frozenset[Record]


def name_states(changes: Iterable[Change]) -> dict[str, NameState]:
    old: dict[str, set[Record]] = {}
    new: dict[str, set[Record]] = {}
    for change in changes:
        name = canonical_name(change.record.name)
        old.setdefault(name, set())
        new.setdefault(name, set())
        if change.action is not Action.CREATE:
            old[name].add(change.old or change.record)
        if change.action is not Action.DELETE:
            new[name].add(change.record)
    return {n: NameState(n, frozenset(old[n]), frozenset(new[n])) for n in old}


class OctodnsClient:
    """The octoDNS side: the manager built from the config, one provider of it,
    and every call into them with octoDNS's errors turned into torpub's."""

    def __init__(self, config: Path, target: str | None, zone: str | None) -> None:
        self._config = config
        self._secrets = env_secrets(config)
        with self._entering("reading the octoDNS config"):
            from octodns.manager import Manager  # type: ignore[import-untyped]

            self._manager = Manager(str(config))
        self.zone = self._pick_zone(zone)
        self.target = self._pick_target(target)
        self._provider = self._manager.providers[self.target]
        if not hasattr(self._provider, "apply") or not hasattr(self._provider, "plan"):
            raise ConfigError(f"octoDNS provider {self.target!r} is a source, not a target")

    def _pick_zone(self, zone: str | None) -> str:
        if zone is not None:
            return zone
        configured = list(self._manager.config.get("zones") or {})
        if len(configured) != 1:
            raise ConfigError(
                f"{self._config} configures {len(configured)} zones; pass --zone to pick one"
            )
        return zone_name(str(configured[0]))

    def _pick_target(self, target: str | None) -> str:
        providers = sorted(self._manager.providers)
        if target is not None:
            if target not in self._manager.providers:
                known = ", ".join(providers) or "none"
                raise ConfigError(f"{self._config} has no provider {target!r} (it has {known})")
            return target
        zones = self._manager.config.get("zones") or {}
        zone_config = zones.get(self.zone) or zones.get(self.zone.rstrip(".")) or {}
        targets = list(zone_config.get("targets") or [])
        if len(targets) == 1:
            return str(targets[0])
        raise ConfigError(
            f"{self._config} gives zone {self.zone} {len(targets)} targets; "
            f"pass --target with one of: {', '.join(targets or providers)}"
        )

    def read(self) -> dict[str, set[Record]]:
        """The TXT values at or below a ``_torrent`` label, by name."""
        zone = self.new_zone()
        with self._entering(f"reading zone {self.zone}"):
            self._provider.populate(zone, target=True, lenient=True)
        return torrent_txt(zone.records)

    def new_zone(self) -> Any:
        from octodns.zone import Zone  # type: ignore[import-untyped]

        return Zone(self.zone, [])

    def plan(self, states: Mapping[str, NameState]) -> Any:
        """octoDNS's plan to take ``states`` from old to new, its view of the zone
        limited to those names; None when it sees nothing to do."""
        desired = self.new_zone()
        with self._entering("building the records for octoDNS"):
            for state in states.values():
                if state.new:
                    desired.add_record(octodns_record(desired, state.name, state.new))
        with self._entering(f"planning zone {self.zone}"):
            return self._provider.plan(desired, processors=[only_names(set(states))])

    def apply(self, plan: Any) -> None:
        with self._entering(f"applying to zone {self.zone}"):
            self._provider.apply(plan)

    @contextlib.contextmanager
    def _entering(self, what: str) -> Iterator[None]:
        """Where octoDNS is called: its errors become torpub's, with every secret
        the config pulls from the environment blanked out; its deprecation
        warnings (about its plug-ins' internals) stay out of torpub's output."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            try:
                yield
            except TorpubError:
                raise
            except Exception as e:
                # Short and with credential-like fields cut too: an octoDNS provider's
                # error may quote the API's answer, which may echo the request.
                message = reason(redact(f"{type(e).__name__}: {e}", self._secrets))
                where = getattr(self, "target", None)
                prefix = f"{where}: " if where else ""
                # from None: the original's text, in a traceback, could carry a secret.
                raise ProviderError(NAME, f"{prefix}{what} failed: {message}") from None


def only_names(names: set[str]) -> Any:
    """An octoDNS processor that hides every record but TXT at ``names`` from the
    plan, so octoDNS can neither change nor delete anything else."""
    from octodns.processor.base import BaseProcessor  # type: ignore[import-untyped]
    from octodns.zone import Zone

    class OnlyTorpubNames(BaseProcessor):  # type: ignore[misc]
        def process_target_zone(self, existing: Any, target: Any, lenient: bool = False) -> Any:
            kept = Zone(existing.name, existing.sub_zones)
            for record in existing.records:
                if record._type == TXT and canonical_name(record.fqdn) in names:
                    kept.add_record(record, lenient=True)
            return kept

    return OnlyTorpubNames("torpub-only-its-names")


def octodns_record(zone: Any, name: str, records: Iterable[Record]) -> Any:
    from octodns.record import Record as OctoRecord  # type: ignore[import-untyped]

    held = sorted(records)
    ttls = {r.ttl for r in held}
    if len(ttls) != 1:
        raise PlanError(f"{name} would hold TXT records with different TTLs {sorted(ttls)}")
    values = [to_octodns_value(r.value) for r in held]
    data = {"type": TXT, "ttl": held[0].ttl, "values": values}
    return OctoRecord.new(zone, zone.hostname_from_fqdn(name), data, lenient=True)


def torrent_txt(records: Iterable[Any]) -> dict[str, set[Record]]:
    found: dict[str, set[Record]] = {}
    for record in records:
        if record._type != TXT:
            continue
        name = canonical_name(record.fqdn)
        if LABEL not in name.split("."):
            continue
        found[name] = {Record(name, record.ttl, from_octodns_value(str(v))) for v in record.values}
    return found


def env_secrets(config: Path) -> list[str]:
    """The values the config pulls in with ``env/NAME``: what must never be shown."""
    from octodns.yaml import safe_load  # type: ignore[import-untyped]

    try:
        with config.open(encoding="utf-8") as f:
            data = safe_load(f, enforce_order=False)
    except FileNotFoundError:
        raise ConfigError(f"octoDNS config {config} does not exist") from None
    except OSError as e:
        raise ConfigError(f"cannot read octoDNS config {config}: {e.strerror}") from e
    except Exception as e:
        raise ConfigError(f"octoDNS config {config} does not parse: {type(e).__name__}") from None
    values = []
    for text in _strings(data):
        handler, sep, variable = text.partition("/")
        if sep and handler == "env" and len(os.environ.get(variable, "")) >= _MIN_SECRET:
            values.append(os.environ[variable])
    return sorted(set(values), key=len, reverse=True)


def _strings(data: object) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, Mapping):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from _strings(value)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class OctodnsProvider:
    """Publishes through one provider of an octoDNS config."""

    options: ClassVar[tuple[Option, ...]] = (
        Option("octodns_config", Path, "an octoDNS config file", required=True),
        Option(
            "octodns_target",
            str,
            "which provider of the config to publish through",
            flag="--target",
        ),
    )

    def __init__(self, target: Target) -> None:
        opts = target.checked(self.options)
        config = opts.path("octodns_config")
        assert config is not None  # required
        zone = zone_name(target.zone) if target.zone else None
        self._client = OctodnsClient(config, opts.text("octodns_target"), zone)

    @property
    def zone(self) -> str:
        return zone_name(self._client.zone)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    def records(self) -> Sequence[Record]:
        return tuple(sorted(r for rs in self._client.read().values() for r in rs))

    def apply(self, plan: Plan) -> None:
        check_plan_zone(plan, self.zone)
        phases = [(str(p.name), name_states(p.changes)) for p in plan.phases if p.changes]
        self._check_current(phases)
        for index, (phase, states) in enumerate(phases):
            done = [n for n, _ in phases[:index]]
            before = f"the phases {', '.join(done)} were applied; " if done else ""
            where = f"{before}nothing of phase '{phase}' was written; "
            octo_plan = self._client.plan(states)
            if octo_plan is None:
                continue
            seen = torrent_txt(octo_plan.existing.records)
            stale = [n for n, s in states.items() if seen.get(n, set()) != s.old]
            if stale:
                raise StalePlan(NAME, stale, where)
            outside = sorted(
                {canonical_name(c.record.fqdn) for c in octo_plan.changes} - set(states)
            )
            if outside:
                raise ProviderError(
                    NAME,
                    f"octoDNS planned changes outside torpub's names ({', '.join(outside[:3])}); "
                    f"{where}nothing was applied",
                )
            self._client.apply(octo_plan)

    def _check_current(self, phases: Sequence[tuple[str, dict[str, NameState]]]) -> None:
        """The whole plan's starting point, read once before anything is written."""
        current = self._client.read()
        seen: set[str] = set()
        stale = []
        for _phase, states in phases:
            for name, state in states.items():
                if name not in seen and current.get(name, set()) != state.old:
                    stale.append(name)
                seen.add(name)
        if stale:
            raise StalePlan(NAME, stale)
