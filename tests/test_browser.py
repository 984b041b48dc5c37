"""The browser client (web/) end to end in Debian's headless Chromium: a download
page on one loopback origin, the download's origin dead (a closed port) or up, DNS
over HTTPS through dnsdist to a named serving the zone `torpub sync` wrote, and an
nginx mirror as the web seed."""

from __future__ import annotations

import random
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_servers import TORPUB, StartMirror, Visit, cors_mirror, require_bundle, visit
from client_servers import LOCAL_HOST, LOCAL_ZONE, StartNginx, closed_port, nginx
from doh_servers import StartDnsdist, dnsdist
from test_get import sha256

if TYPE_CHECKING:
    from conftest import StartNamed

__all__ = ["cors_mirror", "dnsdist", "nginx"]  # fixtures, imported for pytest

SIZE = 3 << 20
NAME = "artifact.bin"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Downloads</title>
<script src="torpub.min.js" data-doh="{doh}" data-origin-timeout="3000"{extra}></script>
</head><body>
<h1>Downloads</h1>
<p><a id="download" data-torpub href="{url}">{name}</a> (3 MiB)</p>
</body></html>
"""


def artifact(tmp_path: Path) -> Path:
    """``tmp_path/site/pub/artifact.bin``: random bytes, served by origin and mirror."""
    path = tmp_path / "site" / "pub" / NAME
    path.parent.mkdir(parents=True)
    path.write_bytes(random.Random(14).randbytes(SIZE))
    return path


def sync(path: Path, base_url: str, mirror: str, zone_file: Path) -> None:
    """`torpub sync` with the bind backend: the .torrent beside the file, its records
    in the zone file."""
    target = ["--provider", "bind", "--zone", LOCAL_ZONE, "--zone-file", str(zone_file)]
    subprocess.run(
        [TORPUB, "sync", str(path.parent), "--base-url", base_url, "--mirror", mirror, *target],
        check=True,
        capture_output=True,
        cwd=path.parent.parent,  # no torpub.toml here
    )


@dataclass(frozen=True)
class Browsing:
    """What a browser test starts servers with: pages and mirrors come from
    ``cors_mirror``, DNS over HTTPS from dnsdist in front of a named serving
    ``zone_file``."""

    tmp_path: Path
    named: StartNamed
    zone_file: Path
    dnsdist: StartDnsdist
    cors_mirror: StartMirror

    def doh(self) -> str:
        """A DoH endpoint a page on another origin may use."""
        server = self.named(LOCAL_ZONE, self.zone_file)
        return self.dnsdist(server.port, LOCAL_ZONE, cors="*").url

    def page(self, url: str, extra: str = "") -> str:
        """A download page with the drop-in, on its own origin; ``extra`` attributes
        for the script element."""
        root = self.tmp_path / "page"
        root.mkdir()
        shutil.copy(require_bundle(), root / "torpub.min.js")
        doh = self.doh()
        (root / "index.html").write_text(PAGE.format(doh=doh, url=url, name=NAME, extra=extra))
        return self.cors_mirror(root).url("index.html")

    def click(self, page_url: str, cancel: bool = False) -> Visit:
        """The page's download link, clicked in headless Chromium."""
        return visit(page_url, "#download", self.tmp_path / "browser", cancel=cancel)


@pytest.fixture
def browsing(
    tmp_path: Path,
    named: StartNamed,
    zone_file: Path,
    dnsdist: StartDnsdist,
    cors_mirror: StartMirror,
) -> Browsing:
    return Browsing(tmp_path, named, zone_file, dnsdist, cors_mirror)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def dead_origin_setup(
    browsing: Browsing, publish: bool = True, rate: str | None = None, extra: str = ""
) -> tuple[Path, str, str]:
    """The artifact, published with the mirror as web seed, its origin a closed port;
    the page's URL and the dead URL."""
    path = artifact(browsing.tmp_path)
    mirror = browsing.cors_mirror(browsing.tmp_path / "site", rate=rate)
    base = f"http://{LOCAL_HOST}:{closed_port()}/pub/"
    if publish:
        sync(path, base, mirror.url("pub/"), browsing.zone_file)
    return path, browsing.page(base + NAME, extra), base + NAME


