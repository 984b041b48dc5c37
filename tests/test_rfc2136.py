"""The rfc2136 provider and TSIG key files against a real dynamic-zone named."""

from __future__ import annotations

import base64
import functools
import subprocess
import time
import types
from collections.abc import Sequence
from pathlib import Path

import backend_sync
import dns.message
import dns.opcode
import dns.rcode
import pytest
from backend_sync import MakeTorrent, all_records, sync
from named_update import KEY_NAME, StartUpdateNamed, UpdateServer, update_named
from processes import find_binary, free_port

from torpub.cli import main
from torpub.errors import ConfigError, ProviderError, ZoneError
from torpub.format.names import names_for
from torpub.format.records import Encoding, Head, Record, TorrentRecords, decode
from torpub.provider import Authoritative, Target, load
from torpub.publish.plan import Action, Change, Phase, PhaseName, Plan, Policy, build_plan
from torpub_providers.rfc2136 import tsig
from torpub_providers.rfc2136.client import TransferRefused
from torpub_providers.rfc2136.provider import Rfc2136Provider, StaleRecords
from torpub_providers.rfc2136.updates import NameChange, batches

__all__ = ["update_named"]  # the fixture, used by name

ZONE = "example.com."


# Chunks of 48 characters: many records per torrent, as a busy zone has.
published = functools.partial(backend_sync.published, encoding=Encoding(chunk_size=48))


def provider(server: UpdateServer, zone: str = ZONE, **options: str) -> Rfc2136Provider:
    opts = {"server": server.address, "tsig_key_file": str(server.tsig_key_file), **options}
    return Rfc2136Provider(Target("rfc2136", zone, opts))


def resolves(server: UpdateServer, want: TorrentRecords) -> bytes:
    """The torrent a resolver would assemble for ``want``'s URL right now."""
    (value,) = server.txt(want.names.head_name)
    head = Head.from_text(value)
    pieces = {}
    for index in range(head.n):
        (piece,) = server.txt(want.names.chunk_name(head.chunk_id, index))
        pieces[index] = piece
    return decode(head, pieces)


# --- publishing ---------------------------------------------------------------


def test_sync_publishes_exactly_the_desired_records(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent
) -> None:
    server = update_named()
    target = provider(server)
    assert target.records() == ()
    desired = published(make_torrent)
    plan = sync(target, desired)
    assert plan.count(Action.CREATE) == len(all_records(desired))
    assert set(target.records()) == all_records(desired)
    assert not build_plan(ZONE, desired, target.records()).has_changes
    for want in desired:
        assert resolves(server, want) == make_torrent(
            40_000 * (desired.index(want) + 1), seed=desired.index(want)
        )
    # The operator's records are untouched and unread.
    assert server.txt("note.example.com.") == ["a comment-like ; inside quotesand a (paren"]


