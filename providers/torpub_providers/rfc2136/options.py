"""The rfc2136 backend's options: the server to update, the TSIG key read from a
key file, the timeout and the largest UPDATE message, checked as they are read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torpub.errors import ConfigError
from torpub.provider import Target, number_option
from torpub_providers.rfc2136 import tsig

DEFAULT_PORT = 53
DEFAULT_TIMEOUT = 10.0
# Well under TCP's 65535 octets, so a server's own limits and the TSIG record fit.
DEFAULT_MAX_MESSAGE = 32768
_OPTIONS = {"server", "tsig_key_file", "tsig_key", "timeout", "max_message"}


@dataclass(frozen=True)
class Rfc2136Options:
    host: str
    port: int
    key: tsig.TsigKey | None
    timeout: float = DEFAULT_TIMEOUT
    max_message: int = DEFAULT_MAX_MESSAGE

    @classmethod
    def from_target(cls, target: Target) -> Rfc2136Options:
        target.check_options(_OPTIONS)
        server = target.options.get("server")
        if not isinstance(server, str) or not server:
            raise ConfigError("the rfc2136 provider needs a server (--server HOST[:PORT])")
        host, port = split_server(server)
        key_file = target.options.get("tsig_key_file")
        key_name = target.options.get("tsig_key")
        key = None
        if key_file is not None:
            key = read_key(Path(str(key_file)), None if key_name is None else str(key_name))
        elif key_name is not None:
            raise ConfigError("the tsig_key option names a key in --tsig-key-file; pass the file")
        return cls(
            host,
            port,
            key,
            number_option(target, "timeout") or DEFAULT_TIMEOUT,
            int(number_option(target, "max_message", whole=True) or DEFAULT_MAX_MESSAGE),
        )


def split_server(server: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` or a bare IPv6 address."""
    host, port = server, DEFAULT_PORT
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), server)
    elif server.count(":") == 1:
        host, text = server.split(":")
        port = _port(text, server)
    if not host:
        raise ConfigError(f"server {server!r} has no host")
    return host, port


def _port(text: str, server: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"server {server!r} has no valid port after ':'")
    return int(text)


def read_key(path: Path, name: str | None = None) -> tsig.TsigKey:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read TSIG key file {path}: {e.strerror}") from e
    except UnicodeDecodeError:
        raise ConfigError(f"TSIG key file {path} is not text") from None
    try:
        return tsig.from_text(text, name)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e
