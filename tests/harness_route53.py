"""moto's Route 53 in server mode on loopback, and the route53 conformance harness.

The server is moto's own WSGI app served over real HTTP; boto3 reaches it
through ``AWS_ENDPOINT_URL`` exactly as it would reach AWS. A thin WSGI layer in
front counts the write calls (``ChangeResourceRecordSets``) and can answer one
with an error instead of passing it on, as Route 53 does when it throttles.
"""

from __future__ import annotations

import contextlib
import io
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from torpub.format.records import Record
from torpub.provider import Target
from torpub.testing.conformance import InjectedFailure
from torpub_providers.route53.batches import Limits
from torpub_providers.route53.client import Backoff
from torpub_providers.route53.provider import Route53Provider

ZONE = "example.com."
WRITE_PATH = "/rrset"
ERROR_XML = (
    '<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    "<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
    "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)
StartResponse = Callable[..., Any]


class MotoRoute53:
    """moto behind a WSGI layer that counts and can fail write calls."""

    def __init__(self) -> None:
        self._app = DomainDispatcherApplication(create_backend_app)
        self.writes = 0
        self.requests: list[tuple[str, str]] = []
        self.fail_at: int | None = None
        self.errors: list[str] = []  # error codes for the next write calls, in order
        self.error_message = "Rate exceeded"
        self.bodies: list[bytes] = []  # every write call's request body, as sent
        self._lock = threading.Lock()
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        with self._lock:
            self.requests.append((method, path))
            if method == "POST" and path.rstrip("/").endswith(WRITE_PATH):
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                if self.errors:
                    return _error(start_response, self.errors.pop(0), self.error_message)
                if self.fail_at is not None and self.writes >= self.fail_at:
                    return _error(start_response, "InjectedFailure", "the test stops here")
                self.writes += 1
                self.bodies.append(body)
        result: Iterable[bytes] = self._app(environ, start_response)
        return result

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        self.writes, self.fail_at, self.errors = 0, None, []
        self.error_message = "Rate exceeded"
        self.requests.clear()
        self.bodies.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    body = ERROR_XML.format(code=code, message=message).encode()
    start_response(
        "400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
    )
    return [body]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoRoute53]:
    server = MotoRoute53()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoRoute53, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> MotoRoute53:
    """moto, reset, with boto3's chain pointed at it and fake credentials only."""
    moto_server.reset()
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-key-must-never-be-printed")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_server


def route53_api() -> Any:
    return boto3.client("route53")


def create_zone(name: str = ZONE, private: bool = False) -> str:
    params: dict[str, Any] = {"Name": name, "CallerReference": f"{name}-{private}-{id(name)}"}
    if private:
        params["VPC"] = {"VPCRegion": "us-east-1", "VPCId": "vpc-12345678"}
        params["HostedZoneConfig"] = {"PrivateZone": True, "Comment": "private"}
    zone_id: str = route53_api().create_hosted_zone(**params)["HostedZone"]["Id"]
    return zone_id.rsplit("/", 1)[-1]


def txt_text(record: Record) -> str:
    """A record's value in presentation form, written by dnspython, not torpub."""
    strings = [s for s in record.strings()]
    rdata = dns.rdata.from_wire(
        dns.rdataclass.IN,
        dns.rdatatype.TXT,
        b"".join(bytes([len(s)]) + s for s in strings),
        0,
        sum(1 + len(s) for s in strings),
    )
    return rdata.to_text()


def held_records(zone_id: str) -> set[Record]:
    """The zone's TXT records under _torrent, parsed by dnspython."""
    held = set()
    pages = route53_api().get_paginator("list_resource_record_sets")
    for page in pages.paginate(HostedZoneId=zone_id):
        for rrset in page["ResourceRecordSets"]:
            name = rrset["Name"].lower()
            if rrset["Type"] != "TXT" or "_torrent" not in name.split("."):
                continue
            for rr in rrset["ResourceRecords"]:
                rdata = dns.rdata.from_text("IN", "TXT", rr["Value"])
                held.add(Record.from_strings(name, rrset["TTL"], rdata.strings))
    return held


class Route53Harness:
    def __init__(self, server: MotoRoute53, limits: Limits) -> None:
        self.server = server
        self.limits = limits
        self.zone_id = create_zone()
        self.sleeps: list[float] = []

    @property
    def zone(self) -> str:
        return ZONE

    def provider(self, **options: str) -> Route53Provider:
        return Route53Provider(
            Target("route53", "example.com", options),
            limits=self.limits,
            backoff=Backoff(sleep=self.sleeps.append),
        )

    def held(self) -> set[Record]:
        return held_records(self.zone_id)

    def add_foreign(self, record: Record) -> None:
        rrset = {
            "Name": record.name,
            "Type": "TXT",
            "TTL": record.ttl,
            "ResourceRecords": [{"Value": txt_text(record)}],
        }
        route53_api().change_resource_record_sets(
            HostedZoneId=self.zone_id,
            ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": rrset}]},
        )
        self.server.writes -= 1  # not the backend's write
        self.server.bodies.pop()

    def reset(self) -> None:
        # A fresh server and zone: moto refuses to re-CREATE a set it once held
        # whenever a later name exists (its check looks past the name), which
        # Route 53 does not do.
        writes = self.server.writes
        self.server.reset()
        self.server.writes = writes
        self.zone_id = create_zone()

    def write_calls(self) -> int:
        return self.server.writes

    @contextlib.contextmanager
    def failing_after(self, n: int) -> Iterator[None]:
        self.server.fail_at = self.server.writes + n
        try:
            yield
        finally:
            self.server.fail_at = None


@pytest.fixture
def route53(aws: MotoRoute53) -> Route53Harness:
    # Small request limits, so that even a small plan is cut into several batches.
    return Route53Harness(aws, Limits(records=6, chars=3000))


__all__ = ["InjectedFailure", "MotoRoute53", "Route53Harness", "aws", "moto_server", "route53"]