def tamper_chunk_zero(zone_file: Path) -> None:
    """Change one base64 character of chunk 0 in the zone: its SHA-256 no longer matches."""
    chunk = re.compile(
        r'^(0\.[0-9a-f]{16}\.[0-9a-f]{40}\._torrent\S* .*?TXT\s+"[A-Za-z0-9+/]{8})(.)', re.M
    )
    text, count = chunk.subn(lambda m: m[1] + ("B" if m[2] == "A" else "A"), zone_file.read_text())
    assert count == 1, zone_file.read_text()
    zone_file.write_text(text)


def explain(seen: Visit) -> str:
    return f"{seen.outcome}: {seen.display}\n" + "\n".join(seen.console)


def test_origin_up_is_a_plain_download(browsing: Browsing, nginx: StartNginx) -> None:
    path = artifact(browsing.tmp_path)
    # No CORS headers: the browser downloads as from any link.
    origin = nginx(browsing.tmp_path / "site")
    url = origin.url(f"pub/{NAME}").replace("127.0.0.1", LOCAL_HOST)
    seen = browsing.click(browsing.page(url))
    assert seen.outcome == "completed", explain(seen)
    assert [p.name for p in seen.saved] == [NAME]
    assert sha256(seen.saved[0]) == sha256(path)
    assert seen.display is None, "no progress display when the origin answers"


def test_origin_down_downloads_over_doh_and_the_web_seed(
    browsing: Browsing,
) -> None:
    path, page_url, _ = dead_origin_setup(browsing)
    seen = browsing.click(page_url)
    assert seen.outcome == "completed", explain(seen)
    assert [p.name for p in seen.saved] == [NAME]
    assert sha256(seen.saved[0]) == sha256(path)
    # The progress display, as a person and a screen reader meet it.
    display = seen.display
    assert display is not None and display["visible"] and not display["failed"], explain(seen)
    assert display["position"] == "fixed" and not seen.layout_shift
    assert display["live"] == "polite"
    assert "over BitTorrent" in str(display["text"])
    assert display["bar"] == {
        "valuenow": "100",
        "valuemin": "0",
        "valuemax": "100",
        "label": f"Downloading {NAME}",
    }
    width, height = png_size(seen.screenshot)
    assert width > 100 and height > 20


def test_a_tampered_chunk_is_refused_with_a_visible_message(
    browsing: Browsing,
) -> None:
    path = artifact(browsing.tmp_path)
    mirror = browsing.cors_mirror(browsing.tmp_path / "site")
    base = f"http://{LOCAL_HOST}:{closed_port()}/pub/"
    sync(path, base, mirror.url("pub/"), browsing.zone_file)
    tamper_chunk_zero(browsing.zone_file)
    seen = browsing.click(browsing.page(base + NAME))
    assert seen.outcome == "failed", explain(seen)
    assert seen.saved == []
    assert seen.display is not None and seen.display["visible"]
    assert "SHA-256 differs: the records were caught mid-update" in str(seen.display["text"])
    fetched = [line for line in mirror.requests() if NAME in line]
    assert fetched == [], "nothing is fetched for a torrent that failed its check"


def test_nothing_published_is_the_links_ordinary_failure_explained(
    browsing: Browsing,
) -> None:
    _, page_url, url = dead_origin_setup(browsing, publish=False)
    seen = browsing.click(page_url)
    assert seen.outcome == "failed", explain(seen)
    assert seen.saved == []
    assert seen.display is not None and seen.display["visible"]
    text = str(seen.display["text"])
    assert "did not answer" in text and f"no torrent is published for {url}" in text


def test_the_progress_display_moves_and_cancel_stops_the_download(
    browsing: Browsing,
) -> None:
    _, page_url, _ = dead_origin_setup(browsing, rate="64k")
    seen = browsing.click(page_url, cancel=True)
    during = seen.during
    assert during is not None and during["visible"], explain(seen)
    bar = during["bar"]
    assert isinstance(bar, dict) and 0 < int(bar["valuenow"]) < 100
    assert during["text"] == "Downloading over BitTorrent…"
    width, height = png_size(seen.screenshot)
    assert width > 100 and height > 20
    assert seen.outcome == "failed", explain(seen)
    assert seen.display is not None and seen.display["text"] == "Download cancelled."
    assert seen.saved == []


def test_answers_without_dnssec_are_refused_when_the_page_requires_it(
    browsing: Browsing,
) -> None:
    _, page_url, url = dead_origin_setup(browsing, extra=" data-require-dnssec")
    seen = browsing.click(page_url)
    assert seen.outcome == "failed", explain(seen)
    assert seen.display is not None
    assert f"the records for {url} were not DNSSEC-validated" in str(seen.display["text"])
