"""The planner: phases, ownership, pruning, safety, and make-before-break under crashes."""

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torpub.errors import OwnershipConflict, PlanError, SafetyThreshold, StalePlan
from torpub.format.names import names_for, parse_name
from torpub.format.records import Encoding, Head, Record, TorrentRecords, decode, encode
from torpub.publish.plan import Action, Change, PhaseName, Plan, Policy, build_plan

ZONE = "example.com."


def torrent(content: bytes) -> bytes:
    info = b"d6:lengthi1e4:name1:x12:piece lengthi16384e6:pieces%d:%se" % (len(content), content)
    return b"d4:info" + info + b"e"


def release(
    url: str, content: bytes, owner: str | None = None, chunk_size: int = 40
) -> TorrentRecords:
    return encode(torrent(content), names_for(url), Encoding(chunk_size=chunk_size, owner=owner))


def url(i: int) -> str:
    return f"https://dl.example.com/pub/file{i}.iso"


def apply(zone: dict[str, Record], changes: Iterable[Change]) -> None:
    for change in changes:
        if change.action is Action.DELETE:
            assert zone.pop(change.record.name) == change.record
        else:
            assert (change.record.name in zone) == (change.action is Action.UPDATE)
            zone[change.record.name] = change.record


def resolve(zone: dict[str, Record], address: str) -> bytes | None:
    names = names_for(address)
    head_record = zone.get(names.head_name)
    if head_record is None:
        return None
    head = Head.from_text(head_record.value)
    pieces = {}
    for i in range(head.n):
        record = zone.get(names.chunk_name(head.chunk_id, i))
        if record is not None:
            pieces[i] = record.value
    return decode(head, pieces)


def sync(zone: dict[str, Record], desired: list[TorrentRecords], policy: Policy = Policy()) -> Plan:
    plan = build_plan(ZONE, desired, zone.values(), policy)
    apply(zone, plan.changes)
    return plan


def test_first_publish_creates_chunks_before_heads() -> None:
    desired = [release(url(1), b"a" * 100), release(url(2), b"b" * 100)]
    plan = build_plan(ZONE, desired, [])
    assert [p.name for p in plan.phases if p.changes] == [PhaseName.CHUNKS, PhaseName.HEADS]
    assert plan.count(Action.CREATE) == sum(len(d.records) for d in desired)
    assert all(parse_name(c.record.name).chunk_id for c in plan.phases[0].changes)  # type: ignore[union-attr]


def test_second_run_plans_nothing() -> None:
    zone: dict[str, Record] = {}
    desired = [release(url(1), b"a" * 100)]
    sync(zone, desired)
    again = build_plan(ZONE, desired, zone.values())
    assert not again.has_changes and again.unchanged == len(desired[0].records)


def test_new_release_keeps_previous_set_and_removes_older() -> None:
    zone: dict[str, Record] = {}
    first, second, third = (release(url(1), c * 100) for c in (b"a", b"b", b"c"))
    sync(zone, [first])
    plan = sync(zone, [second])
    head = Head.from_text(zone[first.names.head_name].value)
    assert head.previous == first.head.chunk_id
    assert plan.count(Action.DELETE) == 0
    assert resolve(zone, url(1)) == torrent(b"b" * 100)
    plan = sync(zone, [third])
    removed = {
        parse_name(c.record.name).chunk_id for c in plan.changes if c.action is Action.DELETE
    }  # type: ignore[union-attr]
    assert removed == {first.head.chunk_id}
    assert Head.from_text(zone[first.names.head_name].value).previous == second.head.chunk_id
    assert {parse_name(n).chunk_id for n in zone} == {
        None,
        second.head.chunk_id,
        third.head.chunk_id,
    }  # type: ignore[union-attr]


def test_ttl_change_updates_in_place() -> None:
    zone: dict[str, Record] = {}
    sync(zone, [release(url(1), b"a" * 40)])
    longer = encode(torrent(b"a" * 40), names_for(url(1)), Encoding(chunk_size=40, head_ttl=600))
    plan = build_plan(ZONE, [longer], zone.values())
    assert [(c.action, c.record.ttl, c.old.ttl) for c in plan.changes] == [
        (Action.UPDATE, 600, 300)
    ]  # type: ignore[union-attr]


def test_add_only_by_default_and_prune_removes_head_first() -> None:
    zone: dict[str, Record] = {}
    sync(zone, [release(url(1), b"a" * 100), release(url(2), b"b" * 100)])
    kept = build_plan(ZONE, [release(url(2), b"b" * 100)], zone.values())
    assert not kept.has_changes
    pruned = build_plan(ZONE, [release(url(2), b"b" * 100)], zone.values(), Policy(prune=True))
    phases = {p.name: p.changes for p in pruned.phases}
    assert [c.record.name for c in phases[PhaseName.REMOVE_HEADS]] == [names_for(url(1)).head_name]
    assert len(phases[PhaseName.REMOVE_CHUNKS]) == len(release(url(1), b"a" * 100).chunks)
    apply(zone, pruned.changes)
    assert resolve(zone, url(1)) is None and resolve(zone, url(2)) is not None


