"""Desired and existing records → one immutable, ordered plan (record format §5).

The plan is data: phases run in order, and within each phase the changes may
run in any order or in batches. That is what makes every backend
make-before-break without knowing why: new chunks, then heads, then removed
heads, then removed chunks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from torpub.errors import OwnershipConflict, PlanError, RecordError, SafetyThreshold, StalePlan
from torpub.format.names import LABEL, ParsedName, parse_name
from torpub.format.records import UDP_ANSWER_LIMIT, Head, Record, TorrentRecords

SAFETY_LIMIT = 0.30
SAFETY_MINIMUM = 10


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class PhaseName(StrEnum):
    CHUNKS = "create chunks"
    HEADS = "write heads"
    REMOVE_HEADS = "remove heads"
    REMOVE_CHUNKS = "remove chunks"


@dataclass(frozen=True)
class Change:
    """One record-level change; ``old`` is the record an update or delete replaces."""

    action: Action
    record: Record
    old: Record | None = None
    url: str | None = None


@dataclass(frozen=True)
class Phase:
    name: PhaseName
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Plan:
    zone: str
    phases: tuple[Phase, ...]
    owned: int
    unchanged: int
    largest_answer: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(c for p in self.phases for c in p.changes)

    @property
    def has_changes(self) -> bool:
        return any(p.changes for p in self.phases)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    @property
    def growth(self) -> int:
        """Records the zone holds at the plan's peak beyond what it holds now:
        every create comes before any removal (make-before-break)."""
        early = (PhaseName.CHUNKS, PhaseName.HEADS)
        return sum(
            1
            for p in self.phases
            if p.name in early
            for c in p.changes
            if c.action is Action.CREATE
        )

    @property
    def destructive(self) -> int:
        return self.count(Action.UPDATE) + self.count(Action.DELETE)

    def check_safety(self, force: bool = False, limit: float = SAFETY_LIMIT) -> None:
        """Refuse a plan that deletes or rewrites too much of what it owns."""
        if force or self.owned < SAFETY_MINIMUM:
            return
        if self.destructive > limit * self.owned:
            raise SafetyThreshold(self.destructive, self.owned, limit)

    def state_after(self, records: Iterable[Record], backend: str = "plan") -> tuple[Record, ...]:
        """``records`` once every phase is carried out on them; see :func:`state_after`."""
        return state_after(records, self.changes, backend)


def state_after(
    records: Iterable[Record], changes: Iterable[Change], backend: str = "plan"
) -> tuple[Record, ...]:
    """``records`` with ``changes`` carried out, sorted. A change that does not fit
    them (a create at a name that holds a value, an update or delete of a value
    not held) means they are not what the plan was made from: StalePlan."""
    held: dict[str, set[Record]] = defaultdict(set)
    for record in records:
        held[record.name].add(record)
    for change in changes:
        at = held[change.record.name]
        if change.action is Action.CREATE and at:
            raise StalePlan(
                backend, [change.record.name], why="cannot be created: it holds a value"
            )
        if change.action is not Action.CREATE:
            old = change.old or change.record
            if old not in held[old.name]:
                why = f"cannot be {change.action}d: it no longer holds what the plan was made from"
                raise StalePlan(backend, [change.record.name], why=why)
            held[old.name].discard(old)
        if change.action is not Action.DELETE:
            at.add(change.record)
    return tuple(sorted(r for rs in held.values() for r in rs))


@dataclass(frozen=True)
class Policy:
    owner: str | None = None
    prune: bool = False


@dataclass
class _Key:
    """What the zone holds under one ``<key>._torrent.<host>``."""

    head_records: list[Record] = field(default_factory=list)
    chunk_sets: dict[str, dict[int, Record]] = field(default_factory=lambda: defaultdict(dict))

    def head(self) -> Head | None:
        if len(self.head_records) != 1:
            return None
        try:
            return Head.from_text(self.head_records[0].value)
        except RecordError:
            return None

    def all_chunks(self) -> list[Record]:
        return [r for s in self.chunk_sets.values() for r in s.values()]


def build_plan(
    zone: str,
    desired: Sequence[TorrentRecords],
    existing: Iterable[Record],
    policy: Policy = Policy(),
) -> Plan:
    keys = _group(existing)
    phases: dict[PhaseName, list[Change]] = {name: [] for name in PhaseName}
    owned = unchanged = 0
    wanted = {d.names.head_name for d in desired}
    if len(wanted) != len(desired):
        raise PlanError("two artifacts map to the same URL")

    for head_name, held in keys.items():
        head = held.head()
        if head is not None and head.owner == policy.owner:
            owned += 1 + len(held.all_chunks())
        if head_name in wanted or not (policy.prune and head and head.owner == policy.owner):
            continue
        url = f"(key {head_name.split('.')[0]})"
        phases[PhaseName.REMOVE_HEADS] += [
            Change(Action.DELETE, r, r, url) for r in held.head_records
        ]
        phases[PhaseName.REMOVE_CHUNKS] += [
            Change(Action.DELETE, r, r, url) for r in _sorted_chunks(held.all_chunks())
        ]

    for want in sorted(desired, key=lambda d: d.names.head_name):
        held = keys.get(want.names.head_name, _Key())
        changes, same = _publish(want, held, policy)
        unchanged += same
        for phase, change in changes:
            phases[phase].append(change)

    largest = max((r.answer_size() for d in desired for r in d.records), default=0)
    warnings = []
    if largest > UDP_ANSWER_LIMIT:
        warnings.append(
            f"the largest answer is {largest} octets, over the {UDP_ANSWER_LIMIT}-octet "
            "EDNS buffer, so resolvers will fall back to TCP: use a smaller chunk size"
        )
    return Plan(
        zone=zone,
        phases=tuple(Phase(name, tuple(changes)) for name, changes in phases.items()),
        owned=owned,
        unchanged=unchanged,
        largest_answer=largest,
        warnings=tuple(warnings),
    )


def _publish(
    want: TorrentRecords, held: _Key, policy: Policy
) -> tuple[list[tuple[PhaseName, Change]], int]:
    url = want.names.url
    old_head = held.head()
    if held.head_records and old_head is None:
        raise PlanError(
            f"{want.names.head_name} holds records that are not one torrent1 head; "
            "torpub will not overwrite them"
        )
    if old_head is not None and old_head.owner != policy.owner:
        raise OwnershipConflict(url, old_head.owner, policy.owner)

    previous = None
    if old_head is not None:
        previous = (
            old_head.previous if old_head.chunk_id == want.head.chunk_id else old_head.chunk_id
        )
    want = want.with_previous(previous)
    changes: list[tuple[PhaseName, Change]] = []
    unchanged = 0

    current = held.chunk_sets.get(want.head.chunk_id, {})
    for index, record in enumerate(want.chunks):
        change = _diff(current.get(index), record, url)
        if change:
            changes.append((PhaseName.CHUNKS, change))
        else:
            unchanged += 1

    old = held.head_records[0] if held.head_records else None
    change = _diff(old, want.head_record, url)
    if change:
        changes.append((PhaseName.HEADS, change))
    else:
        unchanged += 1

    keep = {want.head.chunk_id, previous}
    stale = [r for i, r in current.items() if i >= want.head.n]
    stale += [r for cid, s in held.chunk_sets.items() if cid not in keep for r in s.values()]
    changes += [
        (PhaseName.REMOVE_CHUNKS, Change(Action.DELETE, r, r, url)) for r in _sorted_chunks(stale)
    ]
    return changes, unchanged


def _diff(old: Record | None, new: Record, url: str) -> Change | None:
    if old is None:
        return Change(Action.CREATE, new, None, url)
    if old == new:
        return None
    return Change(Action.UPDATE, new, old, url)


def _group(existing: Iterable[Record]) -> dict[str, _Key]:
    keys: dict[str, _Key] = defaultdict(_Key)
    for record in existing:
        parsed = parse_name(record.name)
        if parsed is None:
            continue
        held = keys[_head_name(parsed)]
        if parsed.chunk_id is None or parsed.index is None:
            held.head_records.append(record)
        else:
            held.chunk_sets[parsed.chunk_id][parsed.index] = record
    return keys


def _head_name(parsed: ParsedName) -> str:
    return f"{parsed.key}.{LABEL}.{parsed.host}."


def _sorted_chunks(records: Iterable[Record]) -> list[Record]:
    def order(r: Record) -> tuple[str, int]:
        parsed = parse_name(r.name)
        assert parsed is not None and parsed.index is not None
        return (parsed.chunk_id or "", parsed.index)

    return sorted(records, key=order)
