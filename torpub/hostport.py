"""``HOST[:PORT]`` as a user types a server: the one parser for the client's
resolvers, ``check``'s servers, ``sync --check-server``, the RFC 2136 primary and
``get --peer``."""

from __future__ import annotations

from dataclasses import dataclass

from torpub.errors import ConfigError

DNS_PORT = 53


@dataclass(frozen=True)
class HostPort:
    """A server by name or address, and its port."""

    host: str
    port: int = DNS_PORT

    @classmethod
    def from_text(
        cls, text: str, what: str = "server", default_port: int | None = DNS_PORT
    ) -> HostPort:
        """``HOST``, ``HOST:PORT``, ``[V6]``, ``[V6]:PORT`` or a bare IPv6 address;
        ConfigError naming ``what`` (resolver, server…) for anything else, and for a
        missing port when there is no ``default_port``."""
        host, port = text.strip(), None
        if host.startswith("["):
            host, closed, rest = host[1:].partition("]")
            if not closed or (rest and not rest.startswith(":")):
                raise _bad(text, what, "an IPv6 address goes in brackets: [V6]:PORT")
            port = rest[1:] if rest else None
        elif host.count(":") == 1:
            host, port = host.split(":")
        if not host:
            raise _bad(text, what, "no host")
        if any(c.isspace() for c in host):
            raise _bad(text, what, "a space in the host")
        if port is None:
            if default_port is None:
                raise _bad(text, what, "no port")
            return cls(host, default_port)
        # isdigit() alone takes '²', which int() refuses.
        if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise _bad(text, what, f"{port!r} is not a port (1-65535)")
        return cls(host, int(port))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _bad(text: str, what: str, reason: str) -> ConfigError:
    return ConfigError(f"{what} {text!r} is not HOST[:PORT]: {reason}")
