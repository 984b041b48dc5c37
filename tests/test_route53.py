"""The route53 backend against moto's Route 53 in server mode (real HTTP on
loopback, boto3 unmodified), beyond what the conformance suite covers: zone
lookup, pagination, request limits, throttling, Route 53's own rules where moto
is lenient, secrets, ``--wait`` and the CLI end to end."""

from __future__ import annotations

import re
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from harness_route53 import (
    MotoRoute53,
    Route53Harness,
    aws,
    create_zone,
    held_records,
    moto_server,
    route53,
)

from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.errors import ConfigError, ProviderError, ZoneError
from torpub.format.names import names_for
from torpub.format.records import Encoding, Record, encode
from torpub.provider import Target, installed, load
from torpub.publish.plan import Action, Change, Phase, PhaseName, Plan, Policy, build_plan
from torpub.testing.conformance import ENCODING, OWNER, desired, resolve, torrent, url
from torpub_providers.route53.batches import MAX_BATCH_CHARS, MAX_BATCH_RECORDS, Limits
from torpub_providers.route53.client import Backoff
from torpub_providers.route53.provider import Route53Provider
from torpub_providers.route53.txt import name_text, parse_txt_value, txt_value

__all__ = ["aws", "moto_server", "route53"]
NS = "{https://route53.amazonaws.com/doc/2013-04-01/}"
SECRET = "fake-secret-key-must-never-be-printed"
ACCESS_KEY = "AKIAFAKEFAKEFAKE0001"


def provider(
    harness: Route53Harness, limits: Limits | None = None, **options: str
) -> Route53Provider:
    return Route53Provider(
        Target("route53", "example.com", options),
        limits=limits or Limits(),
        backoff=Backoff(sleep=harness.sleeps.append),
    )


def sync(
    p: Route53Provider, versions: dict[int, int], encoding: Encoding = ENCODING, pieces: int = 40
) -> Plan:
    want = [encode(torrent(i, v, pieces), names_for(url(i)), encoding) for i, v in versions.items()]
    plan = build_plan(p.zone, want, p.records(), Policy(owner=OWNER))
    p.apply(plan)
    return plan


def batches(server: MotoRoute53) -> list[list[tuple[str, str, list[str]]]]:
    """Each write call's changes as (action, name, values), parsed from the XML sent."""
    parsed = []
    for body in server.bodies:
        root = ET.fromstring(body)
        parsed.append(
            [
                (
                    change.findtext(f"{NS}Action") or "",
                    change.findtext(f"{NS}ResourceRecordSet/{NS}Name") or "",
                    [v.text or "" for v in change.iter(f"{NS}Value")],
                )
                for change in root.iter(f"{NS}Change")
            ]
        )
    return parsed


def test_the_provider_is_an_installed_entry_point() -> None:
    assert load("route53") is Route53Provider
    assert "route53" in {p.name for p in installed()}


def test_txt_values_round_trip_in_route53s_escaping() -> None:
    record = Record("x._torrent.example.com.", 60, 'a"b\\c' + "é" + "z" * 600)
    value = txt_value(record)
    assert value.startswith('"a\\"b\\\\c\\303\\251')
    assert all(len(s) <= 255 for s in parse_txt_value(value))
    assert b"".join(parse_txt_value(value)).decode() == record.value


@pytest.mark.parametrize(
    ("listed", "name"),
    [
        ("\\052._torrent.example.com.", "*._torrent.example.com."),
        ("A\\303\\251._torrent.example.com.", "aé._torrent.example.com."),
        # Not octal escapes: an endpoint's odd text stays text, never a traceback.
        ("a\\999._torrent.example.com.", "a\\999._torrent.example.com."),
        (
            "a\\\u0661\u0662\u0663._torrent.example.com.",
            "a\\\u0661\u0662\u0663._torrent.example.com.",
        ),
        ("a\\", "a\\"),
    ],
)
def test_listed_names_read_only_octal_escapes(listed: str, name: str) -> None:
    assert name_text(listed) == name


def test_the_zone_is_found_by_name_and_an_ambiguous_name_is_refused(
    route53: Route53Harness,
) -> None:
    assert provider(route53).zone == "example.com."
    private = create_zone(private=True)
    with pytest.raises(ZoneError, match="--zone-id") as refused:
        provider(route53).records()
    assert route53.zone_id in str(refused.value) and private in str(refused.value)
    chosen = provider(route53, zone_id=private)
    assert chosen.zone == "example.com." and chosen.records() == []
    with pytest.raises(ZoneError, match="no hosted zone"):
        Route53Provider(Target("route53", "example.org")).zone  # noqa: B018


