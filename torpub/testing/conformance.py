"""The conformance suite every DNS backend runs (in the style of certbot's
``BaseAuthenticatorTest``).

A backend takes part with a pytest fixture named ``harness`` that returns a
:class:`Harness`, in a test module that imports the ``test_*`` functions here
(:data:`TESTS` names them), as torpub's ``tests/test_conformance.py`` and the
example plug-in's ``examples/torpub-hello-provider/tests`` do. The tests drive the backend only through
the :class:`~torpub.provider.Provider` protocol and the core planner, and check
the outcome through ``Harness.held()``, which reads the server independently
of the backend under test.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import pytest

from torpub.errors import SafetyThreshold, TorpubError
from torpub.format.names import names_for, parse_name
from torpub.format.records import Encoding, Head, Record, TorrentRecords, decode, encode
from torpub.provider import Provider
from torpub.publish.pipeline import plan_target
from torpub.publish.plan import Action, PhaseName, Plan, Policy

OWNER = "conformance"
OTHER_OWNER = "someone-else"
HOST = "dl.example.com"
# Small chunks: several records per torrent, so that batching is exercised.
ENCODING = Encoding(chunk_size=400, owner=OWNER)


TESTS = (
    "test_first_publish",
    "test_a_rerun_plans_and_writes_nothing",
    "test_a_changed_artifact_keeps_the_previous_set_and_drops_older_ones",
    "test_prune_removes_owned_urls_no_longer_built",
    "test_foreign_records_and_other_owners_are_left_alone",
    "test_safety_threshold_stops_a_plan_before_any_write",
    "test_a_sync_stopped_after_any_write_leaves_old_or_new",
)


class InjectedFailure(Exception):
    """What a harness's ``failing_after`` raises in place of a write call."""


class WriteCounter:
    """``write_calls`` and ``failing_after`` for a harness that sees each write
    call before it is made: it calls :meth:`count_write` there."""

    def __init__(self) -> None:
        self._writes = 0
        self._fail_at: int | None = None

    def count_write(self) -> None:
        if self._fail_at is not None and self._writes >= self._fail_at:
            raise InjectedFailure(f"write call {self._writes + 1}")
        self._writes += 1

    def write_calls(self) -> int:
        return self._writes

    @contextlib.contextmanager
    def failing_after(self, n: int) -> Iterator[None]:
        self._fail_at = self._writes + n
        try:
            yield
        finally:
            self._fail_at = None


class Harness(Protocol):
    """One backend, wired to a server (real or a faithful double) on loopback."""

    @property
    def zone(self) -> str:
        """The zone's absolute name, e.g. ``example.com.``."""
        ...

    def provider(self) -> Provider:
        """A fresh provider for the zone, as ``torpub sync`` would open it."""
        ...

    def held(self) -> set[Record]:
        """Every TXT record at or below a ``_torrent`` label, read from the server
        without the backend under test (names lower-case, absolute)."""
        ...

    def add_foreign(self, record: Record) -> None:
        """Put a record into the zone as someone other than torpub would."""
        ...

    def reset(self) -> None:
        """Take the zone back to its state when the harness was made."""
        ...

    def write_calls(self) -> int:
        """How many write calls the backend has made to the server so far."""
        ...

    def failing_after(self, n: int) -> AbstractContextManager[None]:
        """Within the block, the backend's first ``n`` write calls succeed and the
        next one raises :class:`InjectedFailure` without reaching the server, as if
        the process had been killed after ``n`` writes."""
        ...


def torrent(url_index: int, version: int, pieces: int = 40) -> bytes:
    """A small, valid .torrent (bencoded, with an info dict); reproducible."""
    rng = random.Random(url_index * 1000 + version)
    hashes = rng.randbytes(20 * pieces)
    name = f"file-{url_index}-v{version}.bin".encode()
    info = b"d6:lengthi%de4:name%d:%s12:piece lengthi16384e6:pieces%d:%se" % (
        pieces * 16384,
        len(name),
        name,
        len(hashes),
        hashes,
    )
    return b"d4:info" + info + b"e"


def url(index: int) -> str:
    return f"https://{HOST}/pub/file-{index}.iso"


def desired(versions: dict[int, int], encoding: Encoding = ENCODING) -> list[TorrentRecords]:
    """Records for URL ``i`` carrying torrent version ``v``, for each ``i: v``."""
    return [encode(torrent(i, v), names_for(url(i)), encoding) for i, v in versions.items()]


