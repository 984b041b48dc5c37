"""The thin boto3 client the Route 53 backend makes its calls through: retries
with jittered backoff on throttling, paging, and errors with credentials cut out.

An error names the operation, the HTTP status and Route 53's error code, with a
short reason; never the response body, which an endpoint may fill with the signed
request it received (``X-Amz-Security-Token`` and all)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from torpub.errors import ConfigError, ProviderError
from torpub.redaction import reason

NAME = "route53"
RETRIED = frozenset({"Throttling", "ThrottlingException", "PriorRequestNotComplete"})
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter; ``sleep`` and ``rng`` are injectable."""

    base: float = 0.2
    cap: float = 20.0
    attempts: int = MAX_ATTEMPTS
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = random.Random()  # noqa: RUF009 - shared on purpose, only jitter

    def delays(self) -> Iterator[float]:
        for attempt in range(self.attempts - 1):
            yield self.rng.uniform(0, min(self.cap, self.base * 2**attempt))


class Route53Client:
    """The boto3 calls torpub makes, with retries and secret-free errors."""

    def __init__(self, profile: str | None = None, backoff: Backoff = Backoff()) -> None:
        # boto3 is imported here, when a target is opened: listing the backend's
        # options (torpub sync --help) must not pay for it.
        import boto3  # type: ignore[import-untyped]
        import botocore.config  # type: ignore[import-untyped]
        import botocore.exceptions  # type: ignore[import-untyped]

        try:
            self._session = boto3.Session(profile_name=profile)
        except botocore.exceptions.BotoCoreError as e:
            raise ConfigError(f"route53: {self.redact(str(e))}") from e
        config = botocore.config.Config(
            retries={"total_max_attempts": 1}, user_agent_extra="torpub"
        )
        self._api = self._session.client("route53", config=config)
        self._backoff = backoff
        self.calls: dict[str, int] = {}
        # The status of the last answer, for an error about a body that does not parse.
        self._status: int | None = None
        self._api.meta.events.register("before-parse", self._saw_answer)

    def _saw_answer(self, response_dict: dict[str, Any] | None = None, **_: Any) -> None:
        self._status = (response_dict or {}).get("status_code")

    def redact(self, text: str) -> str:
        """``text`` with every credential the session holds cut out."""
        import botocore.exceptions

        try:
            creds = self._session.get_credentials()
        except (AttributeError, botocore.exceptions.BotoCoreError):
            creds = None
        if creds is not None:
            frozen = creds.get_frozen_credentials()
            for secret in (frozen.secret_key, frozen.token, frozen.access_key):
                if secret:
                    text = text.replace(secret, "[redacted]")
        return text

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        import botocore.exceptions
        import botocore.parsers  # type: ignore[import-untyped]

        delays = self._backoff.delays()
        while True:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            try:
                result: dict[str, Any] = getattr(self._api, _snake(operation))(**params)
                return result
            except botocore.exceptions.ClientError as e:
                code = str(e.response.get("Error", {}).get("Code", ""))
                delay = next(delays, None) if code in RETRIED else None
                if delay is None:
                    self._fail(operation, e)
                self._backoff.sleep(delay)
            except botocore.exceptions.NoCredentialsError as e:
                raise ConfigError(
                    "route53: no AWS credentials found (profile, environment or instance role)"
                ) from e
            except (botocore.exceptions.BotoCoreError, botocore.parsers.ResponseParserError) as e:
                self._fail(operation, e)

    def _fail(self, operation: str, error: Exception) -> NoReturn:
        # from None: the SDK's exception may hold the body and the signed request.
        raise ProviderError(NAME, f"{operation} failed {self._why(error)}") from None

    def _why(self, error: Exception) -> str:
        import botocore.exceptions
        import botocore.parsers

        if isinstance(error, botocore.exceptions.ClientError):
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            detail = error.response.get("Error", {})
            message = reason(self.redact(str(detail.get("Message") or "")))
            return f"(HTTP {status}, {detail.get('Code') or 'no error code'}): {message}".rstrip(
                ": "
            )
        if isinstance(error, botocore.parsers.ResponseParserError):
            return f"(HTTP {self._status or '?'}): the answer is not Route 53's (it does not parse)"
        return f"({type(error).__name__}): {reason(self.redact(str(error)))}"

    def pages(self, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list call (Route 53's Next* markers)."""
        while True:
            page = self.call(operation, **params)
            yield from page.get(key, [])
            if not page.get("IsTruncated"):
                return
            params = {**params, **_next_markers(page)}


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _next_markers(page: dict[str, Any]) -> dict[str, Any]:
    markers = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
    if page.get("NextRecordIdentifier"):
        markers["StartRecordIdentifier"] = page["NextRecordIdentifier"]
    return markers
