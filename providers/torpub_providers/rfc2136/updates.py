"""How a plan's changes become RFC 2136 UPDATE messages: the changes grouped by
name, each group's prerequisite and records, and the groups batched by message size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.update

from torpub.format.names import canonical_name
from torpub.format.records import Record
from torpub.publish.plan import Action, Change


@dataclass(frozen=True)
class NameChange:
    """Everything one phase does at one name, and what it must find there first."""

    name: str
    old: tuple[Record, ...]
    new: tuple[Record, ...]

    def size(self) -> int:
        """About how many octets this adds to an update message (names uncompressed)."""
        owner = len(self.name) + 2
        rrs = [*self.old, *self.old, *self.new]  # the prerequisite, the delete, the add
        total = sum(owner + 10 + sum(1 + len(s) for s in r.strings()) for r in rrs)
        return total + (0 if self.old else owner + 10)


def name_changes(changes: Iterable[Change]) -> list[NameChange]:
    old: dict[str, list[Record]] = {}
    new: dict[str, list[Record]] = {}
    for change in changes:
        name = canonical_name(change.record.name)
        old.setdefault(name, [])
        new.setdefault(name, [])
        if change.action is not Action.CREATE:
            old[name].append(change.old or change.record)
        if change.action is not Action.DELETE:
            new[name].append(change.record)
    return [NameChange(n, tuple(old[n]), tuple(new[n])) for n in old]


def batches(groups: Sequence[NameChange], limit: int) -> Iterator[list[NameChange]]:
    """Consecutive runs of groups whose messages stay within ``limit`` octets."""
    batch: list[NameChange] = []
    size = 0
    for group in groups:
        if batch and size + group.size() > limit:
            yield batch
            batch, size = [], 0
        batch.append(group)
        size += group.size()
    if batch:
        yield batch


def prerequisite(message: dns.update.UpdateMessage, group: NameChange) -> None:
    if group.old:
        rdataset = dns.rdataset.from_rdata_list(0, [rdata(r) for r in group.old])
        message.present(group.name, rdataset)
    else:
        message.absent(group.name, dns.rdatatype.TXT)


def rdata(record: Record) -> dns.rdata.Rdata:
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, record.strings())
