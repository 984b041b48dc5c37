"""A plan's changes as the bodies of Cloudflare batch requests, with the record ids
updates and deletes need. A plan made from records the zone no longer holds, or
one with values Cloudflare would refuse, is stopped here before any write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torpub.errors import ProviderError, StalePlan
from torpub.format.records import Record
from torpub.publish.plan import Action, Change, Plan
from torpub_providers.cloudflare.client import NAME, Operations
from torpub_providers.cloudflare.txt import MAX_CONTENT, txt_content

MIN_TTL, MAX_TTL = 60, 86400  # outside Enterprise plans


@dataclass(frozen=True)
class Held:
    """A record as the zone holds it, with the id writes need."""

    id: str
    record: Record


def ids_for(plan: Plan, held: list[Held]) -> dict[Record, str]:
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


def _stale(change: Change, why: str) -> StalePlan:
    return StalePlan(NAME, [change.record.name], why=f"cannot be {change.action}d: {why}")


def operations(changes: Sequence[Change], ids: dict[Record, str]) -> Operations:
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
