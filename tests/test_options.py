"""Backends declare their options; one helper checks a target's options against
the declaration, for --flags, -O KEY=VALUE and [[targets]] in torpub.toml alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from torpub.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from torpub.errors import ConfigError
from torpub.provider import Option, check_options, declared_options

DECLARED = (
    Option("path", Path, "the file", required=True),
    Option("count", int, "how many", default=3, minimum=1),
    Option("seconds", float, "how long", default=1.5),
    Option("fast", bool, "whether to hurry", default=False),
    Option("token", str, "the API token", secret=True),
)


def test_values_are_converted_to_the_declared_types(tmp_path: Path) -> None:
    given = {"path": "z.json", "count": "7", "seconds": "2", "fast": "yes", "token": "t0ken"}
    opts = check_options("demo", given, DECLARED, base=tmp_path)
    assert opts.path("path") == tmp_path / "z.json"
    assert (opts.integer("count"), opts.number("seconds"), opts.flag("fast")) == (7, 2.0, True)
    defaults = check_options("demo", {"path": "a"}, DECLARED)
    assert (defaults.path("path"), defaults.integer("count")) == (Path("a"), 3)
    assert (defaults.number("seconds"), defaults.flag("fast"), defaults.text("token")) == (
        1.5,
        False,
        None,
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"path": "a", "colour": "red"}, r"no option 'colour' \(it takes: count, fast, path"),
        ({}, r"demo provider needs the file \(--path\)"),
        ({"path": "a", "count": "many"}, "count must be a whole number, not 'many'"),
        ({"path": "a", "count": 2.5}, "count must be a whole number"),
        ({"path": "a", "count": True}, "count must be a whole number"),
        ({"path": "a", "count": "0"}, "count must be at least 1"),
        ({"path": "a", "seconds": "nan"}, "seconds must be a number"),
        ({"path": "a", "seconds": "inf"}, "seconds must be a number"),
        ({"path": "a", "seconds": float("-inf")}, "seconds must be a number"),
        ({"path": "a", "fast": "maybe"}, "fast must be true or false"),
        ({"path": 1}, "path must be a path"),
    ],
)
def test_bad_options_are_one_config_error(given: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_options("demo", given, DECLARED)


def test_a_secret_value_is_never_in_a_message() -> None:
    with pytest.raises(ConfigError) as caught:
        check_options("demo", {"path": "a", "token": 12345678}, DECLARED)
    assert "token must be text" in str(caught.value)
    assert "12345678" not in str(caught.value)


def test_every_backend_declares_its_options_with_help() -> None:
    flags = {name: {o.cli_flag for o in declared_options(name)} for name in ("bind", "route53", "cloudflare", "rfc2136", "octodns")}  # fmt: skip
    assert flags["bind"] >= {"--zone-file", "--reload-command"}
    assert flags["route53"] >= {"--zone-id"}
    assert flags["rfc2136"] >= {"--server", "--tsig-key-file"}
    assert flags["octodns"] == {"--octodns-config", "--target"}
    for name in flags:
        assert all(o.help for o in declared_options(name))


def test_a_target_from_torpub_toml_is_checked_against_the_declaration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "torpub.toml").write_text(
        '[[targets]]\nprovider = "hello"\nzone = "example.com"\npath = "z.json"\nindent = "wide"\n'
    )
    args = ["sync", "--config", str(tmp_path / "torpub.toml"), "-u", "https://h.example/", "-n"]
    assert main(args) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "hello option indent must be a whole number, not 'wide'" in err
    assert "Traceback" not in err


def test_sync_help_lists_the_chosen_backends_flags_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sync", "--provider", "rfc2136", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "--tsig-key-file" in out and "--server" in out
    assert "--zone-file" not in out
    assert main(["sync", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "--zone-file" not in out and "--provider NAME --help" in out
    assert main(["sync", "--provider=bind", "--help"]) == EXIT_OK
    assert "--reload-command" in capsys.readouterr().out


def test_a_flag_of_another_backend_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "--provider", "bind", "--server", "h"]) == EXIT_USAGE
    assert "--server" in capsys.readouterr().err


def test_a_bad_flag_value_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sync", "-u", "https://h.example/", "-p", "rfc2136", "-z", "example.com"]
    assert main([*args, "--server", "127.0.0.1", "--timeout", "nan"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.strip() == "torpub: error: rfc2136 option timeout must be a number, not 'nan'"


def test_torpub_providers_lists_each_backends_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "--tsig-key-file PATH  a TSIG key file" in out
    assert "--path PATH  the JSON file that holds the zone (required)" in out
    assert main(["providers", "octodns"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("octodns") and len(lines) == 3
    assert main(["providers", "nope"]) == EXIT_ERROR


def test_help_imports_no_backend_and_a_declaration_no_sdk() -> None:
    code = (
        "import sys\n"
        "from torpub.cli import main\n"
        "main(['--help'])\n"
        "assert not [m for m in sys.modules if m.startswith('torpub_providers')], 'provider'\n"
        "from torpub.provider import declared_options\n"
        "for name in ('route53', 'cloudflare', 'octodns'):\n"
        "    declared_options(name)\n"
        "sdks = [m for m in ('boto3', 'cloudflare', 'octodns') if m in sys.modules]\n"
        "assert not sdks, sdks\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
