"""Just enough bencode to write a torrent and to check one: encode, decode, and find
its info dict's bytes.

The bytes come from DNS or an origin: nesting is bounded (no recursion error),
numbers must be canonical ASCII digits of bounded length (``int()`` would also take
spaces, ``+`` and ``_``), and nothing is allocated beyond the input's own size.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from torpub.errors import RecordError


class BencodeError(RecordError):
    pass


def encode(value: Any) -> bytes:
    """``value`` in canonical bencode: bytes, str (UTF-8), int, lists, and dicts
    with str or bytes keys, written in sorted byte order."""
    out: list[bytes] = []
    _encode_into(value, out)
    return b"".join(out)


def _encode_into(value: Any, out: list[bytes]) -> None:
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        out += (str(len(value)).encode(), b":", value)
    elif isinstance(value, int) and not isinstance(value, bool):
        out.append(b"i%de" % value)
    elif isinstance(value, list | tuple):
        out.append(b"l")
        for item in value:
            _encode_into(item, out)
        out.append(b"e")
    elif isinstance(value, dict):
        items = sorted(
            ((k.encode() if isinstance(k, str) else k, v) for k, v in value.items()),
            key=lambda item: item[0],
        )
        out.append(b"d")
        for key, item in items:
            _encode_into(key, out)
            _encode_into(item, out)
        out.append(b"e")
    else:
        raise TypeError(f"cannot bencode {type(value).__name__}")


def decode(data: bytes) -> Any:
    value, end = _decode_at(data, 0, 0)
    if end != len(data):
        raise BencodeError(f"{len(data) - end} trailing bytes after the bencoded value")
    return value


def info_hash(torrent: bytes) -> str:
    """The v1 info-hash: SHA-1 of the info dict exactly as it is encoded."""
    start, end = info_span(torrent)
    return hashlib.sha1(torrent[start:end]).hexdigest()


def info_span(torrent: bytes) -> tuple[int, int]:
    if torrent[:1] != b"d":
        raise BencodeError("a torrent is a bencoded dictionary")
    pos = 1
    while pos < len(torrent) and torrent[pos : pos + 1] != b"e":
        key, pos = _decode_at(torrent, pos, 1)
        start = pos
        _, pos = _decode_at(torrent, pos, 1)
        if key == b"info":
            return start, pos
    raise BencodeError("the torrent has no info dictionary")


_MAX_DEPTH = 64
# 20 digits hold any 64-bit length or integer, more than libtorrent accepts.
_INTEGER = re.compile(rb"0|-?[1-9][0-9]{0,19}")
_LENGTH = re.compile(rb"0|[1-9][0-9]{0,19}")


def _decode_at(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth > _MAX_DEPTH:
        raise BencodeError("bencode nested too deeply")
    lead = data[pos : pos + 1]
    if lead == b"i":
        end = _find(data, b"e", pos)
        return _integer(data[pos + 1 : end], _INTEGER), end + 1
    if lead == b"l":
        items, pos = [], pos + 1
        while data[pos : pos + 1] != b"e":
            item, pos = _decode_at(data, pos, depth + 1)
            items.append(item)
        return items, pos + 1
    if lead == b"d":
        result, pos, last = {}, pos + 1, None
        while data[pos : pos + 1] != b"e":
            key, pos = _decode_at(data, pos, depth + 1)
            if not isinstance(key, bytes) or (last is not None and key <= last):
                raise BencodeError("dictionary keys must be unique byte strings in order")
            result[key], pos = _decode_at(data, pos, depth + 1)
            last = key
        return result, pos + 1
    if lead.isdigit():
        colon = _find(data, b":", pos)
        length = _integer(data[pos:colon], _LENGTH)
        end = colon + 1 + length
        if end > len(data):
            raise BencodeError("byte string runs past the end")
        return data[colon + 1 : end], end
    raise BencodeError(f"unexpected byte at offset {pos}" if lead else "truncated bencode")


def _find(data: bytes, token: bytes, pos: int) -> int:
    end = data.find(token, pos)
    if end < 0:
        raise BencodeError("truncated bencode")
    return end


def _integer(raw: bytes, form: re.Pattern[bytes]) -> int:
    if not form.fullmatch(raw):
        raise BencodeError(f"bad integer {raw[:20]!r}")
    return int(raw)
