"""What a .torrent describes, in the terms a user downloading it cares about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from torpub.errors import RecordError
from torpub.format import bencode

# The media type of a .torrent (record format §6): the origin serves it, the client asks for it.
TORRENT_TYPE = "application/x-bittorrent"
_SHA1_LENGTH = 20


@dataclass(frozen=True)
class TorrentInfo:
    """A summary of one v1 torrent."""

    name: str
    size: int
    piece_length: int
    pieces: int
    info_hash: str
    web_seeds: tuple[str, ...]
    trackers: tuple[str, ...]
    files: int

    @property
    def magnet(self) -> str:
        """A magnet link with the name, trackers and web seeds (BEP 9, BEP 19 ``ws``)."""
        parts = [f"xt=urn:btih:{self.info_hash}", f"dn={quote(self.name, safe='')}"]
        parts += [f"tr={quote(t, safe='')}" for t in self.trackers]
        parts += [f"ws={quote(w, safe='')}" for w in self.web_seeds]
        return "magnet:?" + "&".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "size": self.size,
            "piece_length": self.piece_length,
            "pieces": self.pieces,
            "files": self.files,
            "info_hash": self.info_hash,
            "web_seeds": list(self.web_seeds),
            "trackers": list(self.trackers),
            "magnet": self.magnet,
        }


def summarise(torrent: bytes) -> TorrentInfo:
    """Read a torrent's summary; a RecordError if it is not a v1 torrent."""
    meta = bencode.decode(torrent)
    info = _dict(meta.get(b"info") if isinstance(meta, dict) else None, "info")
    piece_hashes = _bytes(info.get(b"pieces"), "pieces")
    if len(piece_hashes) % _SHA1_LENGTH:
        raise RecordError("the torrent's piece hashes are not a whole number of SHA-1s")
    return TorrentInfo(
        name=_text(info.get(b"name"), "name"),
        size=_size(info),
        piece_length=_int(info.get(b"piece length"), "piece length"),
        pieces=len(piece_hashes) // _SHA1_LENGTH,
        info_hash=bencode.info_hash(torrent),
        web_seeds=_web_seeds(meta.get(b"url-list")),
        trackers=_trackers(meta),
        files=len(info[b"files"]) if isinstance(info.get(b"files"), list) else 1,
    )


def _size(info: dict[bytes, Any]) -> int:
    files = info.get(b"files")
    if files is None:
        return _int(info.get(b"length"), "length")
    if not isinstance(files, list):
        raise RecordError("the torrent's file list is not a list")
    return sum(_int(_dict(f, "file").get(b"length"), "length") for f in files)


def _web_seeds(value: object) -> tuple[str, ...]:
    # BEP 19 allows a single string as well as a list.
    items = [value] if isinstance(value, bytes) else value if isinstance(value, list) else []
    return tuple(i.decode("utf-8", "replace") for i in items if isinstance(i, bytes) and i)


def _trackers(meta: dict[bytes, Any]) -> tuple[str, ...]:
    """Every tracker once, in tier order (BEP 12), the single ``announce`` first."""
    seen: dict[str, None] = {}
    announce = meta.get(b"announce")
    if isinstance(announce, bytes) and announce:
        seen[announce.decode("utf-8", "replace")] = None
    tiers = meta.get(b"announce-list")
    for tier in tiers if isinstance(tiers, list) else []:
        for url in tier if isinstance(tier, list) else []:
            if isinstance(url, bytes) and url:
                seen.setdefault(url.decode("utf-8", "replace"), None)
    return tuple(seen)


def _dict(value: object, what: str) -> dict[bytes, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"the torrent's {what} is not a dictionary")
    return value


def _bytes(value: object, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise RecordError(f"the torrent's {what} is not a byte string")
    return value


def _text(value: object, what: str) -> str:
    return _bytes(value, what).decode("utf-8", "replace")


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or value < 0:
        raise RecordError(f"the torrent's {what} is not a non-negative integer")
    return value


def single_file(torrent: bytes) -> TorrentInfo:
    """The summary of a torrent the client will download: one file (torpub publishes
    one per torrent), no symlink, and piece hashes that cover exactly its length.
    Checked before anything is written, as the torrent came from DNS or an origin."""
    info = summarise(torrent)
    fields = _dict(bencode.decode(torrent)[b"info"], "info")
    if b"files" in fields:
        raise RecordError("the torrent holds a file list; torpub downloads single-file torrents")
    attributes = fields.get(b"attr", b"")
    if not isinstance(attributes, bytes) or b"l" in attributes or b"symlink path" in fields:
        raise RecordError("the torrent's file is a symlink or has malformed attributes")
    if info.piece_length == 0 or info.pieces != -(-info.size // info.piece_length):
        raise RecordError(
            f"the torrent's {info.pieces} pieces of {info.piece_length} bytes"
            f" do not cover its length of {info.size} bytes"
        )
    return info
