"""Servers the browser client's end-to-end tests use, all on 127.0.0.1, and the
headless Chromium that visits them (web/test/e2e/drive.mjs, puppeteer-core).

- ``cors_mirror(root, rate=None)``: nginx configured by ``torpub server-config nginx
  --cors '*'``, a web seed browsers may use (record format §6); also serves the page.
- ``visit(page, link, directory)``: click the link in headless Chromium; what the
  page showed and what the browser saved.

DNS over HTTPS with the CORS header a page needs: ``doh_servers.dnsdist(…, cors="*")``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from client_servers import StartNginx, WebServer
from processes import find_binary

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
BUNDLE = WEB / "dist" / "torpub.min.js"
DRIVER = WEB / "test" / "e2e" / "drive.mjs"
TORPUB = ROOT / ".venv" / "bin" / "torpub"


def require_bundle() -> Path:
    if not BUNDLE.is_file() or not (WEB / "node_modules" / "puppeteer-core").is_dir():
        pytest.fail("web/dist/torpub.min.js or web/node_modules is missing: run `make web` first")
    return BUNDLE


# --- nginx as a web seed for browsers --------------------------------------------------


StartMirror = Callable[..., WebServer]


@pytest.fixture
def cors_mirror(nginx: StartNginx) -> StartMirror:
    def start(root: Path, rate: str | None = None) -> WebServer:
        """``rate``: nginx's limit_rate per request (e.g. "64k"), for a slow mirror."""
        return nginx(root, torrent_aware=True, cors="*", rate=rate)

    return start


# --- the browser -----------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """What one click showed: ``outcome`` is completed, failed or timeout."""

    outcome: str
    saved: list[Path]
    display: dict[str, object] | None
    during: dict[str, object] | None  # with cancel: the display while it was moving
    layout_shift: bool
    screenshot: Path
    console: list[str]


def visit(
    page: str, link: str, directory: Path, timeout: float = 60.0, cancel: bool = False
) -> Visit:
    """Open ``page`` in headless Chromium, click ``link`` (a CSS selector), and wait
    for a saved file or a failure shown by the drop-in; with ``cancel``, press the
    display's Cancel button once its bar has moved."""
    downloads = directory / "downloads"
    downloads.mkdir(parents=True)
    screenshot = directory / "display.png"
    job = {
        "page": page,
        "link": link,
        "downloads": str(downloads),
        "screenshot": str(screenshot),
        "profile": str(directory / "profile"),
        "timeout": int(timeout * 1000),
        "cancel": cancel,
    }
    done = subprocess.run(
        [find_binary("node"), str(DRIVER), json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=timeout + 60,
        cwd=WEB,
    )
    if done.returncode != 0:
        pytest.fail(f"the browser driver failed:\n{done.stderr}")
    seen = json.loads(done.stdout)
    return Visit(
        outcome=seen["outcome"],
        saved=sorted(p for p in downloads.iterdir() if not p.name.endswith(".crdownload")),
        display=seen["display"],
        during=seen["during"],
        layout_shift=seen["layoutShift"],
        screenshot=screenshot,
        console=seen["console"],
    )
