"""The cloudflare backend through the real SDK against the strict loopback v4
API of tests/cloudflare_api.py, beyond the conformance suite: zone lookup,
pagination, batches and phases, 429 with Retry-After, the record quota,
secrets and the CLI end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloudflare_api import CloudflareServer
from harness_cloudflare import TOKEN, CloudflareHarness, cf, cloudflare, cloudflare_server
from test_route53 import ZoneServer, three_artifacts

from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.errors import ConfigError, ProviderError, QuotaExceeded, ZoneError
from torpub.format.names import names_for
from torpub.format.records import Encoding, Record, encode
from torpub.provider import OptionValue, Target, installed, load
from torpub.publish.pipeline import plan_target
from torpub.publish.plan import PhaseName, Plan, Policy
from torpub.testing.conformance import ENCODING, OWNER, desired, resolve, torrent, url
from torpub_providers.cloudflare.client import MAX_RATE_RETRIES, Pacing
from torpub_providers.cloudflare.provider import CloudflareProvider
from torpub_providers.cloudflare.txt import parse_content, txt_content

__all__ = ["cf", "cloudflare", "cloudflare_server"]


def sync(p: CloudflareProvider, versions: dict[int, int], encoding: Encoding = ENCODING) -> Plan:
    """As the publisher does it: the planner checks the quota, then the backend applies."""
    plan = plan_target(p, desired(versions, encoding), p.records(), Policy(owner=OWNER))
    p.apply(plan)
    return plan


def test_the_provider_is_an_installed_entry_point() -> None:
    assert load("cloudflare") is CloudflareProvider
    assert "cloudflare" in {p.name for p in installed()}


def test_content_round_trips_as_quoted_strings() -> None:
    record = Record("x._torrent.example.com.", 60, 'a"b\\c é' + "z" * 600)
    content = txt_content(record)
    assert content.startswith('"a\\"b\\\\c \\195\\169')
    strings = parse_content(content)
    assert [len(s) for s in strings] == [255, 255, 98]
    assert b"".join(strings).decode() == record.value
    assert parse_content("plain words") == (b"plain words",)


def test_the_zone_is_found_by_name(cloudflare: CloudflareHarness) -> None:
    assert cloudflare.provider().zone == "example.com."
    with pytest.raises(ZoneError, match=r"no zone example\.org"):
        CloudflareProvider(Target("cloudflare", "example.org")).zone  # noqa: B018


def test_a_missing_token_is_a_config_error(
    cloudflare: CloudflareHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    with pytest.raises(ConfigError, match="CLOUDFLARE_API_TOKEN"):
        CloudflareProvider(Target("cloudflare", "example.com"))


def test_the_batch_limit_follows_the_zone_plan(cf: CloudflareServer) -> None:
    cf.api.add_zone("example.com", plan="free")
    cf.api.add_zone("example.net", plan="pro", record_quota=None)
    assert (
        CloudflareProvider(Target("cloudflare", "example.com")).capabilities.max_batch_records
        == 200
    )
    assert (
        CloudflareProvider(Target("cloudflare", "example.net")).capabilities.max_batch_records
        == 3500
    )


def test_listing_follows_pagination(cloudflare: CloudflareHarness) -> None:
    sync(cloudflare.provider(), dict.fromkeys(range(10), 0))
    paged = CloudflareProvider(
        Target("cloudflare", "example.com"),
        pacing=Pacing(sleep=cloudflare.sleeps.append),
        page_size=7,
    )
    assert set(paged.records()) == cloudflare.held()
    assert paged.client.calls["list records"] >= len(cloudflare.held()) // 7


def test_batches_keep_the_limit_and_phases_in_order(cloudflare: CloudflareHarness) -> None:
    sync(cloudflare.provider(), dict.fromkeys(range(8), 0))
    cloudflare.server.api.batches.clear()
    plan = sync(cloudflare.provider(), {i: 1 for i in range(4)} | {i: 2 for i in range(4, 8)})
    phase_of = {c.record.name.rstrip("."): ph.name for ph in plan.phases for c in ph.changes}
    id_phase = {c.old: ph.name for ph in plan.phases for c in ph.changes if c.old}
    assert id_phase or phase_of
    order, last = list(PhaseName), -1
    sent = cloudflare.server.api.batches
    assert len(sent) >= 3
    for body in sent:
        operations = [op for ops in body.values() for op in ops]
        assert 0 < len(operations) <= cloudflare.batch_size
        phases = {phase_of[op["name"]] for op in operations if "name" in op}
        assert len(phases) <= 1, "a batch mixes phases"
        index = order.index(phases.pop()) if phases else order.index(PhaseName.REMOVE_CHUNKS)
        assert index >= last
        last = index
    for i in range(8):
        assert resolve(cloudflare.held(), url(i)) == torrent(i, 1 if i < 4 else 2)


def test_429_is_honoured_with_retry_after(cloudflare: CloudflareHarness) -> None:
    cloudflare.server.api.throttle = [3, 7, 0]
    sync(cloudflare.provider(), {0: 0, 1: 0})
    assert cloudflare.sleeps == [3.0, 7.0, 0.0]
    assert resolve(cloudflare.held(), url(1)) == torrent(1, 0)


def test_endless_429s_stop_the_sync(cloudflare: CloudflareHarness) -> None:
    cloudflare.server.api.throttle = [1] * 50
    with pytest.raises(ProviderError, match="429"):
        sync(cloudflare.provider(), {0: 0})
    assert len(cloudflare.sleeps) == MAX_RATE_RETRIES
    assert cloudflare.held() == set()


def test_the_record_quota_is_checked_before_any_write(cf: CloudflareServer) -> None:
    zone = cf.api.add_zone("example.com", plan="free", record_quota=20)
    p = CloudflareProvider(Target("cloudflare", "example.com"))
    with pytest.raises(QuotaExceeded) as refused:
        sync(p, dict.fromkeys(range(6), 0))  # 6 URLs x 4 records + SOA and NS
    message = str(refused.value)
    assert "26 records" in message and "quota is 20" in message and "nothing was written" in message
    assert "6 records missing" in message and refused.value.missing == 6
    assert "--max-records" in message and "--chunk-budget" in message and "--chunk-size" in message
    assert cf.api.writes == 0 and zone.records == {}
    sync(p, dict.fromkeys(range(4), 0))  # 18 fits
    with pytest.raises(QuotaExceeded) as refused:  # 18 held + 4 more: 2 missing
        sync(p, dict.fromkeys(range(5), 0))
    assert refused.value.missing == 2 and "2 other records + 16 under _torrent" in str(
        refused.value
    )
    assert len(zone.records) == 16


def test_the_quota_is_the_option_else_the_api_else_the_plan(cf: CloudflareServer) -> None:
    cf.api.add_zone("example.com", plan="free", record_quota=200)
    cf.api.add_zone("example.net", plan="pro", record_quota=None)
    cf.api.add_zone("example.org", plan="enterprise", record_quota=None)

    def quota(zone: str, **options: OptionValue) -> int | None:
        return CloudflareProvider(Target("cloudflare", zone, options)).capabilities.record_quota

    assert quota("example.com") == 200  # from the API
    assert quota("example.com", record_quota=1000) == 1000
    assert quota("example.net") == 3500  # the API names none: the plan's documented quota
    assert quota("example.org") is None  # set per contract: nothing to plan around
    cf.api.account_quota = 5000
    assert quota("example.net") == 5000  # the account's, which the API reports


def test_the_server_is_strict_about_fields(cloudflare: CloudflareHarness) -> None:
    base = cloudflare.server.base_url
    zone = cloudflare.cf_zone.id
    headers = {"Authorization": f"Bearer {TOKEN}"}
    post = {"name": "a._torrent.example.com", "type": "TXT", "content": '"x"', "ttl": 60}
    with httpx.Client() as client:
        ok = client.post(
            f"{base}/zones/{zone}/dns_records/batch", headers=headers, json={"posts": [post]}
        )
        assert ok.status_code == 200 and ok.json()["success"]
        bad = client.post(
            f"{base}/zones/{zone}/dns_records/batch",
            headers=headers,
            json={"posts": [{**post, "name": "b._torrent.example.com", "priority": 1}]},
        )
        assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == 9207
        query = client.get(f"{base}/zones/{zone}/dns_records?colour=red", headers=headers)
        assert query.status_code == 400
        denied = client.get(f"{base}/zones", headers={"Authorization": "Bearer wrong"})
        assert denied.status_code == 403


def test_the_token_never_appears_in_errors(cloudflare: CloudflareHarness) -> None:
    cloudflare.server.api.echo_token_in_errors = True
    cloudflare.server.api.fail_at = 0
    with pytest.raises(ProviderError) as failed:
        sync(cloudflare.provider(), {0: 0})
    assert TOKEN not in str(failed.value)
    assert "[redacted]" in str(failed.value)
    assert failed.value.__cause__ is None  # the SDK's error, with its request, is not chained


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "sync", str(three_artifacts(tmp_path)), "--base-url", "https://dl.example.com/pub/",
        "--out", str(tmp_path / "torrents"), "--provider", "cloudflare", "--zone", "example.com",
        *extra,
    ]  # fmt: skip


@pytest.fixture
def zone_server(cloudflare: CloudflareHarness) -> Iterator[ZoneServer]:
    server = ZoneServer(cloudflare.held)
    yield server
    server.stop()


def test_torpub_sync_with_cloudflare_and_wait(
    cloudflare: CloudflareHarness,
    zone_server: ZoneServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    check = f"127.0.0.1:{zone_server.port}"
    args = _args(tmp_path, "--owner", OWNER, "--wait", "--check-server", check, "-v")
    assert main(args) == EXIT_OK
    out, err = capsys.readouterr()
    assert f"{check} answers every change" in err
    held = cloudflare.held()
    for i in range(3):
        names = names_for(f"https://dl.example.com/pub/app-{i}.tar.gz")
        assert any(r.name == names.head_name for r in held)
    writes = cloudflare.write_calls()
    assert main(args) == EXIT_OK
    assert "No changes" in capsys.readouterr().out
    assert cloudflare.write_calls() == writes
    assert TOKEN not in out + err


def test_torpub_sync_reports_cloudflare_errors_without_the_token(
    cloudflare: CloudflareHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudflare.server.api.echo_token_in_errors = True
    cloudflare.server.api.fail_at = 0
    assert main(_args(tmp_path)) == EXIT_ERROR
    out, err = capsys.readouterr()
    assert "injected failure" in err
    assert TOKEN not in out + err


def test_records_written_elsewhere_are_read_back(cloudflare: CloudflareHarness) -> None:
    """Content Cloudflare stored unquoted (older records) reads as one string."""
    want = encode(torrent(0, 0), names_for(url(0)), ENCODING)
    for record in want.records:
        cloudflare.add_foreign(record)
    assert set(cloudflare.provider().records()) == set(want.records)


@pytest.mark.parametrize(
    "field", [{"ttl": None}, {"ttl": "soon"}, {"ttl": 1.5}, {"content": 7}, {"content": ["a"]}]
)
def test_a_listed_record_that_is_not_cloudflares_is_one_error(
    cloudflare: CloudflareHarness, field: dict[str, object]
) -> None:
    """The listing is the endpoint's word: a field of the wrong type is a ProviderError,
    not a TypeError from deep inside the read."""
    record = encode(torrent(0, 0), names_for(url(0)), ENCODING).head_record
    cloudflare.add_foreign(record)
    (listed,) = cloudflare.cf_zone.records.values()
    listed.update(field)
    with pytest.raises(ProviderError, match="not Cloudflare's"):
        cloudflare.provider().records()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": "red"}, "no option 'colour'"),
        ({"batch_size": "0"}, "batch_size must be at least 1"),
    ],
)
def test_bad_options_are_config_errors(
    cloudflare: CloudflareHarness, options: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        cloudflare.provider(**options)


def test_a_ttl_cloudflare_refuses_stops_the_plan_before_any_write(
    cloudflare: CloudflareHarness,
) -> None:
    short = Encoding(chunk_size=400, head_ttl=30, owner=OWNER)
    with pytest.raises(ProviderError, match="TTL 30"):
        sync(cloudflare.provider(), {0: 0, 1: 0}, short)
    assert cloudflare.write_calls() == 0


def test_an_account_level_quota_is_checked_too(cf: CloudflareServer) -> None:
    cf.api.account_quota = 20
    cf.api.add_zone("example.net", plan="pro", record_quota=None).other_records = 10
    zone = cf.api.add_zone("example.com", plan="pro", record_quota=None)
    p = CloudflareProvider(Target("cloudflare", "example.com"))
    with pytest.raises(
        QuotaExceeded, match=r"zone example\.com\. would need 24 records \(12 other records"
    ) as refused:
        sync(p, {0: 0, 1: 0, 2: 0})  # 12 records + 2 here + 10 in example.net
    assert refused.value.missing == 4
    assert zone.records == {}
    sync(p, {0: 0})
