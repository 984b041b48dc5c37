"""``torpub check`` against real servers on 127.0.0.1: named (authoritative, two of
them when one lags), unbound validating a signed zone, nginx mirrors healthy and
broken in the ways operators report, and ``torpub serve`` as the origin.

The URLs' host is 127.0.0.1, so HTTP needs no name lookup, and named serves the
zone ``127.0.0.1.`` that holds their records.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from client_servers import (
    StartNginx,
    StartUnbound,
    WebServer,
    closed_port,
    nginx,
    publish_zone,
    sign_zone,
    torpub_serve,
    unbound,
)
from test_resolve import run

from torpub.check import CheckOptions, Expected, check
from torpub.check.pieces import pieces_of
from torpub.check.render import to_text
from torpub.check.report import Report, UrlReport
from torpub.cli import EXIT_ERROR, EXIT_OK, EXIT_UNHEALTHY
from torpub.client.resolve import Nameserver
from torpub.errors import RecordError
from torpub.format import bencode
from torpub.format.bencode import info_hash
from torpub.format.names import names_for
from torpub.format.records import Encoding, TorrentRecords, encode
from torpub.publish import build

if TYPE_CHECKING:
    from conftest import NamedServer, StartNamed

__all__ = ["nginx", "torpub_serve", "unbound"]  # fixtures, imported for pytest

ZONE = "127.0.0.1."
NAME = "artifact.bin"
SIZE = 200 * 1024 + 77  # 13 pieces of 16 KiB, the last one short
PIECE = "16KiB"
# An origin's own, broken record format §6: the torrent for either signal, even on a
# Range request (a web seed's), where torpub's shipped config always gives the file.
NEGOTIATES_RANGE_TOO = (
    'if ($http_accept ~* "application/x-bittorrent") { rewrite ^ $uri.torrent break; }\n'
    'if ($http_accept_encoding ~* "(^|[\\s,])torrent(\\s*[;,]|\\s*$)") '
    "{ rewrite ^ $uri.torrent break; }"
)


@dataclass(frozen=True)
class Release:
    tree: Path  # what `torpub check PATH` is given; must stay untouched
    origin: WebServer
    url: str
    mirrors: tuple[str, ...]  # base URLs
    torrent: bytes

    def flags(self) -> list[str]:
        base = f"http://127.0.0.1:{self.origin.port}/"
        flags = [str(self.tree), "--base-url", base, "--piece-size", PIECE]
        for mirror in self.mirrors:
            flags += ["--mirror", mirror]
        return flags


def artifact(size: int = SIZE, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def make_release(
    tmp_path: Path,
    nginx: StartNginx,
    mirrors: dict[str, Callable[[Path], WebServer] | str],
    section6: bool = True,
    origin_server: Callable[[Path], WebServer] | None = None,
) -> Release:
    """The artifact in a tree, served as origin with its .torrent (by nginx with the
    config torpub ships, or ``origin_server``), and mirrored as each of ``mirrors``
    says (a start function, or a base URL)."""
    tree = tmp_path / "release"
    tree.mkdir(parents=True)
    (tree / NAME).write_bytes(artifact())
    served = tmp_path / "origin"
    served.mkdir()
    origin = origin_server(served) if origin_server else nginx(served, torrent_aware=section6)
    roots = {name: tmp_path / f"mirror-{name}" for name in mirrors}
    bases = []
    for name, how in mirrors.items():
        roots[name].mkdir()
        bases.append(how if isinstance(how, str) else how(roots[name]).url("/"))
    built = build_one(tree, origin.url("/"), tuple(bases))
    shutil.copy(tree / NAME, served / NAME)
    (served / f"{NAME}.torrent").write_bytes(built.torrent)
    for root in roots.values():
        shutil.copy(tree / NAME, root / NAME)
    return Release(tree, origin, built.artifact.url, tuple(bases), built.torrent)


def build_one(tree: Path, base_url: str, mirrors: tuple[str, ...] = ()) -> build.Built:
    """The torrent of the one file in ``tree``, as `torpub build` makes it (not written)."""
    settings = build.BuildSettings(base_url=base_url, mirrors=mirrors, piece_size=16 << 10)
    (built,) = build.build(build.scan([tree], settings), settings, write=False)
    return built


def records(release: Release, **encoding: Any) -> TorrentRecords:
    return encode(release.torrent, names_for(release.url), Encoding(**encoding))


def at(port: int) -> str:
    return f"127.0.0.1:{port}"


def snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in tree.rglob("*")}


# --- the healthy case, every format -------------------------------------------------


def test_a_healthy_release_exits_0_in_every_format_and_writes_nothing(
    tmp_path: Path,
    zone_file: Path,
    named: StartNamed,
    unbound: StartUnbound,
    nginx: StartNginx,
    capsys: pytest.CaptureFixture[str],
) -> None:
    release = make_release(tmp_path, nginx, {"a": nginx, "b": nginx})
    publish_zone(zone_file, [records(release)], ZONE)
    signed, anchor = sign_zone(zone_file, ZONE)
    server = named(ZONE, signed)
    resolver = unbound(server.port, ZONE, trust_anchor=anchor)
    before = snapshot(release.tree)
    dns = ["-r", at(resolver.port), "--authoritative", at(server.port), "--require-dnssec"]

    code, out, _ = run(capsys, "check", *release.flags(), *dns, "--format", "json")

    assert code == EXIT_OK, out
    report = json.loads(out)
    assert_schema(report)
    assert report["ok"] is True
    (url,) = report["urls"]
    assert url["url"] == release.url
    resolver_part, authoritative_part = url["dns"]["servers"]
    assert resolver_part["kind"] == "resolver" and resolver_part["validated"] is True
    assert authoritative_part["kind"] == "authoritative" and authoritative_part["signed"] is True
    assert authoritative_part["head_ttl"] == 300 and authoritative_part["chunk_ttl"] == 86400
    assert 0 < authoritative_part["largest_answer"] <= 1232
    assert [s["url"] for s in url["web_seeds"]] == [
        release.url,
        *(m + NAME for m in release.mirrors),
    ]
    # The first, the last and three sampled pieces of 13.
    assert all(len(s["pieces_checked"]) == 5 for s in url["web_seeds"])
    assert url["origin"] == {
        "url": release.url,
        "ok": True,
        "reason": "",
        "link": True,
        "accept": True,
        "accept_encoding": True,
        "range": True,
    }
    assert snapshot(release.tree) == before  # no .torrent, no cache: nothing written

    code, out, _ = run(capsys, "check", *release.flags(), *dns, "--full", "--format", "json")
    assert code == EXIT_OK
    assert all(len(s["pieces_checked"]) == 13 for s in json.loads(out)["urls"][0]["web_seeds"])

    # Without a local tree: checked against the torrent DNS serves.
    code, out, _ = run(capsys, "check", "--url", release.url, *dns, "-v")
    assert code == EXIT_OK, out
    assert out.splitlines()[-1] == "1 URL checked: healthy"
    assert f"ih {url['info_hash']}" in out and "AD yes" in out and "RRSIG yes" in out

    code, out, _ = run(capsys, "check", "--url", release.url, *dns, "--format", "markdown")
    assert code == EXIT_OK
    assert out.startswith("### torpub check: ✅ healthy\n")
    assert "| ✅ | http://127.0.0.1:" in out and "✅ 3/3" in out

    code, out, _ = run(capsys, "check", "--url", release.url, *dns, "--format", "prometheus")
    assert code == EXIT_OK
    samples = parse_prometheus(out)
    assert samples[("torpub_check_ok", ())] == 1
    assert samples[("torpub_check_url_ok", (("url", release.url),))] == 1
    seeds = [k for k in samples if k[0] == "torpub_check_web_seed_ok"]
    assert len(seeds) == 3 and all(samples[k] == 1 for k in seeds)


def test_torpub_serve_passes_as_an_origin(
    tmp_path: Path,
    zone_file: Path,
    named: StartNamed,
    nginx: StartNginx,
    torpub_serve: StartNginx,
    capsys: pytest.CaptureFixture[str],
) -> None:
    release = make_release(tmp_path, nginx, {"a": nginx}, origin_server=torpub_serve)
    publish_zone(zone_file, [records(release)], ZONE)
    server = named(ZONE, zone_file)
    dns = ["-r", at(server.port), "--authoritative", at(server.port)]

    code, out, _ = run(capsys, "check", *release.flags(), *dns, "--format", "json")

    assert code == EXIT_OK, out
    (url,) = json.loads(out)["urls"]
    assert url["origin"]["ok"] is True and url["origin"]["range"] is True
    assert all(s["ok"] for s in url["web_seeds"])


SCHEMA = {
    "top": {"schema", "version", "ok", "urls"},
    "url": {"url", "ok", "info_hash", "dns", "web_seeds", "origin"},
    "dns": {"ok", "reason", "servers"},
    "server": {
        "server",
        "kind",
        "ok",
        "reason",
        "info_hash",
        "queries",
        "largest_answer",
        "truncated",
        "head_ttl",
        "chunk_ttl",
        "validated",
        "signed",
        "serial",
    },
    "web_seed": {
        "url",
        "ok",
        "reason",
        "status",
        "length",
        "ranges",
        "pieces_checked",
        "pieces_bad",
    },
    "origin": {"url", "ok", "reason", "link", "accept", "accept_encoding", "range"},
}


def assert_schema(report: dict[str, Any]) -> None:
    """The keys docs/check-json.md documents, and no others."""
    documented = Path(__file__).parent.parent / "docs" / "check-json.md"
    text = documented.read_text()
    for keys in SCHEMA.values():
        assert all(f"`{key}`" in text for key in keys)
    assert set(report) == SCHEMA["top"]
    for url in report["urls"]:
        assert set(url) == SCHEMA["url"]
        assert set(url["dns"]) == SCHEMA["dns"]
        assert all(set(s) == SCHEMA["server"] for s in url["dns"]["servers"])
        assert all(set(s) == SCHEMA["web_seed"] for s in url["web_seeds"])
        assert set(url["origin"]) == SCHEMA["origin"]


def parse_prometheus(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of node_exporter's text format; every line must parse."""
    import re

    sample = re.compile(r'([a-z_]+)(?:\{((?:[a-z_]+="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+]+)')
    label = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')
    found = {}
    typed = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:]
            assert kind == "gauge"
            typed.add(name)
            continue
        match = sample.fullmatch(line)
        assert match, line
        labels = tuple(label.findall(match.group(2) or ""))
        assert match.group(1) in typed
        found[(match.group(1), labels)] = float(match.group(3))
    return found


