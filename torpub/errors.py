"""The one exception tree of torpub; the CLI turns it into a line and an exit code.

TorpubError
├── ConfigError            bad configuration or flags
├── InvalidURL             a URL torpub cannot name in DNS
├── ArtifactError          a missing, unreadable or empty artifact
├── BudgetError            a torrent that cannot fit the DNS chunk budget
│   └── RecordBudgetError  a release that cannot fit --max-records
├── RecordError            records that do not decode to a torrent
│   ├── NotPublished       nothing is published for a URL
│   ├── NotValidated       answers without DNSSEC validation when it is required
│   ├── LimitExceeded      a head asks for more than the client allows
│   ├── MissingChunk       a chunk index has no record
│   └── ChecksumMismatch   records caught mid-update
├── PlanError              a plan torpub refuses to carry out
│   ├── OwnershipConflict  a URL published by another owner
│   ├── QuotaExceeded      a plan the target's record quota cannot hold
│   └── SafetyThreshold    a plan that deletes or rewrites too much
├── ZoneError              a zone that does not parse or contain a host
├── ProviderError          a DNS backend failed or refused
│   ├── StalePlan          the zone changed since the plan was made
│   └── ZoneUnlisted       the zone cannot be listed; read records by name
├── PropagationError       --wait gave up before the servers answered
├── ResolutionFailed       no resolver answered a query
└── DownloadError          an HTTP or BitTorrent download failed
"""

from __future__ import annotations

from collections.abc import Sequence


class TorpubError(Exception):
    """Root of every error torpub raises on purpose."""


class ConfigError(TorpubError):
    pass


class InvalidURL(TorpubError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"invalid URL {url!r}: {reason}")
        self.url = url


class ArtifactError(TorpubError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


class BudgetError(TorpubError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class RecordBudgetError(BudgetError):
    """The release needs more records than ``max_records`` even at the largest
    piece sizes; ``needed`` is the smallest budget that holds it."""

    def __init__(self, budget: int, needed: int) -> None:
        super().__init__(
            f"max_records {budget}",
            f"the release needs at least {needed} records (heads plus chunks at the "
            f"largest piece sizes); a budget of {needed} would fit",
        )
        self.budget = budget
        self.needed = needed


class RecordError(TorpubError):
    pass


class NotPublished(RecordError):
    def __init__(self, url: str) -> None:
        super().__init__(f"no torrent is published for {url}")
        self.url = url


class LimitExceeded(RecordError):
    pass


class MissingChunk(RecordError):
    def __init__(self, index: int, name: str) -> None:
        super().__init__(f"chunk {index} is missing ({name})")
        self.index = index
        self.name = name


class ChecksumMismatch(RecordError):
    def __init__(self, what: str, ttl: int | None = None) -> None:
        wait = f"after the head's TTL ({ttl} s)" if ttl is not None else "after the head's TTL"
        super().__init__(f"{what} differs: the records were caught mid-update; retry {wait}")
        self.what = what


class PlanError(TorpubError):
    pass


class OwnershipConflict(PlanError):
    def __init__(self, url: str, owner: str | None, ours: str | None) -> None:
        theirs = f"owner {owner!r}" if owner else "a publisher without an owner tag"
        mine = f"owner {ours!r}" if ours else "no owner"
        super().__init__(
            f"{url} is published by {theirs}; this run has {mine} and will not take it over"
        )
        self.url = url
        self.owner = owner


class SafetyThreshold(PlanError):
    def __init__(self, changed: int, owned: int, limit: float) -> None:
        super().__init__(
            f"the plan deletes or rewrites {changed} of {owned} owned records "
            f"(over {limit:.0%}); re-run with --force if that is intended"
        )
        self.changed = changed
        self.owned = owned


class QuotaExceeded(PlanError):
    """The plan's peak (every record created before any is removed) is over the
    target's record quota; ``missing`` is by how many."""

    def __init__(self, zone: str, quota: int, other: int, held: int, created: int) -> None:
        needed = other + held + created
        super().__init__(
            f"zone {zone} would need {needed} records ({other} other records + {held} "
            f"under _torrent + {created} created before any is removed) but its quota is "
            f"{quota}: {needed - quota} records missing; nothing was written. Publish "
            "fewer records (--max-records, --chunk-budget, a larger --chunk-size) or raise "
            "the quota"
        )
        self.zone = zone
        self.quota = quota
        self.missing = needed - quota


class ZoneError(TorpubError):
    pass


class ProviderError(TorpubError):
    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider


class StalePlan(ProviderError):
    """The zone no longer holds what the plan was made from (someone changed it
    since): nothing is overwritten, and a new plan is the way on. ``where`` says
    how much was written before it was noticed, ending in "; "."""

    def __init__(
        self,
        provider: str,
        names: Sequence[str],
        where: str = "nothing was written; ",
        why: str = "changed since the plan",
    ) -> None:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        super().__init__(provider, f"{shown or 'a name'} {why}; {where}plan again")
        self.names = tuple(names)


class ResolutionFailed(TorpubError):
    """No resolver answered a query (timeouts, SERVFAIL, REFUSED on every one)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"no resolver answered {name}: {reason}")
        self.name = name


class NotValidated(RecordError):
    """Answers without the resolver's AD bit when the caller requires DNSSEC."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"the records for {url} were not DNSSEC-validated by the resolver (no AD bit); "
            "refusing them as DNSSEC is required"
        )
        self.url = url


class DownloadError(TorpubError):
    """An HTTP or BitTorrent download that failed for a reason other than no answer."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url


class PropagationError(TorpubError):
    """Authoritative servers that do not answer what was written, after waiting."""

    def __init__(self, zone: str, server: str, names: list[str], timeout: float) -> None:
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        super().__init__(
            f"{server} does not answer for {zone} what was written after {timeout:.0f} s: "
            f"{', '.join(names[:3])}{more}"
        )
        self.zone = zone
        self.server = server
        self.names = names


class ZoneUnlisted(ProviderError):
    """The backend cannot list the zone (e.g. AXFR refused); read records by name."""
