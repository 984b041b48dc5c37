"""The wire side of the rfc2136 backend: zone transfers, TXT queries and UPDATE
messages to one server, TSIG-signed, with the server's answers turned into errors."""

from __future__ import annotations

from collections.abc import Sequence

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update
import dns.xfr

from torpub.errors import ProviderError, ZoneUnlisted
from torpub.format.names import canonical_name
from torpub.format.records import Record
from torpub_providers.rfc2136.options import Rfc2136Options
from torpub_providers.rfc2136.updates import NameChange, prerequisite, rdata

NAME = "rfc2136"
_STALE = {dns.rcode.YXDOMAIN, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.NXRRSET}
_TSIG_ERRORS = {
    dns.rcode.BADSIG: "BADSIG: the server's copy of key {key} has another secret",
    dns.rcode.BADKEY: "BADKEY: the server does not know key {key} (or not with this algorithm)",
    dns.rcode.BADTIME: "BADTIME: this machine's clock and the server's differ by more than the fudge",
}


class TransferRefused(ZoneUnlisted):
    """The server will not transfer the zone: read the records by name instead."""


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
            Record.from_strings(canonical_name(rrset.name), rrset.ttl, rd.strings)
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
            prerequisite(message, group)
            if not check_only:
                for record in group.old:
                    message.delete(group.name, rdata(record))
                for record in group.new:
                    message.add(group.name, record.ttl, rdata(record))
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
