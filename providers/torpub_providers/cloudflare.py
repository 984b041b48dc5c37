"""Cloudflare DNS as a torpub backend, through the official ``cloudflare`` SDK.

The API token comes from ``CLOUDFLARE_API_TOKEN`` and ``CLOUDFLARE_BASE_URL``
works as the SDK defines it. Writes go through the batch endpoint, each plan
phase cut into batches within the zone plan's limit and never mixed with the
next phase. Before anything is written, the plan's peak record count is checked
against the zone's record quota, since Free zones hold as few as 200 records.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cloudflare
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

from torpub.errors import ConfigError, ProviderError, ZoneError
from torpub.names import LABEL
from torpub.plan import Action, Change, PhaseName, Plan
from torpub.provider import Capabilities, Target, check_plan_zone, zone_name
from torpub.records import Record

NAME = "cloudflare"
TOKEN_VARIABLE = "CLOUDFLARE_API_TOKEN"
# Cloudflare's batch limits by zone plan (operations per request).
BATCH_LIMITS = {"free": 200}
PAID_BATCH_LIMIT = 3500
MAX_CONTENT = 4000  # characters of TXT content as sent, quoted
MAX_VALUE_LENGTH = 3950  # the longest torpub value whose quoted form fits
PAGE_SIZE = 1000
MIN_TTL, MAX_TTL = 60, 86400  # outside Enterprise plans
MAX_RATE_RETRIES = 6
DEFAULT_RETRY_AFTER = 5.0
OPTIONS = frozenset({"batch_size", "record_quota", "zone_id"})
T = TypeVar("T")


def txt_content(record: Record) -> str:
    """The value as Cloudflare's ``content``: quoted character-strings (RFC 1035)."""
    rdata = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, record.strings())
    return rdata.to_text()


def parse_content(content: str) -> tuple[bytes, ...]:
    """``content`` back to character-strings; unquoted content is one string."""
    if not content.startswith('"'):
        return (content.encode("utf-8", "surrogateescape"),)
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, content)
    except Exception as e:  # dnspython raises several kinds for bad text
        raise ProviderError(NAME, f"cannot read TXT content {content[:40]!r}: {e}") from e
    return tuple(rdata.strings)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Pacing:
    """How 429s are waited out; ``sleep`` is injectable."""

    retries: int = MAX_RATE_RETRIES
    sleep: Callable[[float], None] = time.sleep


class CloudflareClient:
    """The SDK calls torpub makes: rate-limit aware, and secret-free in errors."""

    def __init__(self, token: str, pacing: Pacing = Pacing()) -> None:
        self._token = token
        # 429s are handled here, where Retry-After is honoured however long it is.
        self._sdk = cloudflare.Cloudflare(api_token=token, max_retries=0)
        self._pacing = pacing
        self.calls: dict[str, int] = {}

    def redact(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        for attempt in range(self._pacing.retries + 1):
            self.calls[what] = self.calls.get(what, 0) + 1
            try:
                return fn()
            except cloudflare.RateLimitError as e:
                if attempt == self._pacing.retries:
                    raise self._error(what, e) from None
                self._pacing.sleep(_retry_after(e.response.headers.get("retry-after")))
            except cloudflare.APIError as e:
                raise self._error(what, e) from None
        raise AssertionError("unreachable")

    def _error(self, what: str, error: Exception) -> ProviderError:
        # ``from None``: the SDK's exception carries the request, headers included.
        return ProviderError(NAME, f"{what} failed: {self.redact(str(error))}")

    def zones(self, name: str) -> list[Any]:
        return self._call("list zones", lambda: list(self._sdk.zones.list(name=name)))

    def zone(self, zone_id: str) -> Any:
        return self._call("get zone", lambda: self._sdk.zones.get(zone_id=zone_id))

    def usage(self, zone_id: str, account_id: str | None) -> tuple[int, int | None, str]:
        """Records held and the quota they count against: the zone's, else the account's."""
        zone = self._call("get record usage", lambda: self._sdk.dns.usage.zone.get(zone_id=zone_id))
        if zone is None:
            raise ProviderError(NAME, "the record usage call returned nothing")
        if zone.record_quota is not None or account_id is None:
            return zone.record_usage, zone.record_quota, "zone"
        account = self._call(
            "get account record usage",
            lambda: self._sdk.dns.usage.account.get(account_id=account_id),
        )
        if account is None:
            return zone.record_usage, None, "zone"
        return account.record_usage, account.record_quota, "account"

    def txt_records(self, zone_id: str, per_page: int) -> Iterator[Any]:
        """TXT records whose names contain ``_torrent``, page by page."""
        page = self._call(
            "list records",
            lambda: self._sdk.dns.records.list(
                zone_id=zone_id, type="TXT", name={"contains": LABEL}, per_page=per_page
            ),
        )
        while True:
            yield from page.result
            if not page.has_next_page():
                return
            page = self._call("list records", page.get_next_page)

    def batch(self, zone_id: str, ops: Operations) -> None:
        self._call(
            "batch",
            lambda: self._sdk.dns.records.batch(
                zone_id=zone_id, deletes=ops.deletes, patches=ops.patches, posts=ops.posts
            ),
        )


@dataclass
class Operations:
    """One batch request's body: executed as deletes, then patches, then posts."""

    deletes: list[Any] = field(default_factory=list)
    patches: list[Any] = field(default_factory=list)
    posts: list[Any] = field(default_factory=list)


def _retry_after(header: str | None) -> float:
    try:
        return max(0.0, float(header)) if header is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


@dataclass(frozen=True)
class CloudflareOptions:
    zone_id: str | None = None
    batch_size: int | None = None
    record_quota: int | None = None

    @classmethod
    def from_target(cls, target: Target) -> CloudflareOptions:
        target.check_options(OPTIONS)
        opts = target.options
        zone_id = opts.get("zone_id")
        return cls(
            zone_id=str(zone_id) if zone_id else None,
            batch_size=_positive(opts.get("batch_size"), "batch_size"),
            record_quota=_positive(opts.get("record_quota"), "record_quota"),
        )


def _positive(value: object, key: str) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"cloudflare option {key} must be a positive whole number, not {value!r}")
    return number


