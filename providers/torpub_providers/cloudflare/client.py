"""The thin ``cloudflare`` SDK client the Cloudflare backend makes its calls through:
429s waited out as Retry-After asks, paging, and errors with the API token cut out.

An error names the call, the HTTP status and Cloudflare's first error code and
message; never the response body or the request, which carry the token."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import cloudflare
    import httpx

from torpub.errors import ProviderError
from torpub.format.names import LABEL
from torpub.redaction import reason

NAME = "cloudflare"
MAX_RATE_RETRIES = 6
DEFAULT_RETRY_AFTER = 5.0
T = TypeVar("T")


@dataclass(frozen=True)
class Pacing:
    """How 429s are waited out; ``sleep`` is injectable."""

    retries: int = MAX_RATE_RETRIES
    sleep: Callable[[float], None] = time.sleep


class CloudflareClient:
    """The SDK calls torpub makes: rate-limit aware, and secret-free in errors."""

    def __init__(self, token: str, pacing: Pacing = Pacing()) -> None:
        # The SDK is imported here, when a target is opened: listing the backend's
        # options (torpub sync --help) must not pay for it.
        import cloudflare

        self._token = token
        # 429s are handled here, where Retry-After is honoured however long it is.
        # The status of the last answer, for an error about a body that does not parse.
        self._status: int | None = None
        http = cloudflare.DefaultHttpxClient(event_hooks={"response": [self._saw_answer]})
        self._sdk = cloudflare.Cloudflare(api_token=token, max_retries=0, http_client=http)
        self._pacing = pacing
        self.calls: dict[str, int] = {}

    def _saw_answer(self, response: httpx.Response) -> None:
        self._status = response.status_code

    def redact(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        import cloudflare

        for attempt in range(self._pacing.retries + 1):
            self.calls[what] = self.calls.get(what, 0) + 1
            try:
                return fn()
            except cloudflare.RateLimitError as e:
                if attempt == self._pacing.retries:
                    raise self._error(what, e) from None
                self._pacing.sleep(_retry_after(e.response.headers.get("retry-after")))
            except cloudflare.APIError as e:
                raise self._error(what, e) from None
            except (ValueError, TypeError, AttributeError):
                # What the SDK raises for a body that is not the API's JSON.
                raise ProviderError(NAME, f"{what} failed {self._unparsed()}") from None
        raise AssertionError("unreachable")

    def _error(self, what: str, error: cloudflare.APIError) -> ProviderError:
        import cloudflare

        # ``from None``: the SDK's exception carries the request, headers included.
        if isinstance(error, cloudflare.APIStatusError):
            status = error.status_code
            return ProviderError(NAME, f"{what} failed (HTTP {status}): {self._said(error.body)}")
        if isinstance(error, cloudflare.APIResponseValidationError):
            return ProviderError(NAME, f"{what} failed {self._unparsed()}")
        why = "timed out" if isinstance(error, cloudflare.APITimeoutError) else "cannot connect"
        return ProviderError(NAME, f"{what} failed: {why}")

    def _unparsed(self) -> str:
        return f"(HTTP {self._status or '?'}): the answer is not Cloudflare's (it does not parse)"

    def _said(self, body: object) -> str:
        """Cloudflare's first error as ``code message``, from an error body."""
        errors = body.get("errors") if isinstance(body, dict) else None
        first = errors[0] if isinstance(errors, list) and errors else None
        if not isinstance(first, dict):
            return "no error message"
        return reason(self.redact(f"{first.get('code', '')} {first.get('message', '')}".strip()))

    def zones(self, name: str) -> list[Any]:
        return self._call("list zones", lambda: list(self._sdk.zones.list(name=name)))

    def zone(self, zone_id: str) -> Any:
        return self._call("get zone", lambda: self._sdk.zones.get(zone_id=zone_id))

    def usage(self, zone_id: str, account_id: str | None) -> tuple[int, int | None, str]:
        """Records held and the quota they count against: the zone's, else the account's."""
        zone = self._call("get record usage", lambda: self._sdk.dns.usage.zone.get(zone_id=zone_id))
        if zone is None:
            raise ProviderError(NAME, "the record usage call returned nothing")
        if zone.record_quota is not None or account_id is None:
            return zone.record_usage, zone.record_quota, "zone"
        account = self._call(
            "get account record usage",
            lambda: self._sdk.dns.usage.account.get(account_id=account_id),
        )
        if account is None:
            return zone.record_usage, None, "zone"
        return account.record_usage, account.record_quota, "account"

    def txt_records(self, zone_id: str, per_page: int) -> Iterator[Any]:
        """TXT records whose names contain ``_torrent``, page by page."""
        page = self._call(
            "list records",
            lambda: self._sdk.dns.records.list(
                zone_id=zone_id, type="TXT", name={"contains": LABEL}, per_page=per_page
            ),
        )
        while True:
            yield from page.result
            if not page.has_next_page():
                return
            page = self._call("list records", page.get_next_page)

    def batch(self, zone_id: str, ops: Operations) -> None:
        self._call(
            "batch",
            lambda: self._sdk.dns.records.batch(
                zone_id=zone_id, deletes=ops.deletes, patches=ops.patches, posts=ops.posts
            ),
        )


@dataclass
class Operations:
    """One batch request's body: executed as deletes, then patches, then posts."""

    deletes: list[Any] = field(default_factory=list)
    patches: list[Any] = field(default_factory=list)
    posts: list[Any] = field(default_factory=list)


def _retry_after(header: str | None) -> float:
    try:
        return max(0.0, float(header)) if header is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER
