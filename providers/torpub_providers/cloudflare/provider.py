"""Cloudflare DNS as a torpub backend, through the official ``cloudflare`` SDK.

The API token comes from ``CLOUDFLARE_API_TOKEN`` and ``CLOUDFLARE_BASE_URL``
works as the SDK defines it. Writes go through the batch endpoint, each plan
phase cut into batches within the zone plan's limit and never mixed with the
next phase. The record quota (Free zones hold as few as 200 records) and the
records outside ``_torrent`` come from the API's usage figures, so the planner
refuses a plan that would not fit before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from torpub.errors import ConfigError, ProviderError, ZoneError
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
from torpub.publish.plan import PhaseName, Plan
from torpub_providers.cloudflare.batches import Held, ids_for, operations
from torpub_providers.cloudflare.client import NAME, CloudflareClient, Pacing
from torpub_providers.cloudflare.txt import MAX_VALUE_LENGTH, parse_content

TOKEN_VARIABLE = "CLOUDFLARE_API_TOKEN"
# Cloudflare's batch limits by zone plan (operations per request).
BATCH_LIMITS = {"free": 200}
PAID_BATCH_LIMIT = 3500
# Cloudflare's documented record quotas by zone plan, for when the usage API
# names none: Free zones created since September 2024 hold 200 records, paid
# plans 3,500. Enterprise quotas are set per contract: no default.
PLAN_QUOTAS = {"free": 200, "pro": 3500, "business": 3500}
PAGE_SIZE = 1000
OPTIONS = (
    Option("zone_id", str, "the zone's ID, when the name is ambiguous"),
    Option(
        "batch_size",
        int,
        "operations per batch request [default: by the zone's plan]",
        minimum=1,
    ),
    Option("record_quota", int, "the zone's record quota [default: read from the API]", minimum=1),
)


@dataclass(frozen=True)
class CloudflareOptions:
    zone_id: str | None = None
    batch_size: int | None = None
    record_quota: int | None = None

    @classmethod
    def from_target(cls, target: Target) -> CloudflareOptions:
        opts = target.checked(OPTIONS)
        return cls(
            zone_id=opts.text("zone_id") or None,
            batch_size=opts.integer("batch_size"),
            record_quota=opts.integer("record_quota"),
        )


@dataclass(frozen=True)
class CloudflareZone:
    id: str
    name: str
    plan: str
    nameservers: tuple[str, ...]
    account_id: str | None = None


class CloudflareProvider:
    """Publishes into one Cloudflare zone, found by name (or ``zone_id``)."""

    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(
        self,
        target: Target,
        *,
        client: CloudflareClient | None = None,
        pacing: Pacing = Pacing(),
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._options = CloudflareOptions.from_target(target)
        if target.zone is None and self._options.zone_id is None:
            raise ConfigError("the cloudflare provider needs --zone NAME")
        self._name = zone_name(target.zone) if target.zone else None
        if client is None:
            token = os.environ.get(TOKEN_VARIABLE)
            if not token:
                raise ConfigError(
                    f"the cloudflare provider needs an API token in ${TOKEN_VARIABLE}"
                )
            client = CloudflareClient(token, pacing)
        self._client = client
        self._page_size = page_size
        self._zone: CloudflareZone | None = None
        self._quota: tuple[int | None] | None = None  # read once: (quota,)
        self._listed: int | None = None  # torpub's records at the last listing
        self.batches_sent: list[tuple[PhaseName, int]] = []  # write calls per phase applied

    @property
    def client(self) -> CloudflareClient:
        return self._client

    @property
    def zone(self) -> str:
        return self._cf_zone().name

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            max_value_length=MAX_VALUE_LENGTH,
            max_batch_records=self._batch_limit(),
            record_quota=self._record_quota(),
        )

    def other_records(self) -> int:
        """Records counted against the quota besides torpub's: the zone's usage (or
        the account's, when the quota is the account's) less the last listing."""
        zone = self._cf_zone()
        usage, _, _ = self._client.usage(zone.id, zone.account_id)
        if self._listed is None:
            self._held()
        assert self._listed is not None
        return max(0, usage - self._listed)

    def nameservers(self) -> tuple[str, ...]:
        return self._cf_zone().nameservers

    def records(self) -> Sequence[Record]:
        return [h.record for h in self._held()]

    def apply(self, plan: Plan) -> None:
        zone = self._cf_zone()
        check_plan_zone(plan, zone.name)
        if not plan.has_changes:
            return
        ids = ids_for(plan, self._held())
        limit = self.capabilities.max_batch_records or PAID_BATCH_LIMIT
        # Every request is built (and checked) before the first is sent.
        phases = [
            (
                p.name,
                [
                    operations(p.changes[i : i + limit], ids)
                    for i in range(0, len(p.changes), limit)
                ],
            )
            for p in plan.phases
            if p.changes
        ]
        for name, batches in phases:
            for ops in batches:
                self._client.batch(zone.id, ops)
            self.batches_sent.append((name, len(batches)))

    def _cf_zone(self) -> CloudflareZone:
        if self._zone is None:
            self._zone = self._find_zone()
        return self._zone

    def _find_zone(self) -> CloudflareZone:
        if self._options.zone_id:
            found = _zone_of(self._client.zone(self._options.zone_id))
            if self._name and found.name != self._name:
                raise ZoneError(f"cloudflare zone {found.id} is {found.name}, not {self._name}")
            return found
        assert self._name is not None
        # Cloudflare names zones without the trailing dot.
        matches = self._client.zones(self._name.rstrip("."))
        if not matches:
            raise ZoneError(f"cloudflare has no zone {self._name} this token can read")
        if len(matches) > 1:
            raise ZoneError(
                f"cloudflare lists {len(matches)} zones named {self._name}; pass -O zone_id=ID"
            )
        return _zone_of(matches[0])

    def _batch_limit(self) -> int:
        if self._options.batch_size:
            return self._options.batch_size
        return BATCH_LIMITS.get(self._cf_zone().plan, PAID_BATCH_LIMIT)

    def _record_quota(self) -> int | None:
        """The option, else what the API reports, else the plan's documented quota."""
        if self._options.record_quota:
            return self._options.record_quota
        if self._quota is None:
            zone = self._cf_zone()
            _, quota, _ = self._client.usage(zone.id, zone.account_id)
            self._quota = (quota if quota is not None else PLAN_QUOTAS.get(zone.plan),)
        return self._quota[0]

    def _held(self) -> list[Held]:
        held = []
        for item in self._client.txt_records(self._cf_zone().id, self._page_size):
            name = canonical_name(str(item.name))
            if item.type != "TXT" or LABEL not in name.split("."):
                continue
            ttl, content = item.ttl, item.content or ""
            # The SDK does not check the listing's types (its TTL is a float): the
            # endpoint's word, untrusted.
            whole = isinstance(ttl, int | float) and not isinstance(ttl, bool) and ttl % 1 == 0
            if not whole or not isinstance(content, str):
                raise ProviderError(
                    NAME, f"the listing holds a record that is not Cloudflare's ({name})"
                )
            held.append(
                Held(str(item.id), Record.from_strings(name, int(ttl), parse_content(content)))
            )
        self._listed = len(held)
        return held


def _zone_of(zone: Any) -> CloudflareZone:
    plan = getattr(zone, "plan", None)
    legacy = str(getattr(plan, "legacy_id", None) or "free")
    servers = tuple(str(s) for s in (getattr(zone, "name_servers", None) or ()))
    account = getattr(getattr(zone, "account", None), "id", None)
    return CloudflareZone(
        str(zone.id),
        zone_name(str(zone.name)),
        legacy,
        servers,
        str(account) if account else None,
    )
