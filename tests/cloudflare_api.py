"""A strict loopback stand-in for the parts of Cloudflare's v4 API torpub uses.

No Cloudflare emulator exists, so this speaks the v4 JSON shapes (recorded from
Cloudflare's published API schema, as the official SDK's generated types carry
it: ``cloudflare/types/zones/zone.py``, ``types/dns/record_response.py``,
``record_batch_params.py``, ``record_batch_response.py``,
``types/dns/usage/zone_get_response.py``) for:

- ``GET  /zones`` (filter ``name``, paginated),  ``GET /zones/{id}``
- ``GET  /zones/{id}/dns_records`` (filters ``type``, ``name.*``, paginated)
- ``GET  /zones/{id}/dns_records/usage``, ``GET /accounts/{id}/dns_records/usage``
- ``POST /zones/{id}/dns_records/batch`` (deletes, patches, puts, posts; one
  transaction, executed in that order)

Every response is the v4 envelope (``success``, ``errors``, ``messages``,
``result``, ``result_info``). It is strict: an unknown path, query parameter or
body field, a bad token, a malformed TXT content, a batch over the plan's limit
or a write over the zone's record quota is an error with Cloudflare's shape.
It can answer 429 with ``Retry-After``, and fail the n-th write call.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PREFIX = "/client/v4"
NOW = "2026-01-02T03:04:05.000000Z"
ZONE_QUERY = {
    "name",
    "status",
    "page",
    "per_page",
    "order",
    "direction",
    "match",
    "account.id",
    "account.name",
}
RECORD_QUERY = {
    "type", "page", "per_page", "order", "direction", "match", "content", "proxied", "search",
    "name", "name.exact", "name.contains", "name.startswith", "name.endswith",
}  # fmt: skip
TXT_FIELDS = {"name", "type", "content", "ttl", "comment", "proxied", "tags", "settings"}
MAX_PER_PAGE = 5_000_000
ACCOUNT_ID = "acc00000000000000000000000000000"
_STRINGS = re.compile(r'^(?:"(?:[^"\\]|\\.)*"(?: |$))+$')


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass
class Zone:
    id: str
    name: str
    plan: str = "free"  # legacy_id: free, pro, business, enterprise
    record_quota: int | None = 200
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    other_records: int = 2  # SOA and NS count towards usage, as on Cloudflare

    @property
    def batch_limit(self) -> int:
        return 200 if self.plan == "free" else 3500

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": "active",
            "paused": False,
            "type": "full",
            "development_mode": 0,
            "name_servers": ["ada.ns.cloudflare.test", "bob.ns.cloudflare.test"],
            "original_name_servers": None,
            "original_registrar": None,
            "original_dnshost": None,
            "created_on": NOW,
            "modified_on": NOW,
            "activated_on": NOW,
            "meta": {
                "step": 2,
                "custom_certificate_quota": 0,
                "page_rule_quota": 3,
                "phishing_detected": False,
            },
            "owner": {"id": None, "type": "user", "name": None},
            "account": {"id": ACCOUNT_ID, "name": "test account"},
            "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
            "plan": {
                "id": f"plan-{self.plan}",
                "name": f"{self.plan.title()} Website",
                "price": 0,
                "currency": "USD",
                "frequency": "",
                "is_subscribed": False,
                "can_subscribe": False,
                "legacy_id": self.plan,
                "legacy_discount": False,
                "externally_managed": False,
            },
            "vanity_name_servers": [],
        }


def record_json(record_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record_id,
        "name": body["name"],
        "type": "TXT",
        "content": body["content"],
        "ttl": body.get("ttl", 1),
        "proxied": False,
        "proxiable": False,
        "comment": body.get("comment"),
        "tags": list(body.get("tags", [])),
        "settings": dict(body.get("settings", {})),
        "meta": {},
        "created_on": NOW,
        "modified_on": NOW,
        "comment_modified_on": None,
        "tags_modified_on": None,
    }


class CloudflareApi:
    """The server state and the handlers; thread-safe behind one lock."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.zones: dict[str, Zone] = {}
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self.calls: list[tuple[str, str]] = []
        self.writes = 0
        self.fail_at: int | None = None
        self.throttle: list[int] = []  # Retry-After seconds for the next calls, in order
        self.echo_token_in_errors = False
        self.max_per_page = MAX_PER_PAGE
        self.account_quota: int | None = None  # for zones whose record_quota is None
        self.batches: list[dict[str, Any]] = []  # every accepted batch body, in order
        self._same: dict[tuple[str, str], str] = {}  # (name, content) → id, within a batch

    def add_zone(self, name: str, **kwargs: Any) -> Zone:
        zone = Zone(f"{next(self._ids):032x}", name.rstrip(".").lower(), **kwargs)
        self.zones[zone.id] = zone
        return zone

    def new_id(self) -> str:
        return f"{next(self._ids):032x}"

    # Dispatch

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            self.calls.append((method, target))
            try:
                self._authorise(headers)
                if self.throttle:
                    seconds = self.throttle.pop(0)
                    raise ApiError(
                        429, 971, "Please wait and consider throttling your request speed",
                        {"Retry-After": str(seconds)},
                    )  # fmt: skip
                result, info = self._route(method, target, body)
            except ApiError as e:
                message = e.message
                if self.echo_token_in_errors:
                    message += f" (token {self.token})"
                envelope = {
                    "success": False,
                    "errors": [{"code": e.code, "message": message}],
                    "messages": [],
                    "result": None,
                }
                return e.status, envelope, e.headers
        envelope = {"success": True, "errors": [], "messages": [], "result": result}
        if info is not None:
            envelope["result_info"] = info
        return 200, envelope, {}

    def _authorise(self, headers: dict[str, str]) -> None:
        if headers.get("authorization") != f"Bearer {self.token}":
            raise ApiError(403, 10000, "Authentication error")

    def _route(self, method: str, target: str, body: bytes) -> tuple[Any, dict[str, Any] | None]:
        url = urlsplit(target)
        if not url.path.startswith(PREFIX + "/"):
            raise ApiError(404, 7000, "No route for that URI")
        parts = url.path[len(PREFIX) + 1 :].rstrip("/").split("/")
        query = _query(url.query)
        if method == "GET" and parts == ["zones"]:
            return self._list_zones(query)
        if (
            method == "GET"
            and len(parts) == 4
            and parts[0] == "accounts"
            and parts[2:] == ["dns_records", "usage"]
        ):
            _no_query(query)
            if parts[1] != ACCOUNT_ID:
                raise ApiError(404, 7003, "Could not route to the account")
            pooled = [z for z in self.zones.values() if z.record_quota is None]
            usage = sum(z.other_records + len(z.records) for z in pooled)
            return {"record_quota": self.account_quota, "record_usage": usage}, None
        if len(parts) < 2 or parts[0] != "zones":
            raise ApiError(404, 7000, "No route for that URI")
        zone = self.zones.get(parts[1])
        if zone is None:
            raise ApiError(404, 1001, "Invalid zone identifier")
        rest = parts[2:]
        if method == "GET" and rest == []:
            _no_query(query)
            return zone.to_json(), None
        if method == "GET" and rest == ["dns_records"]:
            return self._list_records(zone, query)
        if method == "GET" and rest == ["dns_records", "usage"]:
            _no_query(query)
            usage = zone.other_records + len(zone.records)
            return {"record_quota": zone.record_quota, "record_usage": usage}, None
        if method == "POST" and rest == ["dns_records", "batch"]:
            if set(query) - {"include_shadow_metadata"}:
                raise ApiError(400, 9000, f"unknown query parameter {sorted(query)[0]}")
            return self._batch(zone, _json_body(body)), None
        raise ApiError(405 if rest in (["dns_records"], []) else 404, 7000, "No route for that URI")

    # Zones and records

    def _list_zones(self, query: dict[str, str]) -> tuple[Any, dict[str, Any]]:
        _known(query, ZONE_QUERY)
        zones = [z.to_json() for z in self.zones.values()]
        if "name" in query:
            zones = [z for z in zones if z["name"] == query["name"].rstrip(".").lower()]
        return _page(zones, query, 50, self.max_per_page)

    def _list_records(self, zone: Zone, query: dict[str, str]) -> tuple[Any, dict[str, Any]]:
        _known(query, RECORD_QUERY)
        if query.get("type", "TXT") != "TXT":
            records: list[dict[str, Any]] = []
        else:
            records = sorted(zone.records.values(), key=lambda r: (r["name"], r["id"]))
        for key, test in (
            ("name", str.__eq__),
            ("name.exact", str.__eq__),
            ("name.contains", str.__contains__),
            ("name.startswith", str.startswith),
            ("name.endswith", str.endswith),
        ):
            if key in query:
                wanted = query[key].lower()
                records = [r for r in records if test(r["name"], wanted)]
        return _page(records, query, 100, self.max_per_page)

    def _batch(self, zone: Zone, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, 9207, "Request body is invalid.")
        _known(body, {"deletes", "patches", "puts", "posts"}, 9207)
        ops = {k: body.get(k, []) for k in ("deletes", "patches", "puts", "posts")}
        if any(not isinstance(v, list) for v in ops.values()):
            raise ApiError(400, 9207, "Request body is invalid.")
        count = sum(len(v) for v in ops.values())
        if count > zone.batch_limit:
            raise ApiError(400, 81073, f"Batch of {count} exceeds the limit of {zone.batch_limit}")
        if self.fail_at is not None and self.writes >= self.fail_at:
            raise ApiError(500, 10001, "injected failure: the test stops this write here")
        # One transaction: work on a copy, commit only if every operation passes.
        records = {k: dict(v) for k, v in zone.records.items()}
        self._same = {(r["name"], r["content"]): r["id"] for r in records.values()}
        done: dict[str, list[dict[str, Any]]] = {k: [] for k in ops}
        for op in ops["deletes"]:
            _known(op, {"id"}, 9207)
            gone = records.pop(str(op.get("id")), None)
            if gone is None:
                raise ApiError(400, 81044, "Record does not exist.")
            self._same.pop((gone["name"], gone["content"]), None)
            done["deletes"].append({"id": op["id"]})
        for op in ops["patches"]:
            _known(op, TXT_FIELDS | {"id"}, 9207)
            old = records.get(str(op.get("id")))
            if old is None:
                raise ApiError(400, 81044, "Record does not exist.")
            merged = {**old, **{k: v for k, v in op.items() if k != "id"}}
            records[old["id"]] = self._checked(zone, records, old["id"], merged)
            done["patches"].append(records[old["id"]])
        for op in ops["puts"]:
            _known(op, TXT_FIELDS | {"id"}, 9207)
            if str(op.get("id")) not in records:
                raise ApiError(400, 81044, "Record does not exist.")
            fields = {k: v for k, v in op.items() if k != "id"}
            records[op["id"]] = self._checked(zone, records, op["id"], fields)
            done["puts"].append(records[op["id"]])
        for op in ops["posts"]:
            _known(op, TXT_FIELDS, 9207)
            record_id = self.new_id()
            records[record_id] = self._checked(zone, records, record_id, op)
            done["posts"].append(records[record_id])
        if zone.record_quota is not None and zone.other_records + len(records) > zone.record_quota:
            raise ApiError(400, 81045, "Record quota exceeded.")
        if zone.record_quota is None and self.account_quota is not None:
            others = sum(
                z.other_records + len(z.records)
                for z in self.zones.values()
                if z.record_quota is None and z is not zone
            )
            if others + zone.other_records + len(records) > self.account_quota:
                raise ApiError(400, 81045, "Record quota exceeded.")
        zone.records = records
        self.writes += 1
        self.batches.append(body)
        return done

    def _checked(
        self, zone: Zone, records: dict[str, dict[str, Any]], record_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        if body.get("type") != "TXT":
            raise ApiError(400, 9004, "This test server only holds TXT records.")
        name = str(body.get("name", "")).rstrip(".").lower()
        if not (name == zone.name or name.endswith("." + zone.name)):
            raise ApiError(400, 9005, "Content for the record is not in the zone.")
        content = body.get("content")
        if not isinstance(content, str) or not _STRINGS.match(content):
            raise ApiError(400, 9021, "TXT content must be quoted character strings.")
        if len(content) > 4096:
            raise ApiError(400, 9100, "Content for TXT record is too long.")
        ttl = body.get("ttl", 1)
        if not isinstance(ttl, int) or not (ttl == 1 or 60 <= ttl <= 86400):
            raise ApiError(
                400, 9020, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic."
            )
        if body.get("proxied"):
            raise ApiError(400, 9004, "TXT records cannot be proxied.")
        if self._same.get((name, content), record_id) != record_id:
            raise ApiError(400, 81058, "An identical record already exists.")
        old = records.get(record_id)
        if old is not None:
            self._same.pop((old["name"], old["content"]), None)
        self._same[(name, content)] = record_id
        return record_json(record_id, {**body, "name": name, "ttl": ttl})


def _query(text: str) -> dict[str, str]:
    parsed = parse_qs(text, keep_blank_values=True)
    for key, values in parsed.items():
        if len(values) != 1:
            raise ApiError(400, 9000, f"query parameter {key} given {len(values)} times")
    return {k: v[0] for k, v in parsed.items()}


def _known(given: dict[str, Any], known: set[str], code: int = 9000) -> None:
    unknown = sorted(set(given) - known)
    if unknown:
        raise ApiError(400, code, f"unknown field {unknown[0]!r}")


def _no_query(query: dict[str, str]) -> None:
    _known(query, set())


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as e:
        raise ApiError(400, 9207, "Request body is not valid JSON.") from e


def _page(
    items: list[dict[str, Any]], query: dict[str, str], default: int, maximum: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        page = int(query.get("page", "1"))
        per_page = int(float(query.get("per_page", str(default))))
    except ValueError as e:
        raise ApiError(400, 9000, "page and per_page must be numbers") from e
    if page < 1 or not 1 <= per_page <= maximum:
        raise ApiError(400, 9000, f"per_page must be between 1 and {maximum}")
    chunk = items[(page - 1) * per_page : page * per_page]
    info = {
        "page": page,
        "per_page": per_page,
        "count": len(chunk),
        "total_count": len(items),
        "total_pages": max(1, -(-len(items) // per_page)),
    }
    return chunk, info


class _Handler(BaseHTTPRequestHandler):
    api: CloudflareApi

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, envelope, extra = self.api.handle(self.command, self.path, headers, body)
        data = json.dumps(envelope).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows failures, not every request


class CloudflareServer:
    """The API on 127.0.0.1, a free port, in a thread; ``base_url`` is what
    ``CLOUDFLARE_BASE_URL`` takes."""

    def __init__(self, token: str) -> None:
        self.api = CloudflareApi(token)
        handler = type("Handler", (_Handler,), {"api": self.api})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{PREFIX}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
