"""Amazon Route 53 as a torpub backend, through boto3.

Credentials come from boto3's standard chain (profile, environment, instance
role) and ``AWS_ENDPOINT_URL`` works as in every boto3 tool. Each plan phase is
cut into change batches within Route 53's request limits, never mixing phases,
and a phase starts only when the last one's changes are ``INSYNC``. Route 53's
own rules (no CREATE over an existing set, exact DELETEs, strings of at most
255 octets, lower-case names) are checked here before anything is sent, so
that a lenient emulator cannot hide a plan the real service would refuse.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import boto3  # type: ignore[import-untyped]
import botocore.config  # type: ignore[import-untyped]
import botocore.exceptions  # type: ignore[import-untyped]

from torpub.errors import ConfigError, ProviderError, ZoneError
from torpub.names import LABEL
from torpub.plan import Action, Change, PhaseName, Plan
from torpub.provider import Capabilities, Target, check_plan_zone, zone_name
from torpub.records import MAX_STRING, Record

NAME = "route53"
MAX_BATCH_RECORDS = 1000
MAX_BATCH_CHARS = 32000
MAX_VALUE_CHARS = 4000  # one TXT value as sent: its strings quoted and escaped
# The longest torpub value whose quoted form stays within MAX_VALUE_CHARS.
MAX_VALUE_LENGTH = 3950
PAGE_SIZE = "300"
RETRIED = frozenset({"Throttling", "ThrottlingException", "PriorRequestNotComplete"})
MAX_ATTEMPTS = 8
OPTIONS = frozenset({"zone_id", "profile", "phase_wait", "wait_timeout"})


@dataclass(frozen=True)
class Limits:
    """Route 53's per-request limits; tests lower them to exercise batching."""

    records: int = MAX_BATCH_RECORDS
    chars: int = MAX_BATCH_CHARS


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter; ``sleep`` and ``rng`` are injectable."""

    base: float = 0.2
    cap: float = 20.0
    attempts: int = MAX_ATTEMPTS
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = random.Random()  # noqa: RUF009 - shared on purpose, only jitter

    def delays(self) -> Iterator[float]:
        for attempt in range(self.attempts - 1):
            yield self.rng.uniform(0, min(self.cap, self.base * 2**attempt))


def txt_value(record: Record) -> str:
    """The value as Route 53 takes it: each character-string quoted, ``"`` and
    ``\\`` escaped, other octets outside printable ASCII as ``\\ooo``."""
    return " ".join(f'"{_escape(s)}"' for s in record.strings())


def _escape(octets: bytes) -> str:
    out = []
    for b in octets:
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


def parse_txt_value(value: str) -> tuple[bytes, ...]:
    """Route 53's TXT value back to its character-strings."""
    strings: list[bytes] = []
    i = 0
    while i < len(value):
        if value[i] == " ":
            i += 1
            continue
        quoted = value[i] == '"'
        i += quoted
        out = bytearray()
        while i < len(value) and (value[i] != '"' if quoted else value[i] != " "):
            if (
                value[i] == "\\"
                and value[i + 1 : i + 4].isdigit()
                and len(value[i + 1 : i + 4]) == 3
            ):
                out.append(int(value[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            if value[i] == "\\" and i + 1 < len(value):
                i += 1
            out += value[i].encode("utf-8", "surrogateescape")
            i += 1
        i += quoted
        strings.append(bytes(out))
    return tuple(strings)


def _name_text(name: str) -> str:
    """Route 53 writes unusual octets in names as ``\\ooo``; names are case-blind."""
    out = bytearray()
    i = 0
    while i < len(name):
        if name[i] == "\\" and name[i + 1 : i + 4].isdigit():
            out.append(int(name[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out += name[i].encode("utf-8", "surrogateescape")
            i += 1
    return out.decode("utf-8", "surrogateescape").lower()


class Route53Client:
    """The boto3 calls torpub makes, with retries and secret-free errors."""

    def __init__(self, profile: str | None = None, backoff: Backoff = Backoff()) -> None:
        try:
            self._session = boto3.Session(profile_name=profile)
        except botocore.exceptions.BotoCoreError as e:
            raise ConfigError(f"route53: {self.redact(str(e))}") from e
        config = botocore.config.Config(
            retries={"total_max_attempts": 1}, user_agent_extra="torpub"
        )
        self._api = self._session.client("route53", config=config)
        self._backoff = backoff
        self.calls: dict[str, int] = {}

    def redact(self, text: str) -> str:
        """``text`` with every credential the session holds cut out."""
        try:
            creds = self._session.get_credentials()
        except (AttributeError, botocore.exceptions.BotoCoreError):
            creds = None
        if creds is not None:
            frozen = creds.get_frozen_credentials()
            for secret in (frozen.secret_key, frozen.token, frozen.access_key):
                if secret:
                    text = text.replace(secret, "[redacted]")
        return text

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        delays = self._backoff.delays()
        while True:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            try:
                result: dict[str, Any] = getattr(self._api, _snake(operation))(**params)
                return result
            except botocore.exceptions.ClientError as e:
                code = str(e.response.get("Error", {}).get("Code", ""))
                delay = next(delays, None) if code in RETRIED else None
                if delay is None:
                    self._fail(operation, e)
                self._backoff.sleep(delay)
            except botocore.exceptions.NoCredentialsError as e:
                raise ConfigError(
                    "route53: no AWS credentials found (profile, environment or instance role)"
                ) from e
            except botocore.exceptions.BotoCoreError as e:
                self._fail(operation, e)

    def _fail(self, operation: str, error: Exception) -> NoReturn:
        text = str(error)
        clean = self.redact(text)
        failure = ProviderError(NAME, f"{operation} failed: {clean}")
        if clean != text:
            raise failure from None  # the original holds a secret: do not chain it
        raise failure from error

    def pages(self, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list call (Route 53's Next* markers)."""
        while True:
            page = self.call(operation, **params)
            yield from page.get(key, [])
            if not page.get("IsTruncated"):
                return
            params = {**params, **_next_markers(page)}


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _next_markers(page: dict[str, Any]) -> dict[str, Any]:
    markers = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
    if page.get("NextRecordIdentifier"):
        markers["StartRecordIdentifier"] = page["NextRecordIdentifier"]
    return markers


@dataclass(frozen=True)
class Route53Options:
    zone_id: str | None = None
    profile: str | None = None
    phase_wait: bool = True
    wait_timeout: float = 600.0

    @classmethod
    def from_target(cls, target: Target) -> Route53Options:
        target.check_options(OPTIONS)
        opts = target.options
        zone_id = opts.get("zone_id")
        profile = opts.get("profile")
        return cls(
            zone_id=_zone_id(str(zone_id)) if zone_id else None,
            profile=str(profile) if profile else None,
            phase_wait=_flag(opts.get("phase_wait", True), "phase_wait"),
            wait_timeout=_seconds(opts.get("wait_timeout", 600.0)),
        )


def _zone_id(value: str) -> str:
    return value.rsplit("/", 1)[-1]


def _seconds(value: object) -> float:
    try:
        seconds = float(str(value))
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ConfigError(f"route53 option wait_timeout must be seconds, not {value!r}")
    return seconds


def _flag(value: object, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"route53 option {key} must be true or false, not {value!r}")


@dataclass(frozen=True)
class HostedZone:
    id: str
    name: str
    private: bool
    nameservers: tuple[str, ...] = ()


class Route53Provider:
    """Publishes into one Route 53 hosted zone, found by name (or ``zone_id``)."""

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
        )

    def nameservers(self) -> tuple[str, ...]:
        return self._hosted_zone().nameservers

    def records(self) -> Sequence[Record]:
        return [r for rs in self._held().values() for r in rs]

    def apply(self, plan: Plan) -> None:
        zone = self._hosted_zone()
        check_plan_zone(plan, zone.name)
        if not plan.has_changes:
            return
        phases = [(p.name, self._batches(p.changes)) for p in plan.phases if p.changes]
        _check_changes(plan.changes, self._held())
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
        for rrset in self._client.pages(
            "ListResourceRecordSets",
            "ResourceRecordSets",
            HostedZoneId=zone.id,
            MaxItems=PAGE_SIZE,
        ):
            name = _name_text(rrset["Name"])
            if rrset["Type"] != "TXT" or LABEL not in name.split("."):
                continue
            if "SetIdentifier" in rrset or "AliasTarget" in rrset:
                continue  # a routing policy torpub never writes
            held[name] = [
                Record.from_strings(name, int(rrset["TTL"]), parse_txt_value(rr["Value"]))
                for rr in rrset.get("ResourceRecords", [])
            ]
        return held

    def _batches(self, changes: Sequence[Change]) -> list[list[dict[str, Any]]]:
        """First-fit decreasing: as few requests as the limits allow, in one phase."""
        items = sorted(
            (_rrset_change(name, group) for name, group in _by_name(changes).items()),
            key=lambda c: (-_cost(c)[1], c["ResourceRecordSet"]["Name"]),
        )
        bins: list[tuple[list[dict[str, Any]], list[int]]] = []
        for item in items:
            records, chars = _cost(item)
            if records > MAX_BATCH_RECORDS or chars > MAX_BATCH_CHARS:
                name = item["ResourceRecordSet"]["Name"]
                raise ProviderError(NAME, f"{name} alone exceeds route53's request limits")
            # Within Route 53's limits but over lower ones set here: a batch of its own.
            for batch, used in bins:
                if (
                    used[0] + records <= self._limits.records
                    and used[1] + chars <= self._limits.chars
                ):
                    batch.append(item)
                    used[0] += records
                    used[1] += chars
                    break
            else:
                bins.append(([item], [records, chars]))
        return [batch for batch, _ in bins]

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


def _by_name(changes: Sequence[Change]) -> dict[str, list[Change]]:
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.record.name.lower(), []).append(change)
    return grouped


def _rrset_change(name: str, changes: list[Change]) -> dict[str, Any]:
    """One Route 53 change for one name: deleting every value a name holds is one
    DELETE of the whole set; an update is an UPSERT."""
    actions = {c.action for c in changes}
    if len(changes) > 1 and actions != {Action.DELETE}:
        raise ProviderError(NAME, f"the plan changes {name} more than once in one phase")
    action = changes[0].action
    records = (
        [c.old or c.record for c in changes] if action is Action.DELETE else [changes[0].record]
    )
    ttls = {r.ttl for r in records}
    if len(ttls) != 1:
        raise ProviderError(NAME, f"{name} holds values with different TTLs")
    kind = {Action.CREATE: "CREATE", Action.UPDATE: "UPSERT", Action.DELETE: "DELETE"}[action]
    values = [{"Value": _checked_value(r)} for r in records]
    return {
        "Action": kind,
        "ResourceRecordSet": {
            "Name": name,
            "Type": "TXT",
            "TTL": ttls.pop(),
            "ResourceRecords": values,
        },
    }


def _checked_value(record: Record) -> str:
    """Route 53's TXT rules, which an emulator may not enforce."""
    if any(len(s) > MAX_STRING for s in record.strings()):
        raise ProviderError(NAME, f"{record.name} has a string over {MAX_STRING} octets")
    value = txt_value(record)
    if len(value) > MAX_VALUE_CHARS:
        raise ProviderError(
            NAME, f"{record.name}: a TXT value of {len(value)} characters exceeds {MAX_VALUE_CHARS}"
        )
    return value


def _cost(change: dict[str, Any]) -> tuple[int, int]:
    """What a change counts against a request's limits; an UPSERT counts twice."""
    values = change["ResourceRecordSet"]["ResourceRecords"]
    factor = 2 if change["Action"] == "UPSERT" else 1
    return factor * len(values), factor * sum(len(v["Value"]) for v in values)


def _check_changes(changes: Sequence[Change], held: dict[str, list[Record]]) -> None:
    """Refuse, before any write, a plan that Route 53 would reject part-way:
    a CREATE over an existing set, an update or delete of what is not there."""
    for change in changes:
        name = change.record.name.lower()
        at = set(held.get(name, ()))
        if change.action is Action.CREATE and at:
            raise _stale(change, "it already exists")
        if change.action is not Action.CREATE and (change.old or change.record) not in at:
            raise _stale(change, "it no longer holds the value the plan was made from")
    for name, group in _by_name([c for c in changes if c.action is Action.DELETE]).items():
        if {c.old or c.record for c in group} != set(held.get(name, ())):
            raise _stale(group[0], "it holds values the plan does not delete")


def _stale(change: Change, why: str) -> ProviderError:
    return ProviderError(NAME, f"cannot {change.action} {change.record.name}: {why}; plan again")
