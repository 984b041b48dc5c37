"""Download a torrent with libtorrent: into a hidden ``.part`` directory beside the
target, moved into place only once every piece has passed its hash check; then,
if asked, seed it from there for a while (:mod:`torpub.client.seedgoal`).

An interrupted run leaves the part directory and libtorrent's resume data in it;
the next run for the same torrent continues from there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import libtorrent as lt

from torpub import atomic
from torpub.client import output
from torpub.client.seedgoal import SeedGoal, seed_until
from torpub.client.session import DEFAULT_LISTEN, base_settings, limit_upload
from torpub.errors import DownloadError, RecordError
from torpub.format.torrentinfo import single_file

RESUME_FILE = ".resume"
DEFAULT_STALL_TIMEOUT = 60.0
# BEP 19 web seeds are HTTP; any other scheme in a url-list is dropped.
WEB_SEED_SCHEMES = ("http", "https")
_ALERT_WAIT_MS = 100
_FLUSH_TIMEOUT = 10.0
_LONELY_REANNOUNCE = 10.0


@dataclass(frozen=True)
class Progress:
    """How far a download is: bytes verified, bytes wanted, bytes/s, peers connected;
    once the file is whole and seeding, for how many seconds and what it uploaded."""

    done: int
    total: int
    rate: float
    peers: int
    uploaded: int = 0
    seeding: float | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class SessionOptions:
    """Where the BitTorrent session listens and how it finds peers.

    ``discovery`` switches DHT, local peer discovery, UPnP and NAT-PMP together;
    without it, peers come only from trackers, web seeds and ``peers``.
    """

    listen: str = DEFAULT_LISTEN
    discovery: bool = True
    peers: tuple[tuple[str, int], ...] = ()
    stall_timeout: float = DEFAULT_STALL_TIMEOUT
    poll_interval: float = 0.2
    upload_limit: int = 0  # bytes/s, 0 for none
    seed: SeedGoal | None = None  # None: stop the moment the file is whole

    def settings(self) -> lt.settings_pack:
        return base_settings(self.listen, self.discovery)


def part_directory(directory: Path, name: str) -> Path:
    return directory / f".{name}.part"


def web_seeds(seeds: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The web seeds libtorrent may use (http and https), and the ones it may not."""
    kept = tuple(s for s in seeds if urlsplit(s).scheme.lower() in WEB_SEED_SCHEMES)
    return kept, tuple(s for s in seeds if s not in kept)


