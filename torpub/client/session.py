"""What every libtorrent session of torpub shares, downloading or seeding: the
settings that keep untrusted torrents from aiming it at local services, the
listen interfaces, and an upload limit that also holds on a LAN."""

from __future__ import annotations

import re

import libtorrent as lt

from torpub.errors import ConfigError

DEFAULT_LISTEN = "0.0.0.0:6881,[::]:6881"
# aria2's and curl's convention: K and M are powers of 1024.
_RATE = re.compile(r"(?i)\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:/s)?\s*")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_INTERFACE = re.compile(r"(?:[^,:\[\]\s]+|\[[0-9A-Fa-f:.%\w]+\]):\d{1,5}s?")
_ALL_V4, _ALL_V6 = ("0.0.0.0", "255.255.255.255"), ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")


def parse_rate(text: str) -> int:
    """Bytes per second from ``500K``, ``10M``, ``1.5MiB/s`` or plain bytes; 0 is no limit."""
    match = _RATE.fullmatch(text)
    if not match:
        raise ConfigError(f"rate {text!r} is not bytes per second like 500K or 10M")
    rate = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if rate >= 1 << 31:
        raise ConfigError(f"rate {text!r} is more than libtorrent can limit (2 GiB/s)")
    return int(rate)


def listen_interfaces(text: str) -> str:
    """libtorrent's ``listen_interfaces`` from ``--listen``: a bare PORT (0 for any
    free port) means every IPv4 and IPv6 address; else ``HOST:PORT`` items,
    comma-separated. Checked here, since libtorrent skips a bad item in silence."""
    text = text.strip()
    if text.isdigit():
        text = f"0.0.0.0:{text},[::]:{text}"
    items = [item.strip() for item in text.split(",")]
    for item in items:
        if not _INTERFACE.fullmatch(item) or int(item.rstrip("s").rsplit(":", 1)[1]) > 65535:
            raise ConfigError(f"listen interface {item!r} is not PORT or HOST:PORT (port 0: any)")
    return ",".join(items)


def base_settings(listen: str, discovery: bool) -> lt.settings_pack:
    """Settings of every session; ``discovery`` switches DHT, local peer discovery,
    UPnP and NAT-PMP together."""
    return {
        "listen_interfaces": listen_interfaces(listen),
        # Web seeds and trackers come from unvalidated DNS: keep libtorrent from
        # aiming them at local services (query strings to loopback, redirects to
        # private addresses, look-alike IDNA names), whatever its default becomes.
        "ssrf_mitigation": True,
        "allow_idna": False,
        "enable_dht": discovery,
        "enable_lsd": discovery,
        "enable_upnp": discovery,
        "enable_natpmp": discovery,
        # Several peers behind one address: a LAN, a NAT, or tests on loopback.
        "allow_multiple_connections_per_ip": True,
        "stop_tracker_timeout": 2,
        "alert_mask": int(lt.alert_category.error | lt.alert_category.storage)
        | int(lt.alert_category.status),
    }


def limit_upload(session: lt.session, rate: int) -> None:
    """Cap the session's upload at ``rate`` bytes/s (0: no cap), for every peer.

    libtorrent puts peers on a local network (loopback too) in a peer class of
    their own with no rate limit, so a cap alone would not hold for a mirror on
    the same LAN: every address is put in the global class, the one the cap limits.
    """
    session.apply_settings({"upload_rate_limit": rate})
    if rate == 0:
        return
    classes = lt.ip_filter()
    for first, last in (_ALL_V4, _ALL_V6):
        classes.add_rule(first, last, 1 << lt.session.global_peer_class_id)
    session.set_peer_class_filter(classes)