def sync(
    harness: Harness,
    want: Sequence[TorrentRecords],
    *,
    prune: bool = False,
    owner: str | None = OWNER,
    force: bool = True,
) -> Plan:
    provider = harness.provider()
    plan = plan_target(provider, want, provider.records(), Policy(owner=owner, prune=prune))
    plan.check_safety(force)
    provider.apply(plan)
    return plan


def resolve(records: Iterable[Record], target_url: str) -> bytes | None:
    """What a client reading these records gets for the URL (record format §4);
    None when nothing is published, an error when the records are broken."""
    names = names_for(target_url)
    held = list(records)
    heads = [r for r in held if r.name == names.head_name]
    if not heads:
        return None
    (head_record,) = heads
    head = Head.from_text(head_record.value)
    return decode(head, chunk_pieces(held, names.head_name, head.chunk_id))


def chunk_pieces(records: Iterable[Record], head_name: str, chunk_id: str) -> dict[int, str]:
    pieces = {}
    for record in records:
        parsed = parse_name(record.name)
        if parsed and parsed.chunk_id == chunk_id and record.name.endswith("." + head_name):
            assert parsed.index is not None
            pieces[parsed.index] = record.value
    return pieces


def chunk_ids(records: Iterable[Record], head_name: str) -> set[str]:
    ids = set()
    for record in records:
        parsed = parse_name(record.name)
        if parsed and parsed.chunk_id and record.name.endswith("." + head_name):
            ids.add(parsed.chunk_id)
    return ids


def records_of(want: Iterable[TorrentRecords]) -> set[Record]:
    return {r for d in want for r in d.records}


def after_update(old: dict[int, int], new: dict[int, int]) -> set[Record]:
    """What the zone holds once ``new`` replaced ``old``: a changed URL's head names
    the chunk set it replaced, and that set stays for resolvers caching the old head."""
    before = {d.names.url: d for d in desired(old)}
    held: set[Record] = set()
    for want in desired(new):
        was = before.get(want.names.url)
        if was is not None and was.head.chunk_id != want.head.chunk_id:
            want = want.with_previous(was.head.chunk_id)
            held.update(was.chunks)
        held.update(want.records)
    return held


def foreign_records() -> list[Record]:
    """Records under ``_torrent`` that this publisher must never touch: one that
    is not torrent1 at all, and a URL published by another owner."""
    other = encode(torrent(90, 0), names_for(url(90)), Encoding(chunk_size=400, owner=OTHER_OWNER))
    junk = Record(f"notes._torrent.{HOST}.", 3600, "hand-written, not torrent1")
    return [junk, *other.records]


# The tests. Each takes the ``harness`` fixture of tests/test_conformance.py.


def test_first_publish(harness: Harness) -> None:
    want = desired({0: 0, 1: 0, 2: 0})
    plan = sync(harness, want)
    assert plan.count(Action.CREATE) == len(records_of(want))
    assert harness.held() == records_of(want)
    assert set(harness.provider().records()) == records_of(want)
    for i in range(3):
        assert resolve(harness.held(), url(i)) == torrent(i, 0)


def test_a_rerun_plans_and_writes_nothing(harness: Harness) -> None:
    want = desired({0: 0, 1: 0})
    sync(harness, want)
    before, calls = harness.held(), harness.write_calls()
    plan = sync(harness, want)
    assert not plan.has_changes
    assert harness.write_calls() == calls
    assert harness.held() == before


def test_a_changed_artifact_keeps_the_previous_set_and_drops_older_ones(
    harness: Harness,
) -> None:
    v0, v1, v2 = (desired({0: v, 1: 0}) for v in range(3))
    head = v0[0].names.head_name
    sync(harness, v0)
    plan = sync(harness, v1)
    changed = [p.name for p in plan.phases if p.changes]
    assert changed == [PhaseName.CHUNKS, PhaseName.HEADS]
    held = harness.held()
    assert resolve(held, url(0)) == torrent(0, 1)
    assert resolve(held, url(1)) == torrent(1, 0)
    assert chunk_ids(held, head) == {v0[0].head.chunk_id, v1[0].head.chunk_id}
    assert set(v0[0].chunks) <= held  # a resolver holding the old head still finds its chunks

    plan = sync(harness, v2)
    assert [p.name for p in plan.phases if p.changes] == [
        PhaseName.CHUNKS,
        PhaseName.HEADS,
        PhaseName.REMOVE_CHUNKS,
    ]
    held = harness.held()
    assert resolve(held, url(0)) == torrent(0, 2)
    assert chunk_ids(held, head) == {v1[0].head.chunk_id, v2[0].head.chunk_id}
    live = Head.from_text(next(r.value for r in held if r.name == head))
    assert live.previous == v1[0].head.chunk_id


