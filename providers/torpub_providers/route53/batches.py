"""A plan phase's changes as Route 53 ChangeResourceRecordSets batches, within the
service's request limits. Route 53's own rules (no CREATE over an existing set,
exact DELETEs, strings of at most 255 octets, lower-case names) are checked here
before anything is sent, so that a lenient emulator cannot hide a plan the real
service would refuse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torpub.errors import ProviderError, StalePlan
from torpub.format.names import canonical_name
from torpub.format.records import MAX_STRING, Record
from torpub.publish.plan import Action, Change
from torpub_providers.route53.client import NAME
from torpub_providers.route53.txt import MAX_VALUE_CHARS, txt_value

MAX_BATCH_RECORDS = 1000
MAX_BATCH_CHARS = 32000


@dataclass(frozen=True)
class Limits:
    """Route 53's per-request limits; tests lower them to exercise batching."""

    records: int = MAX_BATCH_RECORDS
    chars: int = MAX_BATCH_CHARS


def change_batches(changes: Sequence[Change], limits: Limits) -> list[list[dict[str, Any]]]:
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
            if used[0] + records <= limits.records and used[1] + chars <= limits.chars:
                batch.append(item)
                used[0] += records
                used[1] += chars
                break
        else:
            bins.append(([item], [records, chars]))
    return [batch for batch, _ in bins]


def _by_name(changes: Sequence[Change]) -> dict[str, list[Change]]:
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(canonical_name(change.record.name), []).append(change)
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


def check_changes(changes: Sequence[Change], held: dict[str, list[Record]]) -> None:
    """Refuse, before any write, a plan that Route 53 would reject part-way:
    a CREATE over an existing set, an update or delete of what is not there."""
    for change in changes:
        name = canonical_name(change.record.name)
        at = set(held.get(name, ()))
        if change.action is Action.CREATE and at:
            raise _stale(change, "it already exists")
        if change.action is not Action.CREATE and (change.old or change.record) not in at:
            raise _stale(change, "it no longer holds the value the plan was made from")
    for name, group in _by_name([c for c in changes if c.action is Action.DELETE]).items():
        if {c.old or c.record for c in group} != set(held.get(name, ())):
            raise _stale(group[0], "it holds values the plan does not delete")


def _stale(change: Change, why: str) -> StalePlan:
    return StalePlan(NAME, [change.record.name], why=f"cannot be {change.action}d: {why}")
