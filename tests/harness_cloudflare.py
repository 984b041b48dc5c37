"""The strict Cloudflare v4 stand-in on loopback, and the cloudflare conformance harness."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dns.rdata
import pytest
from cloudflare_api import CloudflareServer, Zone, record_json

from torpub.format.records import Record
from torpub.provider import Target
from torpub_providers.cloudflare.client import Pacing
from torpub_providers.cloudflare.provider import CloudflareProvider

ZONE = "example.com."
TOKEN = "cf-test-token-0123456789abcdef-never-print"


@pytest.fixture(scope="session")
def cloudflare_server() -> Iterator[CloudflareServer]:
    server = CloudflareServer(TOKEN)
    yield server
    server.stop()


@pytest.fixture
def cf(cloudflare_server: CloudflareServer, monkeypatch: pytest.MonkeyPatch) -> CloudflareServer:
    """The server, emptied, with the SDK's environment pointing at it."""
    api = cloudflare_server.api
    with api.lock:
        api.zones.clear()
        api.calls.clear()
        api.batches.clear()
        api.writes, api.fail_at, api.throttle = 0, None, []
        api.echo_token_in_errors = False
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", cloudflare_server.base_url)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    for key in ("CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", "CLOUDFLARE_API_USER_SERVICE_KEY"):
        monkeypatch.delenv(key, raising=False)
    return cloudflare_server


class CloudflareHarness:
    def __init__(self, server: CloudflareServer, batch_size: int) -> None:
        self.server = server
        self.batch_size = batch_size
        self.sleeps: list[float] = []
        self.cf_zone = self._new_zone()

    def _new_zone(self) -> Zone:
        return self.server.api.add_zone(ZONE, plan="free", record_quota=200)

    @property
    def zone(self) -> str:
        return ZONE

    def provider(self, **options: str) -> CloudflareProvider:
        opts = {"batch_size": str(self.batch_size), **options}
        return CloudflareProvider(
            Target("cloudflare", "example.com", opts), pacing=Pacing(sleep=self.sleeps.append)
        )

    def held(self) -> set[Record]:
        held = set()
        with self.server.api.lock:
            stored = list(self.cf_zone.records.values())
        for item in stored:
            name = item["name"] + "."
            if "_torrent" in name.split("."):
                rdata = dns.rdata.from_text("IN", "TXT", item["content"])
                held.add(Record.from_strings(name, item["ttl"], rdata.strings))
        return held

    def add_foreign(self, record: Record) -> None:
        rdata = dns.rdata.from_wire(
            "IN", "TXT", b"".join(bytes([len(s)]) + s for s in record.strings()), 0,
            sum(1 + len(s) for s in record.strings()),
        )  # fmt: skip
        api = self.server.api
        with api.lock:
            record_id = api.new_id()
            body = {"name": record.name.rstrip("."), "type": "TXT", "content": rdata.to_text()}
            self.cf_zone.records[record_id] = record_json(record_id, {**body, "ttl": record.ttl})

    def reset(self) -> None:
        with self.server.api.lock:
            self.cf_zone.records.clear()

    def write_calls(self) -> int:
        return self.server.api.writes

    @contextlib.contextmanager
    def failing_after(self, n: int) -> Iterator[None]:
        self.server.api.fail_at = self.server.api.writes + n
        try:
            yield
        finally:
            self.server.api.fail_at = None


@pytest.fixture
def cloudflare(cf: CloudflareServer) -> CloudflareHarness:
    # A small batch size, so that even a small plan takes several batches.
    return CloudflareHarness(cf, batch_size=5)


__all__ = ["CloudflareHarness", "cf", "cloudflare", "cloudflare_server"]
