"""Any primary that takes RFC 2136 dynamic updates (BIND, Knot, PowerDNS…) as a
torpub backend.

Records are read by a TSIG-signed AXFR, or, where transfers are refused, by
querying the names a plan needs (:meth:`Rfc2136Provider.records_at`). Each
phase of a plan goes out as one or more UPDATE messages, the next only after
the server has acknowledged the last. Every name carries a prerequisite on
what the plan saw there (RFC 2136 §2.4): the exact old RRset for an update or
delete, no TXT RRset for a create. A change made by someone else since the plan
therefore fails the update instead of being overwritten; and since all those
prerequisites are first sent on their own, such a plan writes nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from torpub.errors import ConfigError, RecordError, StalePlan
from torpub.format.names import LABEL
from torpub.format.records import Head, Record
from torpub.provider import (
    Capabilities,
    HostPort,
    Option,
    Target,
    canonical_name,
    check_plan_zone,
    zone_name,
)
from torpub.publish.plan import Plan
from torpub_providers.rfc2136.client import NAME, UpdateClient
from torpub_providers.rfc2136.options import OPTIONS, Rfc2136Options
from torpub_providers.rfc2136.updates import NameChange, batches, name_changes

# A value this long still fits one update that also names it as a prerequisite.
MAX_VALUE_LENGTH = 30000
# Chunk sets found by querying stop here (a head says n; an old set is probed).
MAX_PROBED_CHUNKS = 1024


# What rfc2136 raised before the one error for a stale plan existed.
StaleRecords = StalePlan


class Rfc2136Provider:
    """Publishes into one zone of a primary that takes dynamic updates."""

    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(self, target: Target) -> None:
        if not target.zone:
            raise ConfigError("the rfc2136 provider needs the zone's name (--zone)")
        self._zone = zone_name(target.zone)
        self._options = Rfc2136Options.from_target(target)
        self._client = UpdateClient(self._options, self._zone)

    @property
    def zone(self) -> str:
        return self._zone

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            max_value_length=MAX_VALUE_LENGTH, max_batch_chars=self._options.max_message
        )

    def nameservers(self) -> Sequence[str]:
        """The primary the updates go to, which answers them as soon as it acknowledges
        them (``torpub sync --wait`` checks it; secondaries follow by NOTIFY and IXFR)."""
        return [str(HostPort(self._options.host, self._options.port))]

    def records(self) -> Sequence[Record]:
        origin = dns.name.from_text(self._zone)
        found = []
        for rrset in self._client.transfer():
            if rrset.rdtype != dns.rdatatype.TXT or rrset.rdclass != dns.rdataclass.IN:
                continue
            if not rrset.name.is_subdomain(origin) or not under_torrent(rrset.name):
                continue
            owner = canonical_name(rrset.name)
            found += [Record.from_strings(owner, rrset.ttl, rd.strings) for rd in rrset]
        return tuple(sorted(found))

    def records_at(self, head_names: Iterable[str]) -> Sequence[Record]:
        """The records under each head name, read by querying: the head, and the
        chunk sets it names (its own and its ``p=``). The fallback when AXFR is
        refused; chunk sets no head names stay unseen, so prune cannot find them."""
        found: list[Record] = []
        for head_name in sorted({canonical_name(n) for n in head_names}):
            heads = self._client.txt(head_name)
            found += heads
            ids = set()
            for record in heads:
                try:
                    head = Head.from_text(record.value)
                except RecordError:
                    continue
                ids.add(head.chunk_id)
                if head.previous:
                    ids.add(head.previous)
            for chunk_id in sorted(ids):
                found += self._chunk_set(head_name, chunk_id)
        return tuple(sorted(found))

    def _chunk_set(self, head_name: str, chunk_id: str) -> list[Record]:
        found: list[Record] = []
        for index in range(MAX_PROBED_CHUNKS):
            at = self._client.txt(f"{index}.{chunk_id}.{head_name}")
            if not at:
                break
            found += at
        return found

    def apply(self, plan: Plan) -> None:
        check_plan_zone(plan, self._zone)
        phases = [(p.name, name_changes(p.changes)) for p in plan.phases if p.changes]
        self._check_prerequisites([g for _, groups in phases for g in groups])
        for index, (phase, groups) in enumerate(phases):
            done = [str(n) for n, _ in phases[:index]]
            for sent, batch in enumerate(batches(groups, self._room)):
                if self._client.update(batch) != dns.rcode.NOERROR:
                    where = _progress(done, str(phase), sent)
                    raise StalePlan(NAME, self._culprits(batch), where)

    @property
    def _room(self) -> int:
        return self._options.max_message - self._client.overhead

    def _check_prerequisites(self, groups: Sequence[NameChange]) -> None:
        """Every prerequisite, sent alone first: a stale plan then writes nothing.
        A name a later phase touches again is checked when that phase runs."""
        seen: set[str] = set()
        first = []
        for group in groups:
            if group.name not in seen:
                first.append(group)
            seen.add(group.name)
        for batch in batches(first, self._room):
            if self._client.update(batch, check_only=True) != dns.rcode.NOERROR:
                raise StalePlan(NAME, self._culprits(batch))

    def _culprits(self, batch: Sequence[NameChange]) -> list[str]:
        """Which names of a failed batch no longer match, probed one by one."""
        if len(batch) == 1:
            return [batch[0].name]
        return [
            g.name
            for g in batch[:64]
            if self._client.update([g], check_only=True) != dns.rcode.NOERROR
        ]


def _progress(done: Sequence[str], phase: str, sent: int) -> str:
    before = f"the phases {', '.join(done)} were applied; " if done else ""
    if sent:
        return f"{before}{sent} update messages of phase '{phase}' were applied; "
    return f"{before}nothing of phase '{phase}' was written; "


def under_torrent(name: dns.name.Name) -> bool:
    return LABEL.encode() in (label.lower() for label in name.labels)