def test_phases_are_applied_in_order_each_acknowledged_first(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = update_named()
    target = provider(server)
    first = published(make_torrent, seed=0, count=1)
    sync(target, first)
    second = published(make_torrent, seed=1, count=1)
    plan = build_plan(ZONE, second, target.records())
    seen: list[tuple[str, list[str]]] = []
    client = target._client
    real = client.update

    def spy(groups: Sequence[NameChange], *, check_only: bool = False) -> int:
        code = real(groups, check_only=check_only)
        if not check_only:
            # What a resolver sees once the server has acknowledged this message.
            seen.append((groups[0].name, server.txt(second[0].names.head_name)))
        return code

    monkeypatch.setattr(client, "update", spy)
    target.apply(plan)
    head = second[0].names.head_name
    kinds = ["head" if name == head else "chunk" for name, _ in seen]
    assert kinds == ["chunk", "head"]
    # After the chunks, resolvers still see the old head; then the new one.
    assert seen[0][1] == [first[0].head_record.value]
    new_head = Head.from_text(seen[1][1][0])
    assert new_head.chunk_id == second[0].head.chunk_id
    assert new_head.previous == first[0].head.chunk_id
    assert set(first[0].chunks) <= set(target.records())


def test_pruning_removes_heads_before_chunks(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent
) -> None:
    server = update_named()
    target = provider(server)
    desired = published(make_torrent, count=2)
    sync(target, desired)
    plan = build_plan(ZONE, desired[:1], target.records(), Policy(prune=True))
    assert [p.name for p in plan.phases if p.changes] == [
        PhaseName.REMOVE_HEADS,
        PhaseName.REMOVE_CHUNKS,
    ]
    target.apply(plan)
    assert set(target.records()) == all_records(desired[:1])
    assert server.txt(desired[1].names.head_name) == []


def test_large_phases_go_out_in_several_messages(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = update_named()
    target = provider(server, max_message="600")
    sizes: list[int] = []
    real = dns.message.Message.to_wire

    def measure(self: dns.message.Message, *args: object, **kwargs: object) -> bytes:
        wire: bytes = real(self, *args, **kwargs)  # type: ignore[arg-type]
        if self.opcode() == dns.opcode.UPDATE:
            sizes.append(len(wire))
        return wire

    monkeypatch.setattr(dns.message.Message, "to_wire", measure)
    desired = published(make_torrent, count=2)
    sync(target, desired)
    assert len(sizes) > 4
    assert max(sizes) <= 600
    assert set(target.records()) == all_records(desired)


def test_batches_keep_each_name_whole_and_under_the_limit() -> None:
    groups = [
        NameChange(f"{i}.x._torrent.example.com.", (), (Record(f"{i}.x", 1, "a" * 900),))
        for i in range(10)
    ]
    runs = list(batches(groups, 2500))
    assert [g for run in runs for g in run] == groups
    assert all(sum(g.size() for g in run) <= 2500 for run in runs)
    big = NameChange("big.", (), (Record("big.", 1, "b" * 5000),))
    assert list(batches([big], 100)) == [[big]]


# --- a change made by someone else --------------------------------------------------


def test_a_foreign_change_before_apply_writes_nothing(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent
) -> None:
    server = update_named()
    target = provider(server)
    sync(target, published(make_torrent, seed=0))
    stale = build_plan(ZONE, published(make_torrent, seed=1), target.records())
    # Another publisher rewrites one head between our plan and our apply.
    head = published(make_torrent, seed=0)[1].names.head_name
    server.foreign_update(Record(head, 300, "v=torrent1; changed by someone else"), delete=head)
    before = set(target.records())
    serial = server.named.serial()
    with pytest.raises(StaleRecords, match=rf"{head} changed since the plan; nothing was written"):
        target.apply(stale)
    assert set(target.records()) == before
    assert server.named.serial() == serial


def test_a_foreign_create_at_a_name_torpub_creates_is_detected(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent
) -> None:
    server = update_named()
    target = provider(server)
    desired = published(make_torrent, count=1)
    plan = build_plan(ZONE, desired, target.records())
    chunk = desired[0].chunks[1]
    server.foreign_update(Record(chunk.name, 60, "squatter"))
    with pytest.raises(StaleRecords, match="plan again") as caught:
        target.apply(plan)
    assert caught.value.names == (chunk.name,)
    assert server.txt(desired[0].names.head_name) == []
    assert server.txt(desired[0].chunks[0].name) == []


def test_a_foreign_change_during_apply_stops_before_the_next_phase(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = update_named()
    target = provider(server)
    first = published(make_torrent, seed=0, count=1)
    sync(target, first)
    second = published(make_torrent, seed=1, count=1)
    plan = build_plan(ZONE, second, target.records())
    client = target._client
    real = client.update
    head = first[0].names.head_name

    def racing(groups: Sequence[NameChange], *, check_only: bool = False) -> int:
        if not check_only and groups[0].name == head:
            # Someone else rewrites the head after the chunks went out.
            server.foreign_update(
                Record(head, 300, first[0].head_record.value + "; x=1"), delete=head
            )
        return real(groups, check_only=check_only)

    monkeypatch.setattr(client, "update", racing)
    with pytest.raises(
        StaleRecords,
        match=r"changed since the plan; the phases create chunks were applied; "
        r"nothing of phase 'write heads' was written; plan again",
    ):
        target.apply(plan)
    # Resolvers still assemble the old torrent whole; the foreign head stays.
    assert server.txt(head) == [first[0].head_record.value + "; x=1"]
    assert resolves(server, first[0]) == make_torrent(40_000, seed=0)


# --- errors a server gives ---------------------------------------------------------


def _key_file(tmp_path: Path, name: str, secret: bytes, algorithm: str = "hmac-sha256") -> Path:
    path = tmp_path / "other.key"
    path.write_text(tsig.to_text(tsig.TsigKey(name + ".", tsig.ALGORITHMS[algorithm], secret)))
    return path


def _plan_of_one(name: str = "x._torrent.dl.example.com.") -> Plan:
    change = Change(Action.CREATE, Record(name, 60, "v=1"))
    return Plan(ZONE, (Phase(PhaseName.CHUNKS, (change,)),), 0, 0)


def test_a_wrong_secret_is_badsig_and_never_shown(
    update_named: StartUpdateNamed, tmp_path: Path
) -> None:
    server = update_named()
    secret = b"not the server's secret, 32 byte"
    target = provider(server, tsig_key_file=str(_key_file(tmp_path, KEY_NAME, secret)))
    for call in (target.records, lambda: target.apply(_plan_of_one())):
        with pytest.raises(ProviderError, match="BADSIG") as caught:
            call()
        assert base64.b64encode(secret).decode() not in str(caught.value)
        assert server.key.secret_text() not in str(caught.value)
    assert server.txt("x._torrent.dl.example.com.") == []


def test_an_unknown_key_is_badkey(update_named: StartUpdateNamed, tmp_path: Path) -> None:
    server = update_named()
    target = provider(server, tsig_key_file=str(_key_file(tmp_path, "nobody", b"s" * 32)))
    with pytest.raises(ProviderError, match=r"BADKEY: the server does not know key nobody\."):
        target.apply(_plan_of_one())


def test_a_skewed_clock_is_badtime(
    update_named: StartUpdateNamed, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = update_named()
    target = provider(server)
    skewed = types.SimpleNamespace(time=lambda: time.time() - 3600)
    monkeypatch.setattr(dns.message, "time", skewed)
    with pytest.raises(ProviderError, match="BADTIME"):
        target.apply(_plan_of_one())


def test_a_zone_the_server_does_not_serve_is_notauth(update_named: StartUpdateNamed) -> None:
    server = update_named()
    target = provider(server, zone="example.org")
    with pytest.raises(
        ProviderError, match=r"transfer .* \(NOTAUTH\): .*not authoritative for zone example\.org\."
    ):
        target.records()
    plan = Plan("example.org.", _plan_of_one("x._torrent.example.org.").phases, 0, 0)
    with pytest.raises(ProviderError, match=r"failed \(NOTAUTH\): .*not authoritative"):
        target.apply(plan)


def test_an_update_policy_without_the_grant_is_refused(update_named: StartUpdateNamed) -> None:
    server = update_named(policy=f'update-policy {{ grant "{KEY_NAME}" zonesub A; }};')
    with pytest.raises(ProviderError, match=r"failed \(REFUSED\): .*update-policy"):
        provider(server).apply(_plan_of_one())
    assert server.txt("x._torrent.dl.example.com.") == []


def test_a_server_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    key_file = _key_file(tmp_path, KEY_NAME, b"k" * 32)
    port = free_port()
    target = Rfc2136Provider(
        Target(
            "rfc2136",
            ZONE,
            {"server": f"127.0.0.1:{port}", "tsig_key_file": str(key_file), "timeout": "1"},
        )
    )
    with pytest.raises(ProviderError, match=rf"cannot reach 127\.0\.0\.1 port {port}"):
        target.records()
    with pytest.raises(ProviderError, match=rf"cannot reach 127\.0\.0\.1 port {port}"):
        target.apply(_plan_of_one())


def test_records_outside_the_zone_are_refused(update_named: StartUpdateNamed) -> None:
    server = update_named()
    with pytest.raises(ZoneError, match=r"not in zone example\.com\."):
        provider(server).apply(_plan_of_one("x._torrent.example.net."))
    with pytest.raises(ZoneError, match=r"plan is for zone example\.org\."):
        provider(server).apply(Plan("example.org.", _plan_of_one().phases, 0, 0))


@pytest.mark.parametrize(
    "algorithm", ["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha384", "hmac-sha512"]
)
def test_every_tsig_algorithm_signs_updates_named_accepts(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent, algorithm: str
) -> None:
    server = update_named(algorithm=algorithm)
    assert server.key.algorithm_short == algorithm
    target = provider(server)
    desired = published(make_torrent, count=1)
    sync(target, desired)
    assert set(target.records()) == server.held() == all_records(desired)


def test_allow_update_by_address_works_without_a_key(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent
) -> None:
    server = update_named(
        policy="allow-update { 127.0.0.1; };", transfer="allow-transfer { 127.0.0.1; };"
    )
    target = Rfc2136Provider(Target("rfc2136", ZONE, {"server": server.address}))
    desired = published(make_torrent, count=1)
    sync(target, desired)
    assert server.held() == all_records(desired)


# --- reading by name when AXFR is refused -----------------------------------------


def test_without_axfr_the_records_are_read_by_name(
    update_named: StartUpdateNamed, make_torrent: MakeTorrent
) -> None:
    server = update_named(transfer="allow-transfer { none; };")
    target = provider(server)
    with pytest.raises(TransferRefused, match=r"\(REFUSED\); allow AXFR to the key"):
        target.records()
    first = published(make_torrent, seed=0)
    heads = [d.names.head_name for d in first]
    target.apply(build_plan(ZONE, first, target.records_at(heads)))
    assert set(target.records_at(heads)) == all_records(first)
    second = published(make_torrent, seed=1)
    target.apply(build_plan(ZONE, second, target.records_at(heads)))
    # The new heads name the old chunk sets, so those are read back too.
    assert set(target.records_at(heads)) == all_records(first) - {d.head_record for d in first} | {
        r for d in second for r in d.chunks
    } | {Record(h, 300, v) for h in heads for v in server.txt(h)}
    assert not build_plan(ZONE, second, target.records_at(heads)).has_changes


# --- options, keys and the CLI ------------------------------------------------------


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs the zone"):
        Rfc2136Provider(Target("rfc2136", None, {"server": "127.0.0.1"}))
    with pytest.raises(ConfigError, match="needs a server"):
        Rfc2136Provider(Target("rfc2136", ZONE, {}))
    with pytest.raises(ConfigError, match="no option 'zone_file'"):
        Rfc2136Provider(Target("rfc2136", ZONE, {"server": "h", "zone_file": "x"}))
    with pytest.raises(ConfigError, match="cannot read TSIG key file"):
        Rfc2136Provider(
            Target("rfc2136", ZONE, {"server": "h", "tsig_key_file": str(tmp_path / "no")})
        )
    two = tmp_path / "two.key"
    two.write_text(
        'key "a" { algorithm hmac-sha256; secret "AAAA"; };\n'
        'key "b" { algorithm hmac-sha512; secret "BBBB"; };\n'
    )
    options = {"server": "h", "tsig_key_file": str(two)}
    with pytest.raises(ConfigError, match=r"two\.key: the key file holds 2 keys"):
        Rfc2136Provider(Target("rfc2136", ZONE, options))
    picked = Rfc2136Provider(Target("rfc2136", ZONE, {**options, "tsig_key": "b"}))
    assert picked._options.key is not None and picked._options.key.algorithm_short == "hmac-sha512"
    with pytest.raises(ConfigError, match="timeout must be a number"):
        Rfc2136Provider(Target("rfc2136", ZONE, {"server": "h", "timeout": "soon"}))


@pytest.mark.parametrize(
    "algorithm",
    ["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"],
)
def test_tsig_keygen_files_parse_for_every_algorithm(tmp_path: Path, algorithm: str) -> None:
    text = subprocess.run(
        [find_binary("tsig-keygen"), "-a", algorithm, "my-key"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    key = tsig.from_text(text)
    assert (key.name, key.algorithm_short) == ("my-key.", algorithm)
    assert f'secret "{key.secret_text()}"' in text
    assert tsig.from_text(tsig.to_text(key)) == key
    assert key.secret_text() not in repr(key)


def test_tsig_files_with_comments_and_several_keys() -> None:
    text = """
    # a comment with key "fake" { algorithm x; secret "y"; };
    key "one" { algorithm hmac-sha256; secret "AAAA"; }; // trailing
    /* key "two" { algorithm hmac-sha1; secret "BBBB"; }; */
    key two.example. {
        algorithm HMAC-SHA512;
        secret "CCCC";
    };
    """
    keys = tsig.all_from_text(text)
    assert [(k.name, k.algorithm_short) for k in keys] == [
        ("one.", "hmac-sha256"),
        ("two.example.", "hmac-sha512"),
    ]
    with pytest.raises(ConfigError, match="holds 2 keys"):
        tsig.from_text(text)
    assert tsig.from_text(text, "two.example").secret == base64.b64decode("CCCC")
    with pytest.raises(ConfigError, match="no key three"):
        tsig.from_text(text, "three")


def test_tsig_errors_never_show_the_secret() -> None:
    secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=!"
    with pytest.raises(ConfigError) as caught:
        tsig.from_text(f'key "k" {{ algorithm hmac-sha256; secret "{secret}"; }};')
    assert "not base64" in str(caught.value)
    assert secret[:10] not in str(caught.value)
    with pytest.raises(ConfigError, match="algorithm 'rot13'"):
        tsig.from_text('key "k" { algorithm rot13; secret "AAAA"; };')
    with pytest.raises(ConfigError, match="no TSIG key"):
        tsig.from_text("options { };")


def test_the_entry_point_loads_this_provider() -> None:
    assert load("rfc2136") is Rfc2136Provider


def test_no_object_of_the_provider_shows_the_secret(update_named: StartUpdateNamed) -> None:
    server = update_named()
    target = provider(server)
    secret = server.key.secret_text()
    shown = [repr(target), repr(vars(target)), repr(vars(target._client)), repr(server.key)]
    assert all(secret not in text for text in shown)


def test_the_primary_is_the_authoritative_server_to_check() -> None:
    for server, expected in (("127.0.0.1:5353", "127.0.0.1:5353"), ("::1", "[::1]:53")):
        target = Rfc2136Provider(Target("rfc2136", ZONE, {"server": server}))
        assert isinstance(target, Authoritative)
        assert target.nameservers() == [expected]


def test_cli_sync_end_to_end_without_showing_the_secret(
    update_named: StartUpdateNamed,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = update_named()
    monkeypatch.chdir(tmp_path)
    artifacts = tmp_path / "pub"
    artifacts.mkdir()
    (artifacts / "a.bin").write_bytes(b"a" * 50_000)
    flags = [
        "--provider",
        "rfc2136",
        "--server",
        server.address,
        "--zone",
        "example.com",
        "--tsig-key-file",
        str(server.tsig_key_file),
        "--base-url",
        "https://dl.example.com/pub/",
        str(artifacts),
    ]
    assert main(["sync", "-v", "--wait", "--wait-timeout", "10", *flags]) == 0
    assert main(["sync", "--dry-run", "--detailed-exitcode", *flags]) == 0
    head = names_for("https://dl.example.com/pub/a.bin").head_name
    assert Head.from_text(server.txt(head)[0]).length > 0
    # A key the server does not trust: an error line, and still no secret.
    bad = _key_file(tmp_path, KEY_NAME, b"z" * 32)
    (artifacts / "b.bin").write_bytes(b"b" * 50_000)
    flags[flags.index(str(server.tsig_key_file))] = str(bad)
    assert main(["sync", "-v", *flags]) == 1
    out, err = capfd.readouterr()
    assert "BADSIG" in err
    for secret in (server.key.secret_text(), base64.b64encode(b"z" * 32).decode()):
        assert secret not in out + err
    assert dns.rcode.NOERROR == 0


def test_cli_sync_reads_by_name_when_axfr_is_refused(
    update_named: StartUpdateNamed,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    server = update_named(transfer="allow-transfer { none; };")
    artifacts = tmp_path / "pub"
    artifacts.mkdir()
    (artifacts / "a.bin").write_bytes(b"a" * 50_000)
    flags = [
        "--provider", "rfc2136", "--server", server.address, "--zone", "example.com",
        "--tsig-key-file", str(server.tsig_key_file),
        "--base-url", "https://dl.example.com/pub/", str(artifacts),
    ]  # fmt: skip
    assert main(["sync", *flags]) == 0
    assert "read by name" in capfd.readouterr().err
    head = names_for("https://dl.example.com/pub/a.bin").head_name
    first = Head.from_text(server.txt(head)[0])
    (artifacts / "a.bin").write_bytes(b"b" * 50_000)
    assert main(["sync", *flags]) == 0
    second = Head.from_text(server.txt(head)[0])
    assert second.previous == first.chunk_id  # the old head was read, by name
    assert main(["sync", "--dry-run", "--detailed-exitcode", *flags]) == 0
