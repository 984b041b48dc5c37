"""The octodns bridge, through octodns-bind's Rfc2136Provider, against a real named."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import backend_sync
import pytest
from backend_sync import MakeTorrent, all_records, sync
from named_update import (
    SECRET_VARIABLE,
    StartUpdateNamed,
    UpdateServer,
    update_named,
    write_octodns_config,
)
from processes import free_port

from torpub.cli import main
from torpub.errors import ConfigError, ProviderError
from torpub.format.names import names_for
from torpub.format.records import Encoding, Head, Record
from torpub.provider import Target, load
from torpub.publish.plan import Action, Change, Phase, PhaseName, Plan, build_plan
from torpub_providers.octodns import OctodnsProvider, OctodnsStale, to_octodns_value

__all__ = ["update_named"]  # the fixture, used by name

ZONE = "example.com."


@pytest.fixture
def octo(
    update_named: StartUpdateNamed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[UpdateServer, Path]:
    server = update_named()
    monkeypatch.setenv(SECRET_VARIABLE, server.key.secret_text())
    return server, write_octodns_config(tmp_path / "octodns.yaml", server)


# Chunks of 48 characters: many records per torrent, as a busy zone has.
published = functools.partial(backend_sync.published, encoding=Encoding(chunk_size=48))


def provider(config: Path, zone: str | None = ZONE, **options: str) -> OctodnsProvider:
    return OctodnsProvider(Target("octodns", zone, {"octodns_config": str(config), **options}))


def test_publish_update_and_prune_through_octodns(
    octo: tuple[UpdateServer, Path], make_torrent: MakeTorrent
) -> None:
    server, config = octo
    target = provider(config)
    assert target.records() == ()
    first = published(make_torrent, seed=0)
    plan = sync(target, first)
    assert plan.count(Action.CREATE) == len(all_records(first))
    assert server.held() == all_records(first)
    assert set(target.records()) == all_records(first)
    assert not build_plan(ZONE, first, target.records()).has_changes

    second = published(make_torrent, seed=1, count=1)
    sync(target, second, prune=True)
    held = server.held()
    head = Head.from_text(server.txt(second[0].names.head_name)[0])
    assert head.previous == first[0].head.chunk_id
    assert set(first[0].chunks) <= held  # kept for resolvers holding the old head
    assert set(second[0].chunks) <= held
    assert server.txt(first[1].names.head_name) == []
    assert not any(r.name.endswith(first[1].names.head_name) for r in held)
    # Everything else in the zone is untouched.
    assert server.txt("note.example.com.") == ["a comment-like ; inside quotesand a (paren"]
    assert server.named.query("www.example.com.", "A")[0].answer


def test_phases_are_successive_octodns_applies(
    octo: tuple[UpdateServer, Path], make_torrent: MakeTorrent, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, config = octo
    target = provider(config)
    first = published(make_torrent, seed=0, count=1)
    sync(target, first)
    second = published(make_torrent, seed=1, count=1)
    plan = build_plan(ZONE, second, target.records())
    client = target._client
    real = client.apply
    seen: list[tuple[set[str], list[str]]] = []

    def spy(octo_plan: object) -> None:
        real(octo_plan)
        names = {c.record.fqdn for c in octo_plan.changes}  # type: ignore[attr-defined]
        seen.append((names, server.txt(second[0].names.head_name)))

    monkeypatch.setattr(client, "apply", spy)
    target.apply(plan)
    head = second[0].names.head_name
    assert [head in names for names, _ in seen] == [False, True]
    assert seen[0][1] == [first[0].head_record.value]  # chunks first, old head still live
    assert Head.from_text(seen[1][1][0]).chunk_id == second[0].head.chunk_id


def test_nothing_outside_torpubs_names_is_planned(
    octo: tuple[UpdateServer, Path], make_torrent: MakeTorrent
) -> None:
    server, config = octo
    # The config's own source holds none of the zone's records: a plain octoDNS
    # sync would delete them all. The bridge must not.
    (config.parent / "example.com.yaml").write_text("---\n{}\n")
    target = provider(config)
    desired = published(make_torrent, count=1)
    foreign = Record(f"notes._torrent.dl.{ZONE}", 60, "hand-made")
    server.send([foreign])
    sync(target, desired)
    assert server.held() == all_records(desired) | {foreign}
    assert server.txt("note.example.com.") != []
    assert server.named.query("www.example.com.", "A")[0].answer


def test_a_foreign_change_before_apply_writes_nothing(
    octo: tuple[UpdateServer, Path], make_torrent: MakeTorrent
) -> None:
    server, config = octo
    target = provider(config)
    sync(target, published(make_torrent, seed=0))
    stale = build_plan(ZONE, published(make_torrent, seed=1), target.records())
    head = published(make_torrent, seed=0)[0].names.head_name
    server.foreign_update(Record(head, 300, "v=torrent1; someone else"), delete=head)
    before = server.held()
    with pytest.raises(OctodnsStale, match=rf"{head} changed since the plan; nothing was written"):
        target.apply(stale)
    assert server.held() == before


def test_a_foreign_change_between_phases_stops_the_next(
    octo: tuple[UpdateServer, Path], make_torrent: MakeTorrent, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, config = octo
    target = provider(config)
    first = published(make_torrent, seed=0, count=1)
    sync(target, first)
    plan = build_plan(ZONE, published(make_torrent, seed=1, count=1), target.records())
    client = target._client
    real = client.apply
    head = first[0].names.head_name

    def racing(octo_plan: object) -> None:
        real(octo_plan)
        server.foreign_update(Record(head, 300, first[0].head_record.value + "; x=1"), delete=head)

    monkeypatch.setattr(client, "apply", racing)
    with pytest.raises(
        OctodnsStale, match=r"the phases create chunks were applied; nothing of phase 'write heads'"
    ):
        target.apply(plan)
    assert server.txt(head) == [first[0].head_record.value + "; x=1"]


def test_errors_never_show_the_secret(
    update_named: StartUpdateNamed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = update_named()
    wrong = "V3JvbmdTZWNyZXRXcm9uZ1NlY3JldFdyb25nU2VjcmV0IQ=="
    monkeypatch.setenv(SECRET_VARIABLE, wrong)
    config = write_octodns_config(tmp_path / "octodns.yaml", server)
    target = provider(config)
    with pytest.raises(ProviderError) as caught:
        target.records()
    assert wrong not in str(caught.value)
    assert "Zone Transfer" in str(caught.value) or "TSIG" in str(caught.value).upper()
    change = Change(Action.CREATE, Record(f"x._torrent.{ZONE}", 60, "v"))
    with pytest.raises(ProviderError) as caught:
        target.apply(Plan(ZONE, (Phase(PhaseName.CHUNKS, (change,)),), 0, 0))
    assert wrong not in str(caught.value)


def test_a_wrong_zone_and_a_server_that_is_down_are_clear_errors(
    octo: tuple[UpdateServer, Path], tmp_path: Path, make_torrent: MakeTorrent
) -> None:
    server, config = octo
    wrong = provider(config, zone="example.org", octodns_target="dns")
    with pytest.raises(ProviderError, match=r"octodns: dns: reading zone example\.org\. failed"):
        wrong.records()
    down = write_octodns_config(tmp_path / "down.yaml", server)
    down.write_text(down.read_text().replace(f"port: {server.port}", f"port: {free_port()}"))
    target = provider(down)
    with pytest.raises(ProviderError, match=r"reading zone example\.com\. failed: .*refused"):
        target.records()
    with pytest.raises(ProviderError, match="failed"):
        target.apply(build_plan(ZONE, published(make_torrent, count=1), []))
    assert server.held() == set()


def test_a_missing_secret_names_the_variable_only(
    octo: tuple[UpdateServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _server, config = octo
    monkeypatch.delenv(SECRET_VARIABLE)
    with pytest.raises(ProviderError, match=SECRET_VARIABLE):
        provider(config)


def test_a_missing_secret_from_the_command_is_one_line_without_a_traceback(
    octo: tuple[UpdateServer, Path], tmp_path: Path
) -> None:
    # A real process: octoDNS logs a traceback before it raises, and only a process
    # without pytest's log capture shows whether it reaches the terminal.
    _server, config = octo
    (tmp_path / "a.bin").write_bytes(b"a")
    env = {k: v for k, v in os.environ.items() if k != SECRET_VARIABLE}
    done = subprocess.run(
        [sys.executable, "-m", "torpub", "sync", "a.bin", "-u", "https://example.com/",
         "-p", "octodns", "--octodns-config", str(config), "--dry-run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and SECRET_VARIABLE in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_target_and_zone_selection(octo: tuple[UpdateServer, Path], tmp_path: Path) -> None:
    server, config = octo
    assert provider(config, zone=None).zone == ZONE
    assert provider(config, octodns_target="dns")._client.target == "dns"
    with pytest.raises(ConfigError, match=r"no provider 'nope' \(it has config, dns\)"):
        provider(config, octodns_target="nope")
    with pytest.raises(ConfigError, match="no option 'x'"):
        OctodnsProvider(Target("octodns", ZONE, {"octodns_config": str(config), "x": "y"}))
    with pytest.raises(ConfigError, match="does not exist"):
        provider(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="needs an octoDNS config"):
        OctodnsProvider(Target("octodns", ZONE, {}))
    two = write_octodns_config(tmp_path / "two.yaml", server, zones="example.org.")
    with pytest.raises(ConfigError, match=r"gives zone example\.com\. 0 targets; pass --target"):
        provider(two)


def test_values_escape_semicolons_as_octodns_wants() -> None:
    assert to_octodns_value("v=torrent1; n=1") == "v=torrent1\\; n=1"


def test_the_entry_point_loads_this_provider() -> None:
    assert load("octodns") is OctodnsProvider


def test_cli_sync_through_octodns(
    octo: tuple[UpdateServer, Path],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, config = octo
    monkeypatch.chdir(tmp_path)
    artifacts = tmp_path / "pub"
    artifacts.mkdir()
    (artifacts / "a.bin").write_bytes(b"a" * 50_000)
    flags = [
        "--provider",
        "octodns",
        "--octodns-config",
        str(config),
        "--target",
        "dns",
        "--zone",
        "example.com",
        "--base-url",
        "https://dl.example.com/pub/",
        str(artifacts),
    ]
    assert main(["sync", "-v", *flags]) == 0
    assert main(["sync", "--dry-run", "--detailed-exitcode", *flags]) == 0
    head = names_for("https://dl.example.com/pub/a.bin").head_name
    assert Head.from_text(server.txt(head)[0]).length > 0
    out, err = capfd.readouterr()
    assert server.key.secret_text() not in out + err
