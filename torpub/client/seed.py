"""One libtorrent session seeding every artifact of a tree (``torpub seed``).

Each torrent is one torpub has just built from the file it seeds, hashed now or
vouched for by the build cache, so it is added in libtorrent's seed mode: no
hashing at start-up; libtorrent checks each piece the first time a peer asks for
it, and re-checks the whole file should one fail (the file changed behind the
cache's back).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import libtorrent as lt

from torpub.client.session import DEFAULT_LISTEN, base_settings, limit_upload
from torpub.format import bencode

# Room for an alert per torrent when thousands are added at once.
_ALERT_QUEUE = 1 << 16
_ADD_TIMEOUT_MS = 60_000
_ADD_BATCH = 1000
_FINAL_TIMEOUT = 5.0


@dataclass(frozen=True)
class SeedItem:
    """A file to seed and the torrent built from it; ``name`` is what the
    display and the summary call it (the artifact's URL)."""

    name: str
    path: Path
    torrent: bytes


@dataclass(frozen=True)
class SeedOptions:
    """``dht`` switches DHT, local discovery, UPnP and NAT-PMP together;
    ``upload_limit`` is bytes/s for the whole session, 0 for none."""

    listen: str = DEFAULT_LISTEN
    dht: bool = True
    upload_limit: int = 0
    max_peers: int | None = None  # None: libtorrent's own connection limit
    # BEP 16: offer each peer only pieces no other peer has had from us, so a
    # capped seeder sends each piece about once and the peers trade the rest.
    super_seed: bool = False


@dataclass(frozen=True)
class TorrentStats:
    """One torrent's share: bytes uploaded, peers connected now, different peers
    seen since the start (by peer id), upload bytes/s."""

    name: str
    info_hash: str
    uploaded: int = 0
    peers: int = 0
    peers_seen: int = 0
    rate: float = 0.0


@dataclass(frozen=True)
class SwarmStats:
    """The session at one moment; ``uploaded`` counts torrents since removed too."""

    torrents: tuple[TorrentStats, ...]
    uploaded: int
    rate: float
    peers: int

    def summary(self) -> dict[str, object]:
        """What ``torpub seed --json`` prints: ``peers`` are the different peers seen."""
        torrents = [
            {
                "name": t.name,
                "info_hash": t.info_hash,
                "uploaded": t.uploaded,
                "peers": t.peers_seen,
            }
            for t in self.torrents
        ]
        return {"uploaded": self.uploaded, "torrents": torrents}


@dataclass(frozen=True)
class Changes:
    """What an update did, by name; ``skipped`` with the reason."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()


Note = Callable[[str], None]


class Swarm:
    """The session and the torrents in it, keyed by info-hash."""

    def __init__(self, options: SeedOptions, note: Note | None = None) -> None:
        settings = base_settings(options.listen, options.dht) | {"alert_queue_size": _ALERT_QUEUE}
        # Peers leaving (with their ids) are what the summary counts.
        settings["alert_mask"] = int(settings["alert_mask"]) | int(lt.alert_category.connect)
        if options.max_peers is not None:
            settings["connections_limit"] = options.max_peers
        self._session = lt.session(settings)
        limit_upload(self._session, options.upload_limit)
        self._note = note or (lambda _message: None)
        self._super_seed = options.super_seed
        self._items: dict[str, SeedItem] = {}
        self._handles: dict[str, lt.torrent_handle] = {}
        self._stats: dict[str, TorrentStats] = {}
        self._retired: dict[str, TorrentStats] = {}
        self._base: dict[str, int] = {}  # uploaded by an earlier stint of the torrent
        self._seen: dict[str, set[str]] = {}  # peer ids, as peers leave or at the end

    def __len__(self) -> int:
        return len(self._handles)

    @property
    def port(self) -> int:
        return int(self._session.listen_port())

    def update(self, items: Iterable[SeedItem]) -> Changes:
        """Seed exactly ``items``: add the new, remove the gone or moved."""
        wanted: dict[str, SeedItem] = {}
        skipped: list[tuple[str, str]] = []
        for item in items:
            ih = bencode.info_hash(item.torrent)
            if ih in wanted:
                skipped.append((item.name, f"the same torrent as {wanted[ih].name}"))
            else:
                wanted[ih] = item
        gone = [ih for ih, item in self._items.items() if wanted.get(ih) != item]
        removed = tuple(self._remove(ih) for ih in gone)
        new = [(ih, item) for ih, item in wanted.items() if ih not in self._items]
        added: list[str] = []
        for start in range(0, len(new), _ADD_BATCH):
            done, failed = self._add(new[start : start + _ADD_BATCH])
            added += done
            skipped += failed
        return Changes(tuple(added), removed, tuple(skipped))

    def poll(self, timeout: float = 0.1) -> SwarmStats:
        """The latest figures: libtorrent reports the torrents that changed, in an
        alert that comes within ``timeout`` seconds or at a later poll."""
        self._session.post_torrent_updates()
        deadline = time.monotonic() + timeout
        while self._session.wait_for_alert(_ms_until(deadline)) is not None:
            if self._take_alerts():
                break
        return self.stats()

    def stats(self) -> SwarmStats:
        current = sorted(
            (replace(t, peers_seen=len(self._seen.get(ih, ()))) for ih, t in self._stats.items()),
            key=lambda t: t.name,
        )
        retired = [t for ih, t in self._retired.items() if ih not in self._stats]
        everything = tuple(current + sorted(retired, key=lambda t: t.name))
        return SwarmStats(
            torrents=everything,
            uploaded=sum(t.uploaded for t in everything),
            rate=sum(t.rate for t in current),
            peers=sum(t.peers for t in current),
        )

    def close(self) -> SwarmStats:
        """Final figures, then the session stops (telling the trackers, for 2 s at most)."""
        self._session.post_torrent_updates()
        for ih, handle in self._handles.items():
            if self._stats[ih].peers:
                self._seen.setdefault(ih, set()).update(str(p.pid) for p in handle.get_peer_info())
        final = self.poll(timeout=_FINAL_TIMEOUT)
        self._session.pause()
        del self._session
        self._handles.clear()
        return replace(final, rate=0.0, peers=0)

    def _add(
        self, batch: Sequence[tuple[str, SeedItem]]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        for ih, item in batch:
            self._items[ih] = item
            earlier = self._retired.pop(ih, None)
            self._base[ih] = earlier.uploaded if earlier else 0
            self._stats[ih] = replace(earlier or TorrentStats(item.name, ih), name=item.name)
            try:
                self._session.async_add_torrent(_params(item, self._super_seed))
            except RuntimeError as e:  # a torrent libtorrent cannot read
                self._forget(ih)
                self._note(f"{item.name}: not seeded ({e})")
        waiting = {ih for ih, _ in batch if ih in self._items}
        failed: list[tuple[str, str]] = []
        while waiting and self._session.wait_for_alert(_ADD_TIMEOUT_MS) is not None:
            for alert in self._session.pop_alerts():
                if not isinstance(alert, lt.add_torrent_alert):
                    self._handle_alert(alert)
                    continue
                ih = str(alert.params.info_hashes.v1)
                waiting.discard(ih)
                if alert.error.value() != 0:
                    failed.append((self._items[ih].name, alert.error.message()))
                    self._forget(ih)
                else:
                    self._handles[ih] = alert.handle
        return [item.name for ih, item in batch if ih in self._handles], failed

    def _remove(self, ih: str) -> str:
        self._session.remove_torrent(self._handles[ih])
        name = self._items[ih].name
        self._retired[ih] = replace(self._stats[ih], peers_seen=len(self._seen.get(ih, ())))
        self._forget(ih)
        return name

    def _forget(self, ih: str) -> None:
        self._items.pop(ih, None)
        self._handles.pop(ih, None)
        self._stats.pop(ih, None)
        self._base.pop(ih, None)
        self._seen.pop(ih, None)

    def _take_alerts(self) -> bool:
        """Handle the alerts there are; whether the figures were among them."""
        updated = False
        for alert in self._session.pop_alerts():
            self._handle_alert(alert)
            updated = updated or isinstance(alert, lt.state_update_alert)
        return updated

    def _handle_alert(self, alert: lt.alert) -> None:
        if isinstance(alert, lt.state_update_alert):
            for status in alert.status:
                self._update(status)
        elif isinstance(alert, lt.peer_disconnected_alert):
            ih = str(alert.handle.info_hashes().v1) if alert.handle.is_valid() else ""
            pid = str(alert.pid)
            if ih in self._stats and pid.strip("0"):  # zeros: gone before the handshake
                self._seen.setdefault(ih, set()).add(pid)
        elif isinstance(alert, lt.torrent_error_alert | lt.file_error_alert):
            self._note(alert.message())

    def _update(self, status: lt.torrent_status) -> None:
        ih = str(status.info_hashes.v1)
        old = self._stats.get(ih)
        if old is None:
            return  # removed since libtorrent sent this
        peers = int(status.num_peers)
        self._stats[ih] = replace(
            old,
            uploaded=self._retired_upload(ih) + int(status.total_payload_upload),
            peers=peers,
            rate=float(status.upload_payload_rate),
        )

    def _retired_upload(self, ih: str) -> int:
        """What an earlier stint of the same torrent uploaded (removed, then added back)."""
        return self._base.get(ih, 0)


def _ms_until(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


def _params(item: SeedItem, super_seed: bool) -> lt.add_torrent_params:
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(item.torrent)
    params.save_path = str(item.path.parent)
    params.renamed_files = {0: item.path.name}
    # Every torrent runs: the queue (auto-managed torrents) would seed only a few.
    params.flags = (params.flags | lt.torrent_flags.seed_mode) & ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    if super_seed:
        params.flags |= lt.torrent_flags.super_seeding
    return params
