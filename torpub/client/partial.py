"""A plain HTTP download that an interruption does not throw away.

The body goes into a hidden ``.<name>.http-part`` file beside the target, and the
server's strong ETag for it into ``.<name>.http-part.etag``. A rerun asks for the
rest with ``Range`` and ``If-Range`` (RFC 9110 §13.1.5, §14.2): a server whose file
has not changed sends ``206`` and the missing bytes; one whose file has changed
sends ``200`` and the whole new file, and the part starts over. Without a strong
ETag, or with a content coding (whose bytes are not the file's), nothing is kept
for a rerun. The target appears only complete, by rename.
"""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from torpub import atomic
from torpub.client import output
from torpub.client.download import Progress, ProgressCallback
from torpub.errors import DownloadError

_CHUNK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes (\d{1,20})-(\d{1,20})/(\d{1,20}|\*)", re.ASCII)
# RFC 9110 §8.8.3: a strong entity-tag, of visible ASCII, bounded.
_STRONG_ETAG = re.compile(r'"[\x21\x23-\x7e]{0,200}"')


@dataclass(frozen=True)
class Partial:
    """What an earlier run left for ``target``, if anything."""

    target: Path

    @property
    def part(self) -> Path:
        return self.target.with_name(f".{self.target.name}.http-part")

    @property
    def etag_file(self) -> Path:
        return self.part.with_name(f"{self.part.name}.etag")

    def request_headers(self) -> dict[str, str]:
        """``Range`` and ``If-Range`` when a part and its ETag are there to continue."""
        # Neither is followed through a symlink: a planted link must not make us
        # send another file's bytes to the origin as an ETag.
        raw = output.read_small(self.etag_file)
        try:
            st = self.part.lstat()
        except FileNotFoundError:
            return {}
        etag = (raw or b"").decode("ascii", "replace").strip()
        if not stat.S_ISREG(st.st_mode) or not st.st_size or not _STRONG_ETAG.fullmatch(etag):
            return {}
        return {"Range": f"bytes={st.st_size}-", "If-Range": etag}

    def stream(self, response: httpx.Response, progress: ProgressCallback | None) -> Path:
        """Write ``response``'s body after what the part holds (206) or in its place
        (200), then rename the part to the target."""
        offset = self._continues_at(response)
        total = offset + _length(response)
        if offset == 0:
            self._start_over(response)
        try:
            self._write(response, offset, total, progress)
        except BaseException:
            if not self.etag_file.exists():
                self.discard()  # nothing to continue from: leave no trace
            raise
        atomic.commit(self.part, self.target)
        self.etag_file.unlink(missing_ok=True)
        return self.target

    def _write(
        self, response: httpx.Response, offset: int, total: int, progress: ProgressCallback | None
    ) -> None:
        started, done = time.monotonic(), offset
        with output.open_part(self.part, append=bool(offset)) as out:
            for chunk in response.iter_bytes(_CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    rate = (done - offset) / max(time.monotonic() - started, 1e-6)
                    progress(Progress(done, max(total, done), rate, 0))
            out.flush()
            os.fsync(out.fileno())

    def _continues_at(self, response: httpx.Response) -> int:
        """Where a 206 answer's bytes go; 0 for a whole body."""
        if response.status_code != 206:
            return 0
        match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", ""))
        have = self.part.lstat().st_size if os.path.lexists(self.part) else 0
        # The rest of the file, from where the part ends to the file's last byte.
        to_the_end = match is not None and match[3] in ("*", str(int(match[2]) + 1))
        if match is None or not to_the_end or have == 0 or int(match[1]) != have:
            self.discard()  # not the range asked for: start clean on the next run
            raise DownloadError(
                str(response.url), "the server sent another range than asked for; run again"
            )
        return have

    def _start_over(self, response: httpx.Response) -> None:
        etag = response.headers.get("etag", "")
        if _STRONG_ETAG.fullmatch(etag) and not response.headers.get("content-encoding"):
            atomic.write_atomic(self.etag_file, etag.encode())
        else:
            self.etag_file.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove what cannot be continued."""
        for path in (self.part, self.etag_file):
            path.unlink(missing_ok=True)


def _length(response: httpx.Response) -> int:
    """The body's size in bytes as it will be written, or 0 when unknown."""
    if response.headers.get("content-encoding"):
        return 0  # the length is of the coded body, not of what is written
    return int(response.headers.get("content-length", 0) or 0)
