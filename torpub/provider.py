"""The seam between the planner and DNS backends, and how backends are found.

A backend reads the records under ``_torrent`` in one zone and applies a plan's
phases in order. Ordering, ownership and safety live in :mod:`torpub.publish.plan`, once.
Backends register under the entry-point group ``torpub.providers`` (the
built-in ones too) and are imported only when used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

from torpub.errors import ConfigError, ProviderError, StalePlan, ZoneError
from torpub.format.names import canonical_name, in_zone
from torpub.format.records import Record
from torpub.hostport import HostPort
from torpub.options import Option, Options, OptionValue, check_options
from torpub.publish.plan import Action, Change, Phase, PhaseName, Plan, state_after

# What a backend needs, from one module: the protocol, its data, the errors it raises.
__all__ = [
    "GROUP",
    "Action",
    "Authoritative",
    "Capabilities",
    "Change",
    "ConfigError",
    "CountsOthers",
    "HostPort",
    "Option",
    "OptionValue",
    "Options",
    "Phase",
    "PhaseName",
    "Plan",
    "Propagating",
    "Provider",
    "ProviderError",
    "ReadsByName",
    "Record",
    "StalePlan",
    "Target",
    "ZoneError",
    "canonical_name",
    "check_options",
    "check_plan_zone",
    "declared_options",
    "installed",
    "load",
    "open_target",
    "state_after",
    "zone_name",
]

GROUP = "torpub.providers"


@dataclass(frozen=True)
class Capabilities:
    """What a backend can hold; None means no limit worth planning around.

    The planner reads ``max_value_length`` (a record too long refuses the plan)
    and ``record_quota`` (the plan's peak must fit, with the records of
    :class:`CountsOthers`); the backend's own batching reads the batch limits,
    which say how many records, and how many characters of values, one write
    request may carry."""

    max_value_length: int | None = None
    max_batch_records: int | None = None
    max_batch_chars: int | None = None
    record_quota: int | None = None


@dataclass(frozen=True)
class Target:
    """Where to publish: a backend, a zone and the backend's own options."""

    provider: str
    zone: str | None = None
    options: Mapping[str, OptionValue] = field(default_factory=dict)
    # Relative path options are relative to this directory (torpub.toml's), else
    # to the working directory.
    base: Path | None = None

    def checked(self, declared: Sequence[Option]) -> Options:
        """The options checked against a backend's declaration and converted."""
        return check_options(self.provider, self.options, declared, self.base)


@runtime_checkable
class Provider(Protocol):
    @property
    def zone(self) -> str:
        """The zone's absolute name, with the trailing dot."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    def records(self) -> Sequence[Record]:
        """Every TXT record at or below a ``_torrent`` label in the zone."""
        ...

    def apply(self, plan: Plan) -> None:
        """Carry out the plan's phases in order; a phase starts only when the last is done."""
        ...


@runtime_checkable
class Propagating(Protocol):
    """A backend whose writes reach its servers some time after ``apply`` returns."""

    def wait(self, timeout: float) -> None:
        """Block until the last apply's changes are live on every server."""
        ...


@runtime_checkable
class Authoritative(Protocol):
    """A backend that knows which servers answer for its zone."""

    def nameservers(self) -> Sequence[str]:
        """Host names (or ``HOST:PORT``) of the zone's authoritative servers."""
        ...


@runtime_checkable
class ReadsByName(Protocol):
    """A backend that can read the records under given head names when it cannot
    list the zone (an RFC 2136 server that refuses AXFR)."""

    def records_at(self, head_names: Iterable[str]) -> Sequence[Record]:
        """The head at each name and the chunk sets it names (its own and its ``p=``)."""
        ...


@runtime_checkable
class CountsOthers(Protocol):
    """A backend whose ``record_quota`` also holds records that ``records`` does not
    return: the zone's SOA, NS and other names; for a quota shared across an
    account, other zones' records too."""

    def other_records(self) -> int:
        """How many records count against the quota besides those under ``_torrent``."""
        ...


ProviderFactory = Callable[[Target], Provider]


def zone_name(zone: str) -> str:
    """A zone as configured, in :func:`canonical_name` form; ConfigError when it is no name."""
    try:
        return canonical_name(zone)
    except ZoneError as e:
        raise ConfigError(f"zone {zone!r} is not a DNS name") from e


def check_plan_zone(plan: Plan, zone: str) -> None:
    """Refuse, before any write, a plan made for another zone or naming a record outside it."""
    if zone_name(plan.zone) != zone:
        raise ZoneError(f"the plan is for zone {plan.zone}, this target holds {zone}")
    for change in plan.changes:
        if not in_zone(change.record.name, zone):
            raise ZoneError(f"{change.record.name} is not in zone {zone}")


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    value: str
    distribution: str | None
    version: str | None


def installed() -> list[ProviderInfo]:
    found = []
    for ep in entry_points(group=GROUP):
        dist = ep.dist
        found.append(
            ProviderInfo(
                ep.name, ep.value, dist.name if dist else None, dist.version if dist else None
            )
        )
    return sorted(found, key=lambda p: p.name)


def load(name: str) -> ProviderFactory:
    matches = entry_points(group=GROUP, name=name)
    if not matches:
        known = ", ".join(p.name for p in installed()) or "none"
        raise ConfigError(f"unknown provider {name!r} (installed: {known})")
    factory: ProviderFactory = next(iter(matches)).load()
    return factory


def declared_options(name: str) -> tuple[Option, ...]:
    """The options a backend declares (its class's ``options``), importing only it."""
    return tuple(getattr(load(name), "options", ()))


def open_target(target: Target) -> Provider:
    return load(target.provider)(target)
