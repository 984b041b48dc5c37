"""The rfc2136 backend's options: the server to update, the TSIG key read from a
key file, the timeout and the largest UPDATE message, checked as they are read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torpub.errors import ConfigError
from torpub.provider import HostPort, Option, Target
from torpub_providers.rfc2136 import tsig

DEFAULT_TIMEOUT = 10.0
# Well under TCP's 65535 octets, so a server's own limits and the TSIG record fit.
DEFAULT_MAX_MESSAGE = 32768
OPTIONS = (
    Option("server", str, "a server to update: the primary, HOST[:PORT]", required=True),
    Option("tsig_key_file", Path, "a TSIG key file as tsig-keygen writes it"),
    Option("tsig_key", str, "which key of the key file, when it holds several"),
    Option(
        "timeout", float, "seconds to wait for each answer", default=DEFAULT_TIMEOUT, minimum=0.01
    ),
    Option(
        "max_message",
        int,
        "the largest UPDATE message to send, in octets",
        default=DEFAULT_MAX_MESSAGE,
        minimum=512,
    ),
)


@dataclass(frozen=True)
class Rfc2136Options:
    host: str
    port: int
    key: tsig.TsigKey | None
    timeout: float = DEFAULT_TIMEOUT
    max_message: int = DEFAULT_MAX_MESSAGE

    @classmethod
    def from_target(cls, target: Target) -> Rfc2136Options:
        opts = target.checked(OPTIONS)
        server = opts.text("server")
        assert server is not None  # required
        primary = HostPort.from_text(server)
        key_file, key_name = opts.path("tsig_key_file"), opts.text("tsig_key")
        key = None
        if key_file is not None:
            key = read_key(key_file, key_name)
        elif key_name is not None:
            raise ConfigError("the tsig_key option names a key in --tsig-key-file; pass the file")
        timeout, max_message = opts.number("timeout"), opts.integer("max_message")
        assert timeout is not None and max_message is not None  # defaulted
        return cls(primary.host, primary.port, key, timeout, max_message)


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
