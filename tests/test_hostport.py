"""HOST[:PORT]: the one parser behind --resolver, --authoritative, --check-server and
the RFC 2136 primary."""

import pytest

from torpub.cli import EXIT_ERROR, main
from torpub.client.resolve import nameservers
from torpub.errors import ConfigError
from torpub.hostport import HostPort
from torpub.provider import Target
from torpub_providers.rfc2136.options import Rfc2136Options


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("ns1.example.com", "ns1.example.com", 53),
        ("127.0.0.1:5353", "127.0.0.1", 5353),
        ("[::1]:5353", "::1", 5353),
        ("[::1]", "::1", 53),
        ("::1", "::1", 53),
        ("2001:db8::53", "2001:db8::53", 53),
        (" ns1.example.com:65535 ", "ns1.example.com", 65535),
    ],
)
def test_host_and_port(text: str, host: str, port: int) -> None:
    assert HostPort.from_text(text) == HostPort(host, port)


@pytest.mark.parametrize(
    "bad",
    [
        "host:0",
        "host:x",
        "host:65536",
        ":53",
        "host:",
        "[::1]:",
        "[::1",
        "[::1]53",
        "[]:53",
        "host:²",
        "a b:53",
        "",
    ],
)
def test_anything_else_is_one_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"^resolver .* is not HOST\[:PORT\]: "):
        HostPort.from_text(bad, "resolver")


def test_text_round_trips_with_brackets_for_ipv6() -> None:
    for text in ("127.0.0.1:5353", "[::1]:53", "ns1.example.com:53"):
        assert str(HostPort.from_text(text)) == text
    assert str(HostPort("::1")) == "[::1]:53"


def test_every_user_of_host_port_refuses_alike() -> None:
    # A superscript digit passes str.isdigit() but not int(): it once ended in a traceback.
    with pytest.raises(ConfigError, match="resolver"):
        nameservers(["127.0.0.1:²"])
    with pytest.raises(ConfigError, match="server"):
        Rfc2136Options.from_target(Target("rfc2136", "example.com.", {"server": "[::1]x"}))


def test_a_peer_needs_its_port() -> None:
    assert HostPort.from_text("[::1]:6881", "peer", default_port=None) == HostPort("::1", 6881)
    with pytest.raises(ConfigError, match=r"peer '127\.0\.0\.1' is not HOST\[:PORT\]: no port"):
        HostPort.from_text("127.0.0.1", "peer", default_port=None)


def test_get_refuses_a_peer_without_a_port(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["get", "http://127.0.0.1:1/x.bin", "--peer", "127.0.0.1:²"])
    _, err = capsys.readouterr()
    assert code == EXIT_ERROR and "peer '127.0.0.1:²' is not HOST[:PORT]" in err
