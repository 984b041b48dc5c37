"""Amazon Route 53 as a torpub backend, through boto3: one hosted zone, found by
name or ``zone_id``, written phase by phase, a phase starting only when the last
one's changes are ``INSYNC``. Credentials come from boto3's standard chain
(profile, environment, instance role) and ``AWS_ENDPOINT_URL`` works as in every
boto3 tool."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from torpub.errors import ConfigError, ProviderError, ZoneError
from torpub.format.names import LABEL
from torpub.format.records import Record
from torpub.provider import Capabilities, Option, Target, check_plan_zone, zone_name
from torpub.publish.plan import PhaseName, Plan
from torpub_providers.route53.batches import Limits, change_batches, check_changes
from torpub_providers.route53.client import NAME, Backoff, Route53Client
from torpub_providers.route53.txt import MAX_VALUE_LENGTH, name_text, parse_txt_value

PAGE_SIZE = "300"
# Route 53's default quota of records (resource record sets) per hosted zone;
# AWS raises it on request, which the record_quota option then says.
DEFAULT_RECORD_QUOTA = 10_000
OPTIONS = (
    Option("zone_id", str, "the hosted zone's ID, when the name is ambiguous"),
    Option("profile", str, "the AWS profile [default: boto3's chain]"),
    Option("phase_wait", bool, "waiting until a phase is INSYNC before the next", default=True),
    Option("wait_timeout", float, "seconds to wait for INSYNC", default=600.0, minimum=0),
    Option(
        "record_quota",
        int,
        "records the hosted zone may hold, when AWS raised it",
        default=DEFAULT_RECORD_QUOTA,
        minimum=1,
    ),
)


@dataclass(frozen=True)
class Route53Options:
    zone_id: str | None = None
    profile: str | None = None
    phase_wait: bool = True
    wait_timeout: float = 600.0
    record_quota: int = DEFAULT_RECORD_QUOTA

    @classmethod
    def from_target(cls, target: Target) -> Route53Options:
        opts = target.checked(OPTIONS)
        zone_id = opts.text("zone_id")
        return cls(
            zone_id=_zone_id(zone_id) if zone_id else None,
            profile=opts.text("profile") or None,
            phase_wait=bool(opts.flag("phase_wait")),
            wait_timeout=opts.number("wait_timeout") or 0.0,
            record_quota=opts.integer("record_quota") or DEFAULT_RECORD_QUOTA,
        )


def _zone_id(value: str) -> str:
    return value.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class HostedZone:
    id: str
    name: str
    private: bool
    nameservers: tuple[str, ...] = ()


class Route53Provider:
    """Publishes into one Route 53 hosted zone, found by name (or ``zone_id``)."""

    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(
        self,
        target: Target,
        *,
        client: Route53Client | None = None,
        limits: Limits = Limits(),
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff = Backoff(),
    ) -> None:
        self._options = Route53Options.from_target(target)
        if target.zone is None and self._options.zone_id is None:
            raise ConfigError("the route53 provider needs --zone NAME or --zone-id ID")
        self._name = zone_name(target.zone) if target.zone else None
        self._client = client or Route53Client(self._options.profile, backoff)
        self._limits = limits
        self._clock = clock
        self._sleep = backoff.sleep
        self._hosted: HostedZone | None = None
        self._others: int | None = None  # record sets outside _torrent, at the last listing
        self.change_ids: list[str] = []
        self.batches_sent: list[tuple[PhaseName, int]] = []  # write calls per phase applied

    @property
    def client(self) -> Route53Client:
        return self._client

    @property
    def zone(self) -> str:
        return self._hosted_zone().name

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            max_value_length=MAX_VALUE_LENGTH,
            max_batch_records=self._limits.records,
            max_batch_chars=self._limits.chars,
            record_quota=self._options.record_quota,
        )

    def other_records(self) -> int:
        """The record sets of the last listing that are not torpub's (SOA, NS, the
        zone's own names): Route 53 counts sets, and torpub's names hold one value."""
        if self._others is None:
            self._held()
        assert self._others is not None
        return self._others

    def nameservers(self) -> tuple[str, ...]:
        return self._hosted_zone().nameservers

    def records(self) -> Sequence[Record]:
        return [r for rs in self._held().values() for r in rs]

    def apply(self, plan: Plan) -> None:
        zone = self._hosted_zone()
        check_plan_zone(plan, zone.name)
        if not plan.has_changes:
            return
        caps = self.capabilities
        assert caps.max_batch_records is not None and caps.max_batch_chars is not None
        limits = Limits(caps.max_batch_records, caps.max_batch_chars)
        phases = [(p.name, change_batches(p.changes, limits)) for p in plan.phases if p.changes]
        check_changes(plan.changes, self._held())
        for index, (name, batches) in enumerate(phases):
            ids = [self._submit(zone.id, batch) for batch in batches]
            self.change_ids += ids
            self.batches_sent.append((name, len(ids)))
            if self._options.phase_wait and index + 1 < len(phases):
                self._wait_insync(ids, self._options.wait_timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every change of the last apply is ``INSYNC``."""
        self._wait_insync(self.change_ids, timeout or self._options.wait_timeout)

    def _hosted_zone(self) -> HostedZone:
        if self._hosted is None:
            self._hosted = self._find_zone()
        return self._hosted

    def _find_zone(self) -> HostedZone:
        if self._options.zone_id:
            found = _hosted(self._client.call("GetHostedZone", Id=self._options.zone_id))
            if self._name and found.name != self._name:
                raise ZoneError(f"hosted zone {found.id} is {found.name}, not {self._name}")
            return found
        assert self._name is not None
        page = self._client.call("ListHostedZonesByName", DNSName=self._name, MaxItems="100")
        matches = [z for z in page.get("HostedZones", []) if zone_name(z["Name"]) == self._name]
        if not matches:
            raise ZoneError(f"route53 has no hosted zone {self._name} visible to these credentials")
        if len(matches) > 1:
            listed = ", ".join(
                f"{_zone_id(z['Id'])} ({'private' if z.get('Config', {}).get('PrivateZone') else 'public'})"
                for z in matches
            )
            raise ZoneError(
                f"route53 holds {len(matches)} hosted zones named {self._name}: {listed}; "
                "pass --zone-id to choose one"
            )
        return _hosted(self._client.call("GetHostedZone", Id=_zone_id(matches[0]["Id"])))

    def _held(self) -> dict[str, list[Record]]:
        """The zone's TXT records under ``_torrent`` by name, one Record per value."""
        zone = self._hosted_zone()
        held: dict[str, list[Record]] = {}
        others = 0
        for rrset in self._client.pages(
            "ListResourceRecordSets",
            "ResourceRecordSets",
            HostedZoneId=zone.id,
            MaxItems=PAGE_SIZE,
        ):
            name = name_text(rrset["Name"])
            if rrset["Type"] != "TXT" or LABEL not in name.split("."):
                others += 1
                continue
            if "SetIdentifier" in rrset or "AliasTarget" in rrset:
                others += 1
                continue  # a routing policy torpub never writes
            held[name] = [
                Record.from_strings(name, int(rrset["TTL"]), parse_txt_value(rr["Value"]))
                for rr in rrset.get("ResourceRecords", [])
            ]
        self._others = others
        return held

    def _submit(self, zone_id: str, batch: list[dict[str, Any]]) -> str:
        result = self._client.call(
            "ChangeResourceRecordSets",
            HostedZoneId=zone_id,
            ChangeBatch={"Comment": "torpub", "Changes": batch},
        )
        return _zone_id(str(result["ChangeInfo"]["Id"]))

    def _wait_insync(self, ids: Sequence[str], timeout: float) -> None:
        deadline = self._clock() + timeout
        delay = 1.0
        for change_id in reversed(ids):  # the last is the latest to land
            while self._client.call("GetChange", Id=change_id)["ChangeInfo"]["Status"] != "INSYNC":
                if self._clock() > deadline:
                    raise ProviderError(
                        NAME, f"change {change_id} not INSYNC after {timeout:.0f} s"
                    )
                self._sleep(delay)
                delay = min(delay * 2, 15.0)


def _hosted(result: dict[str, Any]) -> HostedZone:
    zone = result["HostedZone"]
    servers = tuple(result.get("DelegationSet", {}).get("NameServers", ()))
    private = bool(zone.get("Config", {}).get("PrivateZone"))
    return HostedZone(_zone_id(zone["Id"]), zone_name(zone["Name"]), private, servers)
