"""An API endpoint that answers 200 with a garbled body echoing the request: each
backend's SDK fails to parse it, and torpub says so in one line, with neither the
body nor a credential nor a traceback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from torpub.cli import EXIT_ERROR, main

SESSION_TOKEN = "FwoGZXIvYXdzEJr-session-token-SECRET"
SECRET_KEY = "secret-access-key-SECRET"
API_TOKEN = "cloudflare-api-token-SECRET"


class _Echo(BaseHTTPRequestHandler):
    """200 OK with a body that is neither XML nor JSON and holds the request's headers."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"<<garbled {\n" + bytes(self.headers) + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", self.server.content_type)  # type: ignore[attr-defined]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(params=["text/xml", "application/json"])
def echo_server(request: pytest.FixtureRequest) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.content_type = request.param  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def _sync(tmp_path: Path, *target: str) -> list[str]:
    release = tmp_path / "release"
    release.mkdir()
    (release / "a.bin").write_bytes(b"x" * 50_000)
    return [
        "sync", str(release), "--base-url", "https://dl.example.com/pub/",
        "--out", str(tmp_path / "torrents"), "--zone", "example.com", "--dry-run", *target,
    ]  # fmt: skip


def _one_clean_line(capsys: pytest.CaptureFixture[str], *secrets: str) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.count("\n") == 1, err
    for secret in secrets:
        assert secret not in out + err
    assert "garbled" not in err  # the body is never printed
    return err


def test_route53_garbled_answer_is_one_redacted_line(
    echo_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", echo_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    assert main(_sync(tmp_path, "--provider", "route53")) == EXIT_ERROR
    err = _one_clean_line(capsys, SESSION_TOKEN, SECRET_KEY, "AKIAFAKEFAKEFAKE0001")
    assert err.startswith("torpub: error: route53: ListHostedZonesByName failed (HTTP 200)")


def test_cloudflare_garbled_answer_is_one_redacted_line(
    echo_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", echo_server)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", API_TOKEN)

    assert main(_sync(tmp_path, "--provider", "cloudflare")) == EXIT_ERROR
    err = _one_clean_line(capsys, API_TOKEN)
    assert err.startswith("torpub: error: cloudflare: list zones failed (HTTP 200)")