@dataclass(frozen=True)
class CloudflareZone:
    id: str
    name: str
    plan: str
    nameservers: tuple[str, ...]
    account_id: str | None = None


@dataclass(frozen=True)
class Held:
    """A record as the zone holds it, with the id writes need."""

    id: str
    record: Record


class CloudflareProvider:
    """Publishes into one Cloudflare zone, found by name (or ``zone_id``)."""

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
            record_quota=self._options.record_quota,
        )

    def nameservers(self) -> tuple[str, ...]:
        return self._cf_zone().nameservers

    def records(self) -> Sequence[Record]:
        return [h.record for h in self._held()]

    def apply(self, plan: Plan) -> None:
        zone = self._cf_zone()
        check_plan_zone(plan, zone.name)
        if not plan.has_changes:
            return
        ids = _ids_for(plan, self._held())
        self._check_quota(plan, zone)
        limit = self._batch_limit()
        # Every request is built (and checked) before the first is sent.
        phases = [
            (
                p.name,
                [
                    _operations(p.changes[i : i + limit], ids)
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

    def _held(self) -> list[Held]:
        held = []
        for item in self._client.txt_records(self._cf_zone().id, self._page_size):
            name = str(item.name).rstrip(".").lower() + "."
            if item.type != "TXT" or LABEL not in name.split("."):
                continue
            strings = parse_content(item.content or "")
            held.append(Held(str(item.id), Record.from_strings(name, int(item.ttl), strings)))
        return held

    def _check_quota(self, plan: Plan, zone: CloudflareZone) -> None:
        """The plan creates before it deletes, so its peak is what must fit."""
        usage, quota, scope = self._client.usage(zone.id, zone.account_id)
        if self._options.record_quota:
            quota, scope = self._options.record_quota, "zone"
        if quota is None:
            return
        early = (PhaseName.CHUNKS, PhaseName.HEADS)
        created = sum(
            1
            for p in plan.phases
            if p.name in early
            for c in p.changes
            if c.action is Action.CREATE
        )
        peak = usage + created
        if peak > quota:
            raise ProviderError(
                NAME,
                f"{scope} of zone {zone.name} would need {peak} records ({usage} held now + "
                f"{created} created before any is removed) but its quota is {quota}; "
                "nothing was written. "
                "Publish fewer chunks per torrent (--chunk-budget), larger ones "
                f"(--chunk-size, up to {MAX_VALUE_LENGTH} here), heads only (n=0, "
                "magnet links), or raise the quota (a paid plan).",
            )


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


def _ids_for(plan: Plan, held: list[Held]) -> dict[Record, str]:
    """Record ids for the plan's updates and deletes; a plan made from records
    the zone no longer holds is refused before any write."""
    ids = {h.record: h.id for h in held}
    names = {h.record.name for h in held}
    for change in plan.changes:
        if change.action is Action.CREATE and change.record.name in names:
            raise _stale(change, "it already exists")
        if change.action is not Action.CREATE and (change.old or change.record) not in ids:
            raise _stale(change, "it no longer holds the value the plan was made from")
    return ids


def _stale(change: Change, why: str) -> ProviderError:
    return ProviderError(NAME, f"cannot {change.action} {change.record.name}: {why}; plan again")


def _operations(changes: Sequence[Change], ids: dict[Record, str]) -> Operations:
    ops = Operations()
    for change in changes:
        record = change.record
        if change.action is Action.DELETE:
            ops.deletes.append({"id": ids[change.old or record]})
            continue
        if not MIN_TTL <= record.ttl <= MAX_TTL:
            raise ProviderError(
                NAME, f"{record.name}: TTL {record.ttl} is outside {MIN_TTL}-{MAX_TTL} s"
            )
        content = txt_content(record)
        if len(content) > MAX_CONTENT:
            raise ProviderError(NAME, f"{record.name}: TXT content of {len(content)} characters")
        body = {
            "name": record.name.rstrip("."),
            "type": "TXT",
            "content": content,
            "ttl": record.ttl,
        }
        if change.action is Action.UPDATE:
            assert change.old is not None
            ops.patches.append({"id": ids[change.old], **body})
        else:
            ops.posts.append(body)
    return ops
