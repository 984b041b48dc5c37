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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import dns.tsig
import dns.update
import dns.xfr

from torpub import tsig
from torpub.errors import (
    ConfigError,
    ProviderError,
    RecordError,
    ZoneUnlisted,
)
from torpub.names import LABEL
from torpub.plan import Action, Change, Plan
from torpub.provider import Capabilities, Target, check_plan_zone, zone_name
from torpub.records import Head, Record

NAME = "rfc2136"
DEFAULT_PORT = 53
DEFAULT_TIMEOUT = 10.0
# Well under TCP's 65535 octets, so a server's own limits and the TSIG record fit.
DEFAULT_MAX_MESSAGE = 32768
# A value this long still fits one update that also names it as a prerequisite.
MAX_VALUE_LENGTH = 30000
# Chunk sets found by querying stop here (a head says n; an old set is probed).
MAX_PROBED_CHUNKS = 1024
_OPTIONS = {"server", "tsig_key_file", "tsig_key", "timeout", "max_message"}
_STALE = {dns.rcode.YXDOMAIN, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.NXRRSET}
_TSIG_ERRORS = {
    dns.rcode.BADSIG: "BADSIG: the server's copy of key {key} has another secret",
    dns.rcode.BADKEY: "BADKEY: the server does not know key {key} (or not with this algorithm)",
    dns.rcode.BADTIME: "BADTIME: this machine's clock and the server's differ by more than the fudge",
}


class StaleRecords(ProviderError):
    """The zone no longer holds what the plan was made from."""

    def __init__(self, names: Sequence[str], where: str) -> None:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        super().__init__(
            NAME,
            f"{shown or 'a name'} changed since the plan; {where}plan again",
        )
        self.names = tuple(names)


class TransferRefused(ZoneUnlisted):
    """The server will not transfer the zone: read the records by name instead."""


@dataclass(frozen=True)
class Rfc2136Options:
    host: str
    port: int
    key: tsig.TsigKey | None
    timeout: float = DEFAULT_TIMEOUT
    max_message: int = DEFAULT_MAX_MESSAGE

    @classmethod
    def from_target(cls, target: Target) -> Rfc2136Options:
        target.check_options(_OPTIONS)
        server = target.options.get("server")
        if not isinstance(server, str) or not server:
            raise ConfigError("the rfc2136 provider needs a server (--server HOST[:PORT])")
        host, port = split_server(server)
        key_file = target.options.get("tsig_key_file")
        key_name = target.options.get("tsig_key")
        key = None
        if key_file is not None:
            key = read_key(Path(str(key_file)), None if key_name is None else str(key_name))
        elif key_name is not None:
            raise ConfigError("the tsig_key option names a key in --tsig-key-file; pass the file")
        return cls(
            host,
            port,
            key,
            _number(target, "timeout", float, DEFAULT_TIMEOUT),
            int(_number(target, "max_message", int, DEFAULT_MAX_MESSAGE)),
        )