def test_listing_follows_route53s_pagination(route53: Route53Harness) -> None:
    p = provider(route53)
    sync(p, dict.fromkeys(range(90), 0))  # about 360 record sets: two pages of 300
    fresh = provider(route53)
    assert set(fresh.records()) == route53.held()
    assert len(route53.held()) > 300
    assert fresh.client.calls["ListResourceRecordSets"] >= 2


def test_batches_keep_route53s_limits_and_never_mix_phases(route53: Route53Harness) -> None:
    big = Encoding(chunk_size=3600, owner=OWNER)  # values of ~3.6k characters
    sync(provider(route53), dict.fromkeys(range(12), 0), big, pieces=400)
    route53.server.bodies.clear()
    plan = sync(provider(route53), dict.fromkeys(range(12), 1), big, pieces=400)
    phase_of = {c.record.name: ph.name for ph in plan.phases for c in ph.changes}
    sent = batches(route53.server)
    assert len(sent) >= 4
    order, last = list(PhaseName), -1
    for batch in sent:
        records = sum(len(v) * (2 if a == "UPSERT" else 1) for a, _, v in batch)
        chars = sum(sum(map(len, v)) * (2 if a == "UPSERT" else 1) for a, _, v in batch)
        assert records <= MAX_BATCH_RECORDS and chars <= MAX_BATCH_CHARS
        phases = {phase_of[name] for _, name, _ in batch}
        assert len(phases) == 1, "a batch mixes phases"
        index = order.index(phases.pop())
        assert index >= last, "a phase started before the last one ended"
        last = index
    heads = [a for batch in sent for a, name, _ in batch if phase_of[name] is PhaseName.HEADS]
    assert heads and set(heads) == {"UPSERT"}
    for i in range(12):
        assert resolve(route53.held(), url(i)) == torrent(i, 1, 400)


def test_throttling_is_retried_with_exponential_backoff_and_jitter(
    route53: Route53Harness,
) -> None:
    route53.server.errors = ["Throttling", "PriorRequestNotComplete", "Throttling"]
    p = provider(route53, Limits(records=5, chars=MAX_BATCH_CHARS))
    sync(p, {0: 0, 1: 0, 2: 0})
    assert route53.server.errors == []
    assert len(route53.sleeps) == 3
    for attempt, delay in enumerate(route53.sleeps):
        assert 0 <= delay <= Backoff().base * 2**attempt
    for i in range(3):
        assert resolve(route53.held(), url(i)) == torrent(i, 0)


def test_throttling_that_never_ends_stops_the_sync(route53: Route53Harness) -> None:
    route53.server.errors = ["Throttling"] * 50
    with pytest.raises(ProviderError, match="Throttling"):
        sync(provider(route53), {0: 0})
    assert route53.held() == set()
    assert len(route53.sleeps) == Backoff().attempts - 1


def test_a_create_over_an_existing_set_is_refused_before_any_write(
    route53: Route53Harness,
) -> None:
    p = provider(route53)
    sync(p, {0: 0})
    writes = route53.write_calls()
    stale = build_plan(p.zone, desired({0: 0, 1: 0}), [], Policy(owner=OWNER))
    with pytest.raises(ProviderError, match="already exists"):
        provider(route53).apply(stale)
    assert route53.write_calls() == writes


def test_values_are_sent_as_strings_of_at_most_255_octets(route53: Route53Harness) -> None:
    sync(provider(route53), {0: 0}, Encoding(chunk_size=2000, owner=OWNER), pieces=200)
    values = [v for batch in batches(route53.server) for _, _, vs in batch for v in vs]
    strings = [s for v in values for s in re.findall(r'"((?:[^"\\]|\\.)*)"', v)]
    assert values and max(len(s) for s in strings) == 255
    assert all(
        v == " ".join(f'"{s}"' for s in re.findall(r'"((?:[^"\\]|\\.)*)"', v)) for v in values
    )


def test_names_are_sent_lower_case(route53: Route53Harness) -> None:
    name = names_for(url(0)).head_name
    shouted = Record(name.upper(), 300, "v=torrent1; hello")
    plan = Plan(
        zone="example.com.",
        phases=(Phase(PhaseName.HEADS, (Change(Action.CREATE, shouted),)),),
        owned=0,
        unchanged=0,
    )
    provider(route53).apply(plan)
    assert [n for batch in batches(route53.server) for _, n, _ in batch] == [name]
    assert route53.held() == {Record(name, 300, shouted.value)}