# --- web seeds: each fault named with its reason ---------------------------------------


def test_each_broken_mirror_is_named_with_its_reason_and_exit_3(
    tmp_path: Path,
    zone_file: Path,
    named: StartNamed,
    nginx: StartNginx,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/"
    release = make_release(
        tmp_path,
        nginx,
        {
            "healthy": nginx,
            "stale": nginx,
            "truncated": nginx,
            "norange": lambda root: nginx(root, directives="max_ranges 0;"),
            "dead": dead,
        },
    )
    (tmp_path / "mirror-stale" / NAME).write_bytes(artifact(seed=2))  # an older build, same size
    (tmp_path / "mirror-truncated" / NAME).write_bytes(artifact()[: SIZE // 2])  # half-synced
    publish_zone(zone_file, [records(release)], ZONE)
    server = named(ZONE, zone_file)
    dns = ["-r", at(server.port), "--authoritative", at(server.port)]

    code, out, _ = run(capsys, "check", *release.flags(), *dns, "--format", "json")

    assert code == EXIT_UNHEALTHY
    report = json.loads(out)
    assert_schema(report)
    (url,) = report["urls"]
    assert report["ok"] is False and url["ok"] is False
    assert url["dns"]["ok"] is True and url["origin"]["ok"] is True
    seeds = {s["url"].split("/")[2]: s for s in url["web_seeds"]}
    by_mirror = dict(
        zip(
            ("origin", "healthy", "stale", "truncated", "norange", "dead"),
            seeds.values(),
            strict=True,
        )
    )
    assert by_mirror["origin"]["ok"] is True and by_mirror["healthy"]["ok"] is True
    stale = by_mirror["stale"]
    assert stale["ok"] is False and stale["reason"].startswith("stale: other bytes (same size")
    assert stale["pieces_bad"] == stale["pieces_checked"]
    truncated = by_mirror["truncated"]
    assert (
        truncated["reason"] == f"truncated: Content-Length {SIZE // 2}, the file has {SIZE} bytes"
    )
    norange = by_mirror["norange"]
    assert norange["ranges"] is False
    assert "ignores Range: answers 200 with the whole file" in norange["reason"]
    assert by_mirror["dead"]["reason"].startswith("dead: ")
    assert by_mirror["dead"]["status"] is None

    code, out, _ = run(capsys, "check", *release.flags(), *dns)
    assert code == EXIT_UNHEALTHY
    lines = out.splitlines()
    assert lines[1].split() == ["✗", release.url, "✓", "2/6", "✗", "✓"]
    for reason in ("stale: other bytes", "truncated: Content-Length", "ignores Range", "dead: "):
        assert sum(reason in line for line in lines) == 1, reason
    assert lines[-1] == "1 URL checked: 1 unhealthy"

    code, out, _ = run(capsys, "check", *release.flags(), *dns, "--format", "markdown")
    assert code == EXIT_UNHEALTHY
    assert out.startswith("### torpub check: ❌ unhealthy") and "**Problems**" in out
    assert "ignores Range" in out

    code, out, _ = run(capsys, "check", *release.flags(), *dns, "--format", "prometheus")
    assert code == EXIT_UNHEALTHY
    samples = parse_prometheus(out)
    assert samples[("torpub_check_ok", ())] == 0
    bad = [k for k, v in samples.items() if k[0] == "torpub_check_web_seed_ok" and v == 0]
    assert len(bad) == 4


def test_origins_that_stopped_negotiating_are_reported(
    tmp_path: Path, zone_file: Path, named: StartNamed, nginx: StartNginx
) -> None:
    """A plain web server (no torrent for either signal), and one that answers a web
    seed's Range request with the torrent because it carries the torrent signal."""
    plain = make_release(tmp_path / "plain", nginx, {}, section6=False)
    # Another file name: the two hosts differ only by port, which DNS names leave out.
    aware_root, aware_tree = tmp_path / "aware", tmp_path / "aware-tree"
    aware_tree.mkdir()
    aware_root.mkdir()
    (aware_tree / "other.bin").write_bytes(artifact(seed=5))
    aware = nginx(aware_root, directives=NEGOTIATES_RANGE_TOO)
    aware_url = aware.url("other.bin")
    aware_torrent = torrent_for(aware_tree, aware.url("/"))
    shutil.copy(aware_tree / "other.bin", aware_root / "other.bin")
    (aware_root / "other.bin.torrent").write_bytes(aware_torrent)
    publish_zone(zone_file, [records(plain), encode(aware_torrent, names_for(aware_url))], ZONE)
    server = named(ZONE, zone_file)

    report = check_one(
        server, Expected(plain.url, plain.torrent), Expected(aware_url, aware_torrent)
    )

    by_url = {u.url: u for u in report.urls}
    for url in by_url.values():
        assert url.dns.ok and all(s.ok for s in url.web_seeds)
        assert not url.ok and not url.origin.ok
    first = by_url[plain.url].origin
    assert (first.link, first.accept, first.accept_encoding, first.range) == (
        True,
        False,
        False,
        True,
    )
    assert "Accept: application/x-bittorrent: answers something other than a torrent" in (
        first.reason
    )
    second = by_url[aware_url].origin
    assert (second.link, second.accept, second.accept_encoding, second.range) == (
        True,
        True,
        True,
        False,
    )
    assert second.reason == "a Range request: answers other bytes than the file's first piece"


def test_a_link_header_that_is_no_url_is_a_finding(
    tmp_path: Path, zone_file: Path, named: StartNamed, nginx: StartNginx
) -> None:
    # A nested location: its add_header replaces the plain server's good Link.
    link = f"""location = /{NAME} {{ add_header Link '<http://[bad/>; rel="describedby"'; }}"""
    release = make_release(
        tmp_path, nginx, {}, origin_server=lambda root: nginx(root, directives=link)
    )
    publish_zone(zone_file, [records(release)], ZONE)

    report = check_one(named(ZONE, zone_file), Expected(release.url, release.torrent))

    (url,) = report.urls
    assert url.origin.link is False
    assert "a plain GET: Link rel=describedby is not a URL" in url.origin.reason


def test_web_seeds_that_are_no_urls_are_dead_not_a_crash(
    tmp_path: Path, zone_file: Path, named: StartNamed, nginx: StartNginx
) -> None:
    """The url-list comes from the torrent: whatever it holds is a finding."""
    release = make_release(tmp_path, nginx, {"healthy": nginx})
    meta = bencode.decode(release.torrent)
    hostile = ["http://[bad/", "http://[::1/x", "http://\x00/"]
    meta[b"url-list"] = [*meta[b"url-list"], *(h.encode() for h in hostile)]
    torrent = bencode.encode(meta)
    publish_zone(zone_file, [records(release)], ZONE)

    report = check_one(named(ZONE, zone_file), Expected(release.url, torrent))

    (url,) = report.urls
    good, bad = url.web_seeds[: -len(hostile)], url.web_seeds[-len(hostile) :]
    assert good and all(s.ok for s in good)
    assert [s.url for s in bad] == hostile
    assert all(not s.ok and s.reason.startswith("dead: not a URL (") for s in bad)


def torrent_for(tree: Path, base_url: str) -> bytes:
    return build_one(tree, base_url).torrent


# --- DNS faults ------------------------------------------------------------------------


def check_one(server: NamedServer, *targets: Expected, **options: Any) -> Report:
    ns = Nameserver("127.0.0.1", server.port)
    base = CheckOptions(resolvers=(ns,), authoritative=(ns,), timeout=2.0)
    return check(targets, replace(base, **options))


def test_dns_faults_are_each_reported(
    tmp_path: Path, zone_file: Path, named: StartNamed, nginx: StartNginx
) -> None:
    release = make_release(tmp_path, nginx, {})
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / NAME).write_bytes(artifact(seed=3))
    another = torrent_for(tmp_path / "other", "http://127.0.0.1:1/")
    origin = release.origin.url
    missing_url, other_url, big_url = origin("missing.bin"), origin("other.bin"), origin("big.bin")
    missing = encode(release.torrent, names_for(missing_url), Encoding(chunk_size=100))
    missing = replace(missing, chunks=missing.chunks[:2] + missing.chunks[3:])
    named_other = encode(another, names_for(other_url))  # a head naming another torrent
    (tmp_path / "large").mkdir()
    (tmp_path / "large" / NAME).write_bytes(artifact(size=2 << 20))
    large = torrent_for(tmp_path / "large", origin("/"))  # 128 pieces: 3.4 kB of base64
    big = encode(large, names_for(big_url), Encoding(chunk_size=4000))
    publish_zone(zone_file, [missing, named_other, big], ZONE)
    server = named(ZONE, zone_file)

    report = check_one(
        server,
        Expected(missing_url, release.torrent),
        Expected(other_url, release.torrent),
        Expected(big_url, large),
    )

    by_url = {u.url: u for u in report.urls}
    assert not report.ok
    gone = by_url[missing_url].dns
    assert not gone.ok and all("chunk 2 is missing" in s.reason for s in gone.servers)
    wrong = by_url[other_url].dns
    assert not wrong.ok
    for s in wrong.servers:
        assert s.info_hash == info_hash(another)
        assert s.reason.startswith(f"serves another torrent (ih {s.info_hash})")
    huge = by_url[big_url].dns
    assert not huge.ok
    for s in huge.servers:
        assert s.info_hash == info_hash(large)  # whole, over TCP
        assert s.truncated == big.head.n and s.largest_answer > 1232
        assert "exceed 1232 octets and come back truncated over UDP" in s.reason
    assert "truncated over UDP" in to_text(report)


def test_an_authoritative_server_that_lags_behind_is_named(
    tmp_path: Path,
    zone_file: Path,
    named: StartNamed,
    nginx: StartNginx,
    capsys: pytest.CaptureFixture[str],
) -> None:
    release = make_release(tmp_path, nginx, {})
    (release.tree / NAME).write_bytes(artifact(seed=4))  # the previous release
    old = torrent_for(release.tree, release.origin.url("/"))
    (release.tree / NAME).write_bytes(artifact())
    publish_zone(zone_file, [encode(old, names_for(release.url))], ZONE)
    old_zone = zone_file.with_name("db.old")
    shutil.copy(zone_file, old_zone)
    publish_zone(zone_file, [records(release)], ZONE)
    current, lagging = named(ZONE, zone_file), named(ZONE, old_zone)
    dns = ["-r", at(current.port), "--authoritative", at(current.port)]
    dns += ["--authoritative", at(lagging.port)]

    code, out, _ = run(capsys, "check", *release.flags(), *dns, "--format", "json")

    assert code == EXIT_UNHEALTHY
    (url,) = json.loads(out)["urls"]
    _, fresh, stale = url["dns"]["servers"]
    assert fresh["ok"] is True and stale["ok"] is False
    assert stale["server"] == at(lagging.port)
    assert stale["serial"] < fresh["serial"]
    assert (
        f"lags behind: zone serial {stale['serial']}, another server has {fresh['serial']}"
        in (stale["reason"])
    )
    assert url["web_seeds"] and all(s["ok"] for s in url["web_seeds"])


# --- running at all, and what is printed -----------------------------------------------


def test_a_bad_option_is_an_error_not_a_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", "--url", "http://127.0.0.1:1/x", "--sample", "-1")
    assert code == EXIT_ERROR and out == ""
    assert err.strip() == "torpub: error: --sample -1 is negative"


def test_network_strings_are_escaped_in_text_and_markdown() -> None:
    from torpub.check.render import to_markdown
    from torpub.check.report import DnsResult, OriginResult, WebSeedResult

    hostile = "http://mirror.example/\x1b]52;c;AAAA\x07\u202e.bin"
    seed = WebSeedResult(hostile, False, "dead: \x1b[2Jgone", None, None, None, (), ())
    origin = OriginResult("http://o.example/a", True, "", True, True, True, True)
    report = Report(
        (UrlReport("http://o.example/a", None, DnsResult(True, "", ()), (seed,), origin),)
    )

    for text in (to_text(report, verbose=1), to_markdown(report)):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "x1b" in text and "x07" in text and "u202e" in text


# --- sync --check -------------------------------------------------------------------


def test_sync_check_checks_what_it_applied_and_exits_3_when_a_mirror_breaks(
    tmp_path: Path,
    zone_file: Path,
    named: StartNamed,
    nginx: StartNginx,
    capsys: pytest.CaptureFixture[str],
) -> None:
    release = make_release(tmp_path, nginx, {"a": nginx})
    server = named(ZONE, zone_file)
    sync = [
        "sync", *release.flags(), "-p", "bind", "-z", ZONE, "--zone-file", str(zone_file),
        "--reload-command", server.reload_command, "--wait", "--check",
        "--check-server", at(server.port), "--check-resolver", at(server.port),
    ]  # fmt: skip

    code, out, _ = run(capsys, *sync, "--format", "json")

    assert code == EXIT_OK, out
    *plan_lines, check_line = out.splitlines()
    assert [json.loads(line)["schema"] for line in plan_lines] == ["torpub-plan"]
    report = json.loads(check_line)
    assert report["schema"] == "torpub-check" and report["ok"] is True
    assert [u["url"] for u in report["urls"]] == [release.url]

    (tmp_path / "mirror-a" / NAME).unlink()  # the mirror lost the file: nothing to sync
    code, out, _ = run(capsys, *sync)

    assert code == EXIT_UNHEALTHY
    assert "No changes" in out and "answers 404 instead of 200" in out


def test_sync_check_needs_a_sync_that_applies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "sync", str(tmp_path), "-u", "http://127.0.0.1/", "-n", "--check")
    assert code == EXIT_ERROR and "--check" in err and "torpub check" in err


def test_a_torrent_whose_pieces_are_too_big_to_read_is_not_fetched() -> None:
    """A piece is read whole to be hashed: a torrent from DNS claiming 1 TiB pieces
    must not make check ask a mirror for them."""
    size = 1 << 40
    info = {
        b"length": size,
        b"name": b"huge.bin",
        b"piece length": size,
        b"pieces": b"\0" * 20,
    }
    torrent = bencode.encode({b"info": info, b"url-list": [b"http://127.0.0.1:1/huge.bin"]})
    with pytest.raises(RecordError, match="over the 134217728 torpub builds"):
        pieces_of(torrent)