def test_prune_removes_owned_urls_no_longer_built(harness: Harness) -> None:
    sync(harness, desired({0: 0, 1: 0, 2: 0}))
    sync(harness, desired({0: 0, 1: 0}))
    assert resolve(harness.held(), url(2)) == torrent(2, 0)  # kept without --prune
    plan = sync(harness, desired({0: 0, 1: 0}), prune=True)
    assert [p.name for p in plan.phases if p.changes] == [
        PhaseName.REMOVE_HEADS,
        PhaseName.REMOVE_CHUNKS,
    ]
    assert harness.held() == records_of(desired({0: 0, 1: 0}))


def test_foreign_records_and_other_owners_are_left_alone(harness: Harness) -> None:
    foreign = foreign_records()
    for record in foreign:
        harness.add_foreign(record)
    sync(harness, desired({0: 0, 1: 0}))
    sync(harness, desired({0: 1}), prune=True)
    held = harness.held()
    assert set(foreign) <= held
    assert held - set(foreign) == after_update({0: 0, 1: 0}, {0: 1})
    assert resolve(held, url(90)) == torrent(90, 0)


def test_safety_threshold_stops_a_plan_before_any_write(harness: Harness) -> None:
    sync(harness, desired(dict.fromkeys(range(6), 0)))
    before, calls = harness.held(), harness.write_calls()
    with pytest.raises(SafetyThreshold):
        sync(harness, desired({}), prune=True, force=False)
    assert harness.held() == before
    assert harness.write_calls() == calls
    sync(harness, desired({}), prune=True)
    assert harness.held() == set()


OLD = {0: 0, 1: 0, 2: 0, 3: 0}  # 0 changes, 1 stays, 2 is pruned, 4 is new
NEW = {0: 1, 1: 0, 4: 0}
MAX_WRITES = 200


def test_a_sync_stopped_after_any_write_leaves_old_or_new(harness: Harness) -> None:
    """Make the backend fail after 0, 1, 2, … write calls, until a sync goes through:
    every URL resolves to its old torrent or its new one after each."""
    old_held = None
    for n in range(MAX_WRITES):
        harness.reset()
        sync(harness, desired(OLD))
        old_held = old_held or harness.held()
        provider = harness.provider()
        plan = plan_target(
            provider, desired(NEW), provider.records(), Policy(owner=OWNER, prune=True)
        )
        try:
            with harness.failing_after(n):
                provider.apply(plan)
        except (InjectedFailure, TorpubError):
            _check_old_or_new(harness.held(), old_held, n)
            _check_a_rerun_recovers(harness, n)
            continue
        assert n > 0 or not plan.has_changes, "the backend made no write call"
        assert harness.held() == after_update(OLD, NEW)
        return
    pytest.fail(f"the sync still failed after {MAX_WRITES} write calls")


def _check_a_rerun_recovers(harness: Harness, n: int) -> None:
    """The next sync after the failure publishes the new state."""
    sync(harness, desired(NEW), prune=True)
    held = harness.held()
    for i in sorted(OLD.keys() | NEW.keys()):
        want = torrent(i, NEW[i]) if i in NEW else None
        assert resolve(held, url(i)) == want, f"a re-run after {n} writes left {url(i)} behind"


def _check_old_or_new(held: set[Record], old_held: set[Record], n: int) -> None:
    for i in sorted(OLD.keys() | NEW.keys()):
        got = resolve(held, url(i))
        old = torrent(i, OLD[i]) if i in OLD else None
        new = torrent(i, NEW[i]) if i in NEW else None
        assert got in (old, new), f"after {n} writes, {url(i)} resolves to neither"
    # A resolver still holding an old head finds its chunks.
    for record in old_held:
        parsed = parse_name(record.name)
        if parsed and parsed.chunk_id and parsed.key == names_for(url(0)).key:
            assert record in held, f"after {n} writes, old chunk {record.name} is gone"