def download(
    torrent: bytes,
    directory: Path,
    name: str,
    options: SessionOptions | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Download the single-file ``torrent`` to ``directory/name``, ``name`` being one
    :func:`torpub.client.output.name_from_url` chose; the torrent's own name is not
    used. The finished file's path."""
    options = options or SessionOptions()
    try:
        single_file(torrent)
    except RecordError as e:
        raise DownloadError("torrent", str(e)) from None
    info = _torrent_info(torrent)
    final = directory / name
    output.refuse_existing(final)
    part = output.private_directory(part_directory(directory, name))
    output.refuse_link(part / name)
    session, handle = _start(options, _add_params(info, part, name))
    try:
        _wait_until_complete(session, handle, options, progress, str(final))
        _save_resume_data(session, handle, part)
    except BaseException:
        # Whatever stopped us, keep what is verified so that a rerun continues.
        with contextlib.suppress(Exception):
            _save_resume_data(session, handle, part)
        raise
    goal = options.seed
    if goal is None or goal.seconds <= 0:
        _remove(session, handle)
        # A piece passes its check before its last blocks reach the disk, and only a
        # session that has shut down has written them all: drop it before the rename.
        del handle, session
        os.replace(part / name, final)
    else:
        # libtorrent moves the file itself, after every write queued before the
        # move: the file is whole in its place before a byte is seeded from there.
        _move_storage(session, handle, directory, str(final))
    shutil.rmtree(part, ignore_errors=True)
    if goal is not None and goal.seconds > 0:
        try:
            seed_until(handle, goal, options.poll_interval, _seed_report(progress))
        finally:
            _remove(session, handle)
    return final


def fetch_metadata(
    info_hash: str, options: SessionOptions | None = None, progress: ProgressCallback | None = None
) -> bytes:
    """The ``.torrent`` for a v1 info-hash, from peers (BEP 9): what a head with
    n=0 leaves the client to do. libtorrent checks the info dict the peers send
    against the hash; the torrent holds that dict alone (no web seeds, no trackers)."""
    options = options or SessionOptions()
    with tempfile.TemporaryDirectory(prefix="torpub-metadata-") as scratch:
        params = lt.parse_magnet_uri(f"magnet:?xt=urn:btih:{info_hash}")
        params.save_path = scratch  # pieces asked for before the torrent is removed land here
        session, handle = _start(options, params)
        try:
            _wait_for_metadata(session, handle, options, progress, info_hash)
            info = handle.torrent_file()
        finally:
            _remove(session, handle)
            del handle, session
    if info is None:
        raise DownloadError(info_hash, "the peers' metadata could not be read")
    section = bytes(info.info_section())
    # libtorrent has checked this already; checking again costs microseconds.
    if hashlib.sha1(section).hexdigest() != info_hash:
        raise DownloadError(info_hash, "the peers sent metadata of another torrent")
    return b"d4:info" + section + b"e"


def _start(
    options: SessionOptions, params: lt.add_torrent_params
) -> tuple[lt.session, lt.torrent_handle]:
    """A session with one torrent in it, connected to the peers given by hand."""
    session = lt.session(options.settings())
    limit_upload(session, options.upload_limit)
    handle = session.add_torrent(params)
    for seed in web_seeds(handle.url_seeds())[1]:
        handle.remove_url_seed(seed)
    for peer in options.peers:
        handle.connect_peer(peer)
    return session, handle


def _wait_for_metadata(
    session: lt.session,
    handle: lt.torrent_handle,
    options: SessionOptions,
    progress: ProgressCallback | None,
    what: str,
) -> None:
    deadline = time.monotonic() + options.stall_timeout
    while True:
        _raise_on_error_alerts(session, what)
        status = handle.status()
        if status.has_metadata:
            return
        if progress is not None:
            progress(Progress(0, 0, 0.0, int(status.num_peers)))
        if time.monotonic() > deadline:
            raise DownloadError(
                what,
                f"no peer sent the torrent in {options.stall_timeout:g} s "
                f"({status.num_peers} peers); the head publishes only its info-hash",
            )
        time.sleep(options.poll_interval)


def _torrent_info(torrent: bytes) -> lt.torrent_info:
    try:
        return lt.torrent_info(torrent)
    except (RuntimeError, TypeError) as e:
        raise DownloadError("torrent", f"libtorrent cannot read it ({e})") from e


def _add_params(info: lt.torrent_info, part: Path, name: str) -> lt.add_torrent_params:
    resume = part / RESUME_FILE
    params = lt.add_torrent_params()
    if resume.exists():
        with contextlib.suppress(RuntimeError):
            params = lt.read_resume_data(resume.read_bytes())
    params.ti = info
    params.save_path = str(part)
    params.renamed_files = {0: name}  # the torrent's own name chooses nothing
    return params


def _wait_until_complete(
    session: lt.session,
    handle: lt.torrent_handle,
    options: SessionOptions,
    progress: ProgressCallback | None,
    what: str,
) -> None:
    last_done, last_change = -1, time.monotonic()
    last_announce = last_change
    while True:
        _raise_on_error_alerts(session, what)
        status = handle.status()
        if progress is not None:
            progress(_progress(status))
        if status.is_seeding:
            return
        if status.num_peers == 0 and time.monotonic() - last_announce > _LONELY_REANNOUNCE:
            # Downloaders that start together with the swarm find it empty, and a
            # tracker's interval is tens of minutes: ask again while no one is there.
            handle.force_reannounce(0, -1, lt.torrent_handle.ignore_min_interval)
            last_announce = time.monotonic()
        if status.total_wanted_done != last_done or _is_checking(status):
            last_done, last_change = status.total_wanted_done, time.monotonic()
        elif time.monotonic() - last_change > options.stall_timeout:
            raise DownloadError(what, _stalled(options, status, handle))
        time.sleep(options.poll_interval)


def _stalled(options: SessionOptions, status: lt.torrent_status, handle: lt.torrent_handle) -> str:
    """What was tried, for the message of a download that made no progress."""
    seeds = ", ".join(sorted(handle.url_seeds())) or "none"
    dht = "DHT and local discovery" if options.discovery else "no DHT (--no-discovery)"
    return (
        f"no progress for {options.stall_timeout:g} s; web seeds tried: {seeds}; "
        f"{status.num_peers} peers connected (from trackers, {len(options.peers)} --peer, {dht})"
    )


def _is_checking(status: lt.torrent_status) -> bool:
    return status.state in (
        lt.torrent_status.states.checking_files,
        lt.torrent_status.states.checking_resume_data,
    )


def _progress(status: lt.torrent_status) -> Progress:
    return Progress(
        done=int(status.total_wanted_done),
        total=int(status.total_wanted),
        rate=float(status.download_payload_rate),
        peers=int(status.num_peers),
        uploaded=int(status.total_payload_upload),
    )


def _raise_on_error_alerts(session: lt.session, what: str) -> None:
    for alert in session.pop_alerts():
        if isinstance(alert, lt.torrent_error_alert | lt.file_error_alert):
            raise DownloadError(what, alert.message())


def _move_storage(
    session: lt.session, handle: lt.torrent_handle, directory: Path, what: str
) -> None:
    handle.move_storage(str(directory), lt.move_flags_t.fail_if_exist)
    alert = _wait_for(session, lt.storage_moved_alert, lt.storage_moved_failed_alert)
    if not isinstance(alert, lt.storage_moved_alert):
        reason = alert.message() if alert is not None else "libtorrent did not answer"
        raise DownloadError(what, f"cannot move the finished file into place ({reason})")


def _seed_report(progress: ProgressCallback | None) -> Callable[[lt.torrent_status, float], None]:
    def report(status: lt.torrent_status, seconds: float) -> None:
        if progress is not None:
            done = int(status.total_wanted)
            rate, peers = float(status.upload_payload_rate), int(status.num_peers)
            uploaded = int(status.total_payload_upload)
            progress(Progress(done, done, rate, peers, uploaded, seeding=seconds))

    return report


def _save_resume_data(session: lt.session, handle: lt.torrent_handle, part: Path) -> None:
    """Flush the pieces to disk and write libtorrent's resume data beside them."""
    handle.save_resume_data(lt.save_resume_flags_t.flush_disk_cache)
    alert = _wait_for(session, lt.save_resume_data_alert, lt.save_resume_data_failed_alert)
    if isinstance(alert, lt.save_resume_data_alert):
        atomic.write_atomic(part / RESUME_FILE, lt.write_resume_data_buf(alert.params))


def _remove(session: lt.session, handle: lt.torrent_handle) -> None:
    """Take the torrent out of the session so its files are closed before the rename."""
    session.remove_torrent(handle)
    _wait_for(session, lt.torrent_removed_alert)


def _wait_for(session: lt.session, *kinds: type[lt.alert]) -> lt.alert | None:
    deadline = time.monotonic() + _FLUSH_TIMEOUT
    while time.monotonic() < deadline:
        session.wait_for_alert(_ALERT_WAIT_MS)
        for alert in session.pop_alerts():
            if isinstance(alert, kinds):
                return alert
    return None
