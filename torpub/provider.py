"""The seam between the planner and DNS backends, and how backends are found.

A backend reads the records under ``_torrent`` in one zone and applies a plan's
phases in order. Ordering, ownership and safety live in :mod:`torpub.publish.plan`, once.
Backends register under the entry-point group ``torpub.providers`` (the
built-in ones too) and are imported only when used.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

import dns.name

from torpub.errors import ConfigError, InvalidURL, ZoneError
from torpub.format.names import dns_host
from torpub.format.records import Record
from torpub.publish.plan import Plan

GROUP = "torpub.providers"
OptionValue = str | int | bool


@dataclass(frozen=True)
class Capabilities:
    """What a backend can hold; None means no limit worth planning around."""

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

    def check_options(self, known: Iterable[str]) -> None:
        """Refuse an option the backend does not take: a typo must not pass silently."""
        unknown = sorted(set(self.options) - set(known))
        if unknown:
            raise ConfigError(f"the {self.provider} provider has no option {unknown[0]!r}")


def number_option(
    target: Target, key: str, *, what: str = "a number", whole: bool = False, zero: bool = False
) -> float | None:
    """Option ``key`` as a finite number above 0 (or from 0 with ``zero``), a whole
    one with ``whole``; None when it is not set. The one place backends coerce a
    number, so ``nan``, ``inf`` and ``1e999`` are refused alike, in one line."""
    value = target.options.get(key)
    if value is None:
        return None
    number: float | None = None
    if not isinstance(value, bool):
        with contextlib.suppress(ValueError):
            number = int(str(value)) if whole else float(str(value))
    if number is None or not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        bound = "0 or more" if zero else "above 0"
        raise ConfigError(f"{target.provider} option {key} must be {what} ({bound}), not {value!r}")
    return number


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


ProviderFactory = Callable[[Target], Provider]


def zone_name(zone: str) -> str:
    """A zone as backends compare it: lower-case A-labels with the trailing dot."""
    try:
        return dns_host(zone) + "."
    except InvalidURL as e:
        raise ConfigError(f"zone {zone!r} is not a DNS name") from e


def check_plan_zone(plan: Plan, zone: str) -> None:
    """Refuse, before any write, a plan made for another zone or naming a record outside it."""
    if zone_name(plan.zone) != zone:
        raise ZoneError(f"the plan is for zone {plan.zone}, this target holds {zone}")
    origin = dns.name.from_text(zone)
    for change in plan.changes:
        if not dns.name.from_text(change.record.name).is_subdomain(origin):
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


def open_target(target: Target) -> Provider:
    return load(target.provider)(target)
