"""A target's record quota: the planner refuses, before any write, a plan whose peak
the quota less the zone's other records cannot hold, and says how many are missing.
Route 53 against moto; BIND, which has no quota, through --max-records."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest
from harness_route53 import Route53Harness, aws, moto_server, route53
from test_cli import BASE, ZONE

from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.errors import QuotaExceeded
from torpub.provider import Target
from torpub.publish.pipeline import plan_target
from torpub.publish.plan import Policy
from torpub.testing.conformance import ENCODING, OWNER, desired, resolve, torrent, url
from torpub_providers.route53.provider import DEFAULT_RECORD_QUOTA, Route53Provider

__all__ = ["aws", "moto_server", "route53"]


def add_address(harness: Route53Harness, name: str) -> None:
    """A record torpub does not own, written behind its back."""
    boto3.client("route53").change_resource_record_sets(
        HostedZoneId=harness.zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": "A",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": "192.0.2.80"}],
                    },
                }
            ]
        },
    )
    harness.server.writes -= 1  # not the backend's write
    harness.server.bodies.pop()


def sync_route53(harness: Route53Harness, quota: int, versions: dict[int, int]) -> None:
    p = harness.provider(record_quota=str(quota))
    want = desired(versions, ENCODING)
    plan = plan_target(p, want, p.records(), Policy(owner=OWNER))
    p.apply(plan)


def test_route53_quota_defaults_to_10000() -> None:
    assert DEFAULT_RECORD_QUOTA == 10_000
    options = Route53Provider.options
    assert {o.name: o.default for o in options}["record_quota"] == 10_000


def test_route53_refuses_a_plan_over_its_quota_before_any_write(route53: Route53Harness) -> None:
    add_address(route53, "www.example.com.")  # with SOA and NS: 3 other record sets
    six = dict.fromkeys(range(6), 0)  # 6 URLs x 4 records
    with pytest.raises(QuotaExceeded) as refused:
        sync_route53(route53, 20, six)
    assert refused.value.missing == 7
    message = str(refused.value)
    assert "27 records (3 other records + 0 under _torrent + 24 created" in message
    assert "quota is 20: 7 records missing; nothing was written" in message
    assert route53.write_calls() == 0 and route53.held() == set()

    with pytest.raises(QuotaExceeded) as refused:
        sync_route53(route53, 26, six)
    assert refused.value.missing == 1 and route53.write_calls() == 0
    sync_route53(route53, 27, six)  # exactly full
    assert all(resolve(route53.held(), url(i)) == torrent(i, 0) for i in six)

    # A new version creates its chunks before the old ones go: the peak counts both.
    with pytest.raises(QuotaExceeded) as refused:
        sync_route53(route53, 29, {0: 1})
    assert refused.value.missing == 1  # 3 + 24 held + 3 new chunks (the head is updated)
    assert "3 other records + 24 under _torrent + 3 created" in str(refused.value)
    sync_route53(route53, 30, {0: 1})
    assert resolve(route53.held(), url(0)) == torrent(0, 1)


def test_torpub_sync_with_route53_says_how_many_records_are_missing(
    route53: Route53Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = tmp_path / "release"
    release.mkdir()
    for i in range(3):
        (release / f"f{i}.bin").write_bytes(os.urandom(40_000))
    args = [
        "sync", str(release), "--base-url", "https://dl.example.com/pub/",
        "--provider", "route53", "--zone", "example.com", "--record-quota", "5",
    ]  # fmt: skip
    assert main(args) == EXIT_ERROR
    err = capsys.readouterr().err
    # SOA and NS, and 3 URLs of a head and a chunk each: 8 of 5.
    assert err.count("\n") == 1 and "quota is 5: 3 records missing" in err
    assert route53.write_calls() == 0
    args[-1] = "8"
    assert main(args) == EXIT_OK, capsys.readouterr().err
    assert len(route53.held()) == 6


# --- BIND: a zone file has no quota; --max-records is the budget --------------------


def test_bind_sync_over_max_records_fails_before_any_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = tmp_path / "release"
    release.mkdir()
    (release / "big.iso").write_bytes(os.urandom(6 << 20))
    (release / "small.txt").write_bytes(b"notes\n" * 100)
    zone_file = tmp_path / "db.example.com"
    zone_file.write_text(ZONE)
    args = [
        "sync", str(release), "--base-url", BASE, "--chunk-size", "100",
        "--provider", "bind", "--zone-file", str(zone_file), "--max-records", "1",
    ]  # fmt: skip
    assert main(args) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "max_records 1:" in err
    needed = int(err.split("a budget of ")[1].split()[0])
    assert zone_file.read_text() == ZONE and sorted(os.listdir(release)) == ["big.iso", "small.txt"]

    args[-1] = str(needed - 1)
    assert main(args) == EXIT_ERROR
    assert f"a budget of {needed} would fit" in capsys.readouterr().err
    assert zone_file.read_text() == ZONE

    args[-1] = str(needed)
    assert main(args) == EXIT_OK, capsys.readouterr().err
    published = [line for line in zone_file.read_text().splitlines() if "._torrent." in line]
    assert len(published) == needed


def test_route53_counts_the_records_torpub_does_not_own(route53: Route53Harness) -> None:
    p = Route53Provider(Target("route53", "example.com"))
    assert p.capabilities.record_quota == DEFAULT_RECORD_QUOTA
    assert p.other_records() == 2  # SOA and NS of a new hosted zone
