"""The main job in steps: artifacts → torrents → records → a plan per target.

The CLI calls these in order and draws what happens; each step is usable on
its own from Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from torpub.errors import ConfigError, QuotaExceeded, ZoneError, ZoneUnlisted
from torpub.format.names import in_zone, names_for
from torpub.format.records import Encoding, Record, TorrentRecords, encode
from torpub.provider import CountsOthers, Provider, ReadsByName
from torpub.publish.build import Artifact, BuildSettings, Built
from torpub.publish.config import Settings, expand_paths
from torpub.publish.plan import Plan, Policy, build_plan


def build_settings(settings: Settings, creation_date: int | None) -> BuildSettings:
    if not settings.base_url:
        raise ConfigError("no base URL: pass --base-url or set base_url in torpub.toml")
    return BuildSettings(
        base_url=settings.base_url,
        mirrors=settings.mirrors,
        trackers=settings.trackers,
        private=settings.private,
        piece_size=settings.piece_size,
        chunk_size=settings.chunk_size,
        chunk_budget=settings.chunk_budget,
        max_records=settings.max_records,
        creation_date=creation_date,
    )


def encoding(settings: Settings) -> Encoding:
    return Encoding(settings.chunk_size, settings.head_ttl, settings.chunk_ttl, settings.owner)


def desired_records(built: Iterable[Built], settings: Settings) -> list[TorrentRecords]:
    enc = encoding(settings)
    return [
        encode(b.torrent, names_for(b.artifact.url), enc, display_name=b.artifact.path.name)
        for b in built
    ]


def check_zone_holds(artifacts: Sequence[Artifact], zone: str) -> None:
    """Every artifact's host must be the zone or below it, before anything is built."""
    # The names' host, and so the answer, depends only on the URL's host: one
    # check per host, not per artifact (a release has 100,000 URLs and one host).
    one_per_host = {urlsplit(a.url).hostname: a.url for a in reversed(artifacts)}
    for url in one_per_host.values():
        host = names_for(url).host
        if not in_zone(host, zone):
            raise ZoneError(f"host {host} of {url} is not inside zone {zone}")


def read_zone(provider: Provider) -> Sequence[Record] | None:
    """Everything under ``_torrent`` in the zone, or None when the backend cannot
    list the zone but can read names one by one (once the URLs are known)."""
    try:
        return provider.records()
    except ZoneUnlisted:
        if not isinstance(provider, ReadsByName):
            raise
        return None


def read_by_name(provider: Provider, desired: Sequence[TorrentRecords]) -> Sequence[Record]:
    assert isinstance(provider, ReadsByName)  # read_zone returned None only for these
    return provider.records_at([d.names.head_name for d in desired])


def plan_target(
    provider: Provider,
    desired: Sequence[TorrentRecords],
    existing: Sequence[Record],
    policy: Policy,
) -> Plan:
    limit = provider.capabilities.max_value_length
    if limit is not None:
        longest = max((len(r.value) for d in desired for r in d.records), default=0)
        if longest > limit:
            raise ConfigError(
                f"records of {longest} characters exceed the provider's limit of {limit}: "
                "use a smaller chunk size"
            )
    plan = build_plan(provider.zone, desired, existing, policy)
    check_quota(provider, plan, len(existing))
    return plan


def check_quota(provider: Provider, plan: Plan, held: int) -> None:
    """Refuse, before any write, a plan whose peak the target's record quota cannot
    hold: its other records, the ``held`` ones under ``_torrent``, and every record
    the plan creates before it removes any."""
    quota = provider.capabilities.record_quota
    if quota is None or not plan.growth:
        return  # a plan that creates nothing cannot go over, whatever the zone holds
    other = provider.other_records() if isinstance(provider, CountsOthers) else 0
    if other + held + plan.growth > quota:
        raise QuotaExceeded(plan.zone, quota, other, held, plan.growth)


def artifact_paths(args: Sequence[Path], settings: Settings) -> list[Path]:
    if args:
        return list(args)
    if not settings.paths:
        raise ConfigError("no artifacts: pass PATH arguments or set paths in torpub.toml")
    return expand_paths(settings.paths)