def split_server(server: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` or a bare IPv6 address."""
    host, port = server, DEFAULT_PORT
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), server)
    elif server.count(":") == 1:
        host, text = server.split(":")
        port = _port(text, server)
    if not host:
        raise ConfigError(f"server {server!r} has no host")
    return host, port


def _port(text: str, server: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"server {server!r} has no valid port after ':'")
    return int(text)


def _number(target: Target, key: str, kind: type[float] | type[int], default: float) -> float:
    value = target.options.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"rfc2136 option {key} must be a number, not {value!r}") from None
    if number <= 0:
        raise ConfigError(f"rfc2136 option {key} must be positive")
    return number


def read_key(path: Path, name: str | None = None) -> tsig.TsigKey:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read TSIG key file {path}: {e.strerror}") from e
    except UnicodeDecodeError:
        raise ConfigError(f"TSIG key file {path} is not text") from None
    try:
        return tsig.from_text(text, name)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e


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
        name = _canonical(change.record.name)
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


class UpdateClient:
    """The wire side: AXFR, queries and UPDATE messages to one server, signed
    with the key when there is one."""

    def __init__(self, options: Rfc2136Options, zone: str) -> None:
        self._options = options
        self._zone = dns.name.from_text(zone)
        self._tsig = options.key

    @property
    def _key(self) -> dns.tsig.Key | None:
        # Made afresh for each use and never kept: dnspython's repr of a Key shows its secret.
        key = self._tsig
        return None if key is None else dns.tsig.Key(key.name, key.secret, key.algorithm)

    @property
    def overhead(self) -> int:
        """Octets of an update besides its prerequisites and updates: the header,
        the zone section and, with a key, the TSIG record (its MAC at most 64)."""
        tsig_size = 0
        key = self._key
        if key is not None:
            tsig_size = len(key.name.to_wire() or b"") + 10 + len(key.algorithm.to_wire() or b"")
            tsig_size += 16 + 64
        return 12 + len(self._zone.to_wire() or b"") + 4 + tsig_size

    @property
    def where(self) -> str:
        return f"{self._options.host} port {self._options.port}"

    def transfer(self) -> list[dns.rrset.RRset]:
        """Every RRset of the zone, by AXFR over TCP."""
        rrsets: list[dns.rrset.RRset] = []
        key = self._key
        try:
            for message in dns.query.xfr(
                self._options.host,
                self._zone,
                port=self._options.port,
                keyring={key.name: key} if key else None,
                keyalgorithm=key.algorithm if key else dns.tsig.default_algorithm,
                timeout=self._options.timeout,
                lifetime=self._options.timeout * 3,
                relativize=False,
            ):
                rrsets.extend(message.answer)
        except dns.xfr.TransferError as e:
            if e.rcode == dns.rcode.REFUSED:
                raise TransferRefused(
                    NAME,
                    f"{self.where} refused the transfer of zone {self._zone} "
                    f"({dns.rcode.to_text(e.rcode)}); allow AXFR to the key, or read by name",
                ) from None
            raise self._failed("the zone transfer", e.rcode) from None
        except dns.exception.DNSException as e:
            raise self._wire_error("the zone transfer", e) from None
        except OSError as e:
            raise self._unreachable(e) from None
        return rrsets

    def txt(self, name: str) -> list[Record]:
        """The TXT records at ``name`` as the server holds them."""
        query = dns.message.make_query(name, "TXT", use_edns=0, payload=1232)
        key = self._key
        if key is not None:
            query.use_tsig(key)
        try:
            response, _ = dns.query.udp_with_fallback(
                query, self._options.host, timeout=self._options.timeout, port=self._options.port
            )
        except dns.exception.DNSException as e:
            raise self._wire_error(f"the query for {name}", e) from None
        except OSError as e:
            raise self._unreachable(e) from None
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return []
        if rcode != dns.rcode.NOERROR:
            raise self._failed(f"the query for {name}", rcode, response)
        return [
            Record.from_strings(rrset.name.to_text(), rrset.ttl, rd.strings)
            for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.TXT and rrset.name == dns.name.from_text(name)
            for rd in rrset
        ]

    def update(self, groups: Sequence[NameChange], *, check_only: bool = False) -> int:
        """Send one UPDATE for ``groups``; the rcode (NOERROR or a stale-plan code)."""
        message = dns.update.UpdateMessage(self._zone)
        key = self._key
        if key is not None:
            message.use_tsig(key)
        for group in groups:
            _prerequisite(message, group)
            if not check_only:
                for record in group.old:
                    message.delete(group.name, _rdata(record))
                for record in group.new:
                    message.add(group.name, record.ttl, _rdata(record))
        try:
            response = dns.query.tcp(
                message, self._options.host, port=self._options.port, timeout=self._options.timeout
            )
        except dns.exception.DNSException as e:
            raise self._wire_error("the update", e) from None
        except OSError as e:
            raise self._unreachable(e) from None
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR and rcode not in _STALE:
            raise self._failed("the update", rcode, response)
        return int(rcode)

    def _failed(
        self, what: str, rcode: int, response: dns.message.Message | None = None
    ) -> ProviderError:
        tsig_error = response.tsig_error if response is not None and response.had_tsig else 0
        if tsig_error in _TSIG_ERRORS:
            return self._tsig_problem(what, _TSIG_ERRORS[dns.rcode.Rcode.make(tsig_error)])
        text = dns.rcode.to_text(dns.rcode.Rcode.make(rcode))
        zone = self._zone.to_text()
        why = {
            dns.rcode.REFUSED: f"the server refused it for zone {zone}: its update-policy or "
            "allow-update does not grant this key (or address) TXT changes there",
            dns.rcode.NOTAUTH: f"the server is not authoritative for zone {zone} "
            "(or did not accept the key)",
            dns.rcode.NOTZONE: f"a name in it is not inside zone {zone}",
            dns.rcode.SERVFAIL: "the server failed (SERVFAIL); see its log",
        }.get(dns.rcode.Rcode.make(rcode), "the server answered with an error")
        return ProviderError(NAME, f"{what} to {self.where} failed ({text}): {why}")

    def _tsig_problem(self, what: str, why: str) -> ProviderError:
        key = self._options.key.name if self._options.key else "(none)"
        return ProviderError(NAME, f"{what} to {self.where} was refused: {why.format(key=key)}")

    def _wire_error(self, what: str, error: dns.exception.DNSException) -> ProviderError:
        if isinstance(error, dns.exception.Timeout):
            return ProviderError(NAME, f"{what}: {self.where} did not answer within the timeout")
        for kind, code in (
            (dns.tsig.PeerBadKey, dns.rcode.BADKEY),
            (dns.tsig.PeerBadSignature, dns.rcode.BADSIG),
            (dns.tsig.PeerBadTime, dns.rcode.BADTIME),
        ):
            if isinstance(error, kind):
                return self._tsig_problem(what, _TSIG_ERRORS[code])
        if isinstance(error, (dns.tsig.BadSignature, dns.message.UnknownTSIGKey)):
            return ProviderError(
                NAME, f"{what}: the answer from {self.where} is not signed by the key"
            )
        return ProviderError(NAME, f"{what} to {self.where} failed: {type(error).__name__}")

    def _unreachable(self, error: OSError) -> ProviderError:
        why = error.strerror or type(error).__name__
        return ProviderError(NAME, f"cannot reach {self.where}: {why}")


def _prerequisite(message: dns.update.UpdateMessage, group: NameChange) -> None:
    if group.old:
        rdataset = dns.rdataset.from_rdata_list(0, [_rdata(r) for r in group.old])
        message.present(group.name, rdataset)
    else:
        message.absent(group.name, dns.rdatatype.TXT)


def _rdata(record: Record) -> dns.rdata.Rdata:
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, record.strings())


class Rfc2136Provider:
    """Publishes into one zone of a primary that takes dynamic updates."""

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
        host, port = self._options.host, self._options.port
        return [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]

    def records(self) -> Sequence[Record]:
        origin = dns.name.from_text(self._zone)
        found = []
        for rrset in self._client.transfer():
            if rrset.rdtype != dns.rdatatype.TXT or rrset.rdclass != dns.rdataclass.IN:
                continue
            if not rrset.name.is_subdomain(origin) or not under_torrent(rrset.name):
                continue
            owner = rrset.name.canonicalize().to_text()
            found += [Record.from_strings(owner, rrset.ttl, rd.strings) for rd in rrset]
        return tuple(sorted(found))

    def records_at(self, head_names: Iterable[str]) -> Sequence[Record]:
        """The records under each head name, read by querying: the head, and the
        chunk sets it names (its own and its ``p=``). The fallback when AXFR is
        refused; chunk sets no head names stay unseen, so prune cannot find them."""
        found: list[Record] = []
        for head_name in sorted({_canonical(n) for n in head_names}):
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
                    raise StaleRecords(self._culprits(batch), where)

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
                raise StaleRecords(self._culprits(batch), "nothing was written; ")

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


def _canonical(name: str) -> str:
    return dns.name.from_text(name).canonicalize().to_text()