def test_foreign_and_other_owners_records_are_never_touched() -> None:
    zone: dict[str, Record] = {}
    sync(zone, [release(url(1), b"a" * 100, owner="team-a")], Policy(owner="team-a"))
    foreign = [
        Record("_torrent.example.com.", 300, "hello"),
        Record("0123456789012345678901234567890123456789._torrent.example.com.", 300, "not a head"),
        Record("x.y._torrent.example.com.", 300, "v=torrent1"),
    ]
    zone.update({r.name: r for r in foreign})
    plan = build_plan(ZONE, [], zone.values(), Policy(owner="team-b", prune=True))
    assert not plan.has_changes and plan.owned == 0
    plan = build_plan(ZONE, [], zone.values(), Policy(owner="team-a", prune=True))
    deleted = {c.record.name for c in plan.changes}
    assert deleted == set(zone) - {r.name for r in foreign}


def test_taking_over_another_owners_url_is_refused() -> None:
    zone: dict[str, Record] = {}
    sync(zone, [release(url(1), b"a" * 100, owner="team-a")], Policy(owner="team-a"))
    with pytest.raises(OwnershipConflict, match="owner 'team-a'"):
        build_plan(
            ZONE, [release(url(1), b"b" * 100, owner="team-b")], zone.values(), Policy("team-b")
        )


def test_unreadable_head_at_a_wanted_name_is_refused() -> None:
    existing = [Record(names_for(url(1)).head_name, 300, "v=spf1 -all")]
    with pytest.raises(PlanError, match="not one torrent1 head"):
        build_plan(ZONE, [release(url(1), b"a" * 100)], existing)


def test_orphan_chunks_from_a_crashed_run_are_collected() -> None:
    orphan = release(url(1), b"old" * 30)
    plan = build_plan(ZONE, [release(url(1), b"a" * 100)], orphan.chunks)
    deleted = [c.record for c in plan.changes if c.action is Action.DELETE]
    assert deleted == list(orphan.chunks)


def test_safety_threshold() -> None:
    zone: dict[str, Record] = {}
    sync(zone, [release(url(i), b"a" * 30) for i in range(6)])
    plan = build_plan(ZONE, [], zone.values(), Policy(prune=True))
    assert plan.owned == len(zone) >= 10
    with pytest.raises(SafetyThreshold, match=f"{len(zone)} of {len(zone)} owned"):
        plan.check_safety()
    plan.check_safety(force=True)
    small = build_plan(
        ZONE, [release(url(i), b"a" * 30) for i in range(1, 6)], zone.values(), Policy(prune=True)
    )
    small.check_safety()  # 3 of 18 records: under 30 %


def test_answer_size_warning() -> None:
    host = "h" * 60 + ".example.com"
    wide = encode(torrent(b"x" * 3000), names_for(f"https://{host}/f"), Encoding(chunk_size=1200))
    plan = build_plan(ZONE, [wide], [])
    assert plan.largest_answer > 1232
    assert any("1232" in w for w in plan.warnings)
    assert not build_plan(ZONE, [release(url(1), b"a")], []).warnings


def test_plan_is_immutable() -> None:
    plan = build_plan(ZONE, [release(url(1), b"a")], [])
    with pytest.raises(AttributeError):
        plan.owned = 3  # type: ignore[misc]


contents = st.binary(min_size=1, max_size=200)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.dictionaries(st.integers(0, 3), contents, max_size=4), min_size=1, max_size=5),
    st.booleans(),
)
def test_every_crash_point_leaves_old_or_new(releases: list[dict[int, bytes]], prune: bool) -> None:
    """Apply each plan one change at a time; after every change, every URL must resolve
    to the torrent before the run or the one after it, never to a broken one."""
    zone: dict[str, Record] = {}
    current: dict[int, bytes] = {}
    for wanted in releases:
        desired = [release(url(i), c) for i, c in sorted(wanted.items())]
        plan = build_plan(ZONE, desired, zone.values(), Policy(prune=prune))
        after = {**current, **wanted} if not prune else dict(wanted)
        for change in plan.changes:
            apply(zone, [change])
            for i in set(current) | set(after):
                got = resolve(zone, url(i))
                allowed = {
                    torrent(current[i]) if i in current else None,
                    torrent(after[i]) if i in after else None,
                }
                assert got in allowed
        current = after
        assert not build_plan(ZONE, desired, zone.values(), Policy(prune=prune)).has_changes


def test_state_after_is_the_zone_a_plan_leaves_and_refuses_a_stale_start() -> None:
    zone: dict[str, Record] = {}
    first = [release(url(1), b"a" * 100)]
    sync(zone, first)
    before = tuple(sorted(zone.values()))
    plan = build_plan(ZONE, [release(url(1), b"c" * 100)], before, Policy())
    apply(zone, plan.changes)
    assert plan.state_after(before) == tuple(sorted(zone.values()))
    # Carried out on records it was not made from, the plan is stale: one error.
    head = next(c.old for c in plan.changes if c.action is Action.UPDATE)
    with pytest.raises(StalePlan, match=r"demo: .* no longer holds what the plan was made from"):
        plan.state_after([r for r in before if r != head], "demo")
    with pytest.raises(StalePlan, match="cannot be created: it holds a value"):
        build_plan(ZONE, first, []).state_after(before)