def test_a_value_too_long_for_route53_is_refused_before_any_write(
    route53: Route53Harness,
) -> None:
    long = Record(names_for(url(0)).chunk_name("0" * 16, 0), 60, "A" * 3990)
    plan = Plan(
        zone="example.com.",
        phases=(Phase(PhaseName.CHUNKS, (Change(Action.CREATE, long),)),),
        owned=0,
        unchanged=0,
    )
    with pytest.raises(ProviderError, match="exceeds 4000"):
        provider(route53).apply(plan)
    assert route53.write_calls() == 0


def test_credentials_never_appear_in_errors(route53: Route53Harness) -> None:
    route53.server.errors = ["AccessDenied"]
    route53.server.error_message = f"key {ACCESS_KEY} secret {SECRET} is not allowed"
    with pytest.raises(ProviderError) as failed:
        sync(provider(route53), {0: 0})
    assert SECRET not in str(failed.value) and ACCESS_KEY not in str(failed.value)
    assert "[redacted]" in str(failed.value)
    assert failed.value.__cause__ is None  # the error that held the secret is not chained


def test_wait_polls_getchange_until_insync(route53: Route53Harness) -> None:
    p = provider(route53, Limits(records=3, chars=MAX_BATCH_CHARS))
    sync(p, {0: 0, 1: 0})
    polled = p.client.calls.get("GetChange", 0)  # between phases
    assert polled >= 1
    p.wait()
    assert p.client.calls["GetChange"] > polled


# The CLI end to end, with --wait checking a loopback authoritative server
# that answers from what moto holds.


def txt_rdata(record: Record) -> dns.rdata.Rdata:
    wire = b"".join(bytes([len(s)]) + s for s in record.strings())
    return dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.TXT, wire, 0, len(wire))


class ZoneServer:
    """A minimal authoritative DNS server on 127.0.0.1 (UDP) answering TXT
    queries from ``lookup``."""

    def __init__(self, lookup: Callable[[], set[Record]]) -> None:
        self._lookup = lookup
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            name = query.question[0].name.to_text().lower()
            found = [r for r in self._lookup() if r.name == name]
            if found:
                rrset = dns.rrset.from_text_list(name, found[0].ttl, "IN", "TXT", [])
                for record in found:
                    rrset.add(txt_rdata(record))
                response.answer.append(rrset)
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self._sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture
def zone_server(route53: Route53Harness) -> Iterator[ZoneServer]:
    server = ZoneServer(lambda: held_records(route53.zone_id))
    yield server
    server.stop()


def three_artifacts(tmp_path: Path) -> Path:
    """``tmp_path/release``: three small artifacts to sync."""
    root = tmp_path / "release"
    root.mkdir()
    for i in range(3):
        (root / f"app-{i}.tar.gz").write_bytes(bytes([i]) * 50_000)
    return root


def test_torpub_sync_with_route53_and_wait(
    route53: Route53Harness,
    zone_server: ZoneServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [
        "sync", str(three_artifacts(tmp_path)), "--base-url", "https://dl.example.com/pub/",
        "--out", str(tmp_path / "torrents"), "--provider", "route53", "--zone", "example.com",
        "--owner", OWNER, "--wait", "--check-server", f"127.0.0.1:{zone_server.port}", "-v",
    ]  # fmt: skip
    assert main(args) == EXIT_OK
    out, err = capsys.readouterr()
    assert "answers every change" in err
    assert {r.name.split(".")[-5] for r in route53.held()} == {"_torrent"} and len(
        route53.held()
    ) >= 6
    writes = route53.write_calls()
    assert main(args) == EXIT_OK
    assert "No changes" in capsys.readouterr().out
    assert route53.write_calls() == writes  # a re-run makes no write call
    assert SECRET not in out + err


def test_torpub_sync_reports_a_route53_error_without_secrets(
    route53: Route53Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    route53.server.errors = ["AccessDenied"]
    route53.server.error_message = f"secret {SECRET} rejected"
    args = [
        "sync", str(three_artifacts(tmp_path)), "--base-url", "https://dl.example.com/pub/",
        "--out", str(tmp_path / "torrents"), "--provider", "route53", "--zone", "example.com",
    ]  # fmt: skip
    assert main(args) == EXIT_ERROR
    out, err = capsys.readouterr()
    assert "AccessDenied" in err
    assert SECRET not in out + err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": "red"}, "no option 'colour'"),
        ({"phase_wait": "maybe"}, "true or false"),
        ({"wait_timeout": "soon"}, "must be a number"),
    ],
)
def test_bad_options_are_config_errors(
    route53: Route53Harness, options: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        provider(route53, **options)
