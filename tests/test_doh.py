"""``resolve --doh`` and ``get --doh``: every question over DNS over HTTPS (RFC 8484),
to dnsdist on loopback in front of a real named serving a zone torpub wrote; the
same results and the same errors as plain DNS, and one clear line when the DoH
endpoint is down or hostile."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from client_servers import (
    HOST,
    LOCAL_HOST,
    LOCAL_ZONE,
    ZONE,
    StartNginx,
    StartUnbound,
    closed_port,
    nginx,
    publish_zone,
    release,
    sign_zone,
    signed_named,
    unbound,
)
from doh_servers import DohServer, StartDnsdist, dnsdist
from test_get import LOOPBACK
from test_resolve import with_chunks

import torpub
from torpub.cli import EXIT_ERROR, EXIT_OK, main
from torpub.client import fetch
from torpub.client.doh import MESSAGE_LIMIT
from torpub.client.resolve import Nameserver, ResolveOptions
from torpub.errors import (
    ChecksumMismatch,
    ConfigError,
    MissingChunk,
    NotPublished,
    NotValidated,
    ResolutionFailed,
    TorpubError,
)
from torpub.format.names import names_for
from torpub.format.records import TorrentRecords, encode

if TYPE_CHECKING:
    from conftest import NamedServer, StartNamed

__all__ = ["dnsdist", "nginx", "unbound"]  # fixtures, imported for pytest

URL = f"https://{HOST}/pub/artifact.bin"
MIRROR = "http://mirror.example.net/pub/"


@pytest.fixture
def records(tmp_path: Path) -> TorrentRecords:
    torrent = release(tmp_path / "release", 2_000_000, webseeds=[MIRROR], piece_size=16384)[1]
    return encode(torrent, names_for(URL))


def plain(server: NamedServer) -> ResolveOptions:
    return ResolveOptions(nameservers=(Nameserver("127.0.0.1", server.port),), timeout=2.0)


def over(endpoint: DohServer | str, **settings: object) -> ResolveOptions:
    url = endpoint if isinstance(endpoint, str) else endpoint.url
    options = ResolveOptions(doh=url, timeout=2.0, attempts=2)
    return replace(options, **settings)  # type: ignore[arg-type]


def both(
    named: StartNamed, dnsdist: StartDnsdist, zone_file: Path, records: TorrentRecords
) -> tuple[NamedServer, DohServer]:
    publish_zone(zone_file, [records])
    server = named(ZONE, zone_file)
    return server, dnsdist(server.port)


def error_of(url: str, options: ResolveOptions) -> TorpubError:
    with pytest.raises(TorpubError) as caught:
        torpub.resolve(url, options)
    return caught.value


def test_resolve_over_doh_reads_what_plain_dns_reads(
    records: TorrentRecords,
    zone_file: Path,
    named: StartNamed,
    dnsdist: StartDnsdist,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, endpoint = both(named, dnsdist, zone_file, records)
    assert records.head.n > 3

    direct = torpub.resolve(URL, plain(server))
    through = torpub.resolve(URL, over(endpoint))

    assert through.payload == direct.payload
    assert through.payload is not None and through.head == records.head
    assert (through.validated, through.head_ttl, through.queries) == (
        False,
        300,
        1 + records.head.n,
    )
    assert direct.validated is False and direct.head_ttl == 300

    code, out = (
        main(["resolve", URL, "-r", f"127.0.0.1:{server.port}", "--json"]),
        capsys.readouterr(),
    )
    assert code == EXIT_OK
    code, out_doh = (
        main(["resolve", URL, "--doh", endpoint.url + "{?dns}", "--json"]),
        capsys.readouterr(),
    )
    assert code == EXIT_OK
    assert json.loads(out_doh.out) == json.loads(out.out)
    assert json.loads(out_doh.out)["torrent"]["web_seeds"] == [MIRROR]


def tampered(records: TorrentRecords) -> TorrentRecords:
    piece = records.chunks[2].value
    return with_chunks(records, {2: piece[:50] + ("A" if piece[50] != "A" else "B") + piece[51:]})


@pytest.mark.parametrize(
    ("change", "url", "kind", "message"),
    [
        (lambda r: with_chunks(r, {1: None}), URL, MissingChunk, "chunk 1 is missing"),
        (tampered, URL, ChecksumMismatch, "SHA-256 differs"),
        (lambda r: r, URL + ".sig", NotPublished, "no torrent is published"),
    ],
)
def test_doh_gives_the_same_errors_as_plain_dns(
    records: TorrentRecords,
    zone_file: Path,
    named: StartNamed,
    dnsdist: StartDnsdist,
    change: Callable[[TorrentRecords], TorrentRecords],
    url: str,
    kind: type[TorpubError],
    message: str,
) -> None:
    server, endpoint = both(named, dnsdist, zone_file, change(records))
    direct, through = error_of(url, plain(server)), error_of(url, over(endpoint))
    assert type(direct) is type(through) is kind
    assert str(through) == str(direct)
    assert message in str(through)


def hostile(nginx: StartNginx, tmp_path: Path, directives: str, body: bytes = b"") -> str:
    """A DoH URL at an nginx that answers every question as ``directives`` say,
    or with the file ``body`` as a DNS message."""
    root = tmp_path / "hostile"
    root.mkdir(exist_ok=True)
    (root / "dns-query").write_bytes(body)
    return nginx(root, directives=directives).url("dns-query")


DNS_MESSAGE = "default_type application/dns-message;"


@pytest.mark.parametrize(
    ("directives", "body", "reason"),
    [
        ("return 503;", b"", "answered HTTP 503"),
        ("default_type text/html;", b"<html>a captive portal</html>", "answered 'text/html'"),
        (DNS_MESSAGE, b"\x00\x00\x81\x80not a dns message", "is not an answer to the question"),
        (DNS_MESSAGE, b"\x00" * (MESSAGE_LIMIT + 1), f"announced a body over {MESSAGE_LIMIT}"),
        (
            # A body nginx sends as gzip though asked for identity: a bomb would grow.
            f"{DNS_MESSAGE} if ($arg_dns) {{ add_header Content-Encoding gzip always; }}",
            gzip.compress(b"\x00" * 1_000_000),
            "content coding",
        ),
        (
            # sub_filter rewrites the body as it goes: chunked, no Content-Length.
            f"{DNS_MESSAGE} sub_filter_types *; sub_filter zz yy;",
            b"\x00" * 50_000_000,
            f"sent a body over {MESSAGE_LIMIT}",
        ),
    ],
)
def test_a_hostile_doh_endpoint_is_one_clear_line(
    tmp_path: Path,
    nginx: StartNginx,
    capsys: pytest.CaptureFixture[str],
    directives: str,
    body: bytes,
    reason: str,
) -> None:
    url = hostile(nginx, tmp_path, directives, body)

    code = main(["resolve", URL, "--doh", url])

    out, err = capsys.readouterr()
    assert code == EXIT_ERROR and out == ""
    assert err.startswith(f"torpub: error: no resolver answered {names_for(URL).head_name}: ")
    assert f"the DoH server {url} " in err and reason in err
    assert err.count("\n") == 1
    assert "captive portal" not in err and "Traceback" not in err


def test_a_doh_endpoint_that_is_down_is_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://user:secret@127.0.0.1:{closed_port()}/dns-query"

    code = main(["resolve", URL, "--doh", url])

    out, err = capsys.readouterr()
    assert code == EXIT_ERROR and out == ""
    shown = url.replace("user:secret@", "")
    assert err.startswith(f"torpub: error: no resolver answered {names_for(URL).head_name}: ")
    assert f"the DoH server {shown} cannot be reached (" in err and err.endswith("(3 tries)\n")
    assert "secret" not in err and err.count("\n") == 1


def test_a_doh_endpoint_that_never_answers_is_asked_again_then_given_up() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/dns-query"
        with pytest.raises(ResolutionFailed, match=r"did not answer within 0\.3 s \(2 tries\)$"):
            torpub.resolve(URL, over(url, timeout=0.3))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--doh", "ftp://127.0.0.1/dns-query"], "needs an http:// or https:// URL with a host"),
        (["--doh", "https:///dns-query"], "needs an http:// or https:// URL with a host"),
        (["--doh", "http://u:secret@127.0.0.1:99999/"], "is not a URL"),
        (["--doh", "https://127.0.0.1/dns-query?token=secret"], "has a query or fragment"),
        (["--doh", "https://127.0.0.1/dns-query", "-r", "127.0.0.1"], "exclude each other"),
    ],
)
def test_a_doh_url_is_checked_before_any_question(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(["resolve", URL, *argv])
    _, err = capsys.readouterr()
    assert code != EXIT_OK
    assert err.startswith("torpub: error: ") and message in err and err.count("\n") == 1
    assert "secret" not in err
    with pytest.raises(ConfigError, match=message):
        ResolveOptions(doh=argv[1], nameservers=(Nameserver("127.0.0.1"),) if "-r" in argv else ())


def test_get_over_doh_falls_back_to_dns_and_a_mirror_web_seed(
    tmp_path: Path,
    nginx: StartNginx,
    named: StartNamed,
    dnsdist: StartDnsdist,
    zone_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror = nginx(tmp_path / "mirror")
    path, torrent = release(tmp_path / "mirror" / "pub", 500_000, webseeds=[mirror.url("pub/")])
    url = f"http://{LOCAL_HOST}:{closed_port()}/pub/{path.name}"
    publish_zone(zone_file, [encode(torrent, names_for(url))], LOCAL_ZONE)
    endpoint = dnsdist(named(LOCAL_ZONE, zone_file).port, LOCAL_ZONE)
    out_dir = tmp_path / "out"

    code = main(
        [
            *("get", url, "-o", str(out_dir), "--doh", endpoint.url, "--timeout", "2"),
            *("--listen", "127.0.0.1:0", "--no-discovery", "--no-seed", "-v"),
        ]
    )

    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    assert out.strip() == str(out_dir / path.name)
    assert (
        hashlib.sha256((out_dir / path.name).read_bytes()).digest()
        == hashlib.sha256(path.read_bytes()).digest()
    )
    assert "resolved over DNS (not validated)" in err
    assert any(f'GET /pub/{path.name} HTTP/1.1" 206' in line for line in mirror.requests())

    got = fetch.get(
        url,
        tmp_path / "again",
        replace(fetch.GetOptions(), http_timeout=2.0, resolve=over(endpoint), session=LOOPBACK),
        lambda _: None,
    )
    assert got.route is fetch.Route.dns and got.resolved is not None
    assert got.resolved.payload == torrent


def test_require_dnssec_over_doh_through_a_validating_resolver(
    records: TorrentRecords,
    zone_file: Path,
    named: StartNamed,
    unbound: StartUnbound,
    dnsdist: StartDnsdist,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, anchor = signed_named(named, zone_file, records)
    validating = dnsdist(unbound(server.port, trust_anchor=anchor).port)
    authoritative = dnsdist(server.port)

    resolved = torpub.resolve(URL, over(validating, require_dnssec=True))
    assert resolved.validated is True and resolved.head == records.head

    # The authoritative server behind DoH never vouches: no AD, refused.
    with pytest.raises(NotValidated):
        torpub.resolve(URL, over(authoritative, require_dnssec=True))
    code = main(["resolve", URL, "--doh", validating.url, "--require-dnssec", "--json"])
    out, _ = capsys.readouterr()
    assert code == EXIT_OK and json.loads(out)["validated"] is True
    code = main(["resolve", URL, "--doh", authoritative.url, "--require-dnssec"])
    _, err = capsys.readouterr()
    assert code == EXIT_ERROR and "were not DNSSEC-validated" in err


def test_dnssec_bogus_answers_over_doh_are_a_resolution_failure(
    records: TorrentRecords,
    zone_file: Path,
    named: StartNamed,
    unbound: StartUnbound,
    dnsdist: StartDnsdist,
) -> None:
    """A validator that finds the data bogus answers SERVFAIL: no fallback, no data."""
    publish_zone(zone_file, [records])
    _, anchor = sign_zone(zone_file)
    server = named(ZONE, zone_file)  # the unsigned zone, against the signed zone's anchor
    validating = dnsdist(unbound(server.port, trust_anchor=anchor).port)
    with pytest.raises(ResolutionFailed, match="answered SERVFAIL"):
        torpub.resolve(URL, over(validating))
