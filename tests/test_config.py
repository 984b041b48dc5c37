"""torpub.toml parsing: types, paths relative to the file, and clear errors."""

from pathlib import Path

import pytest

from torpub.errors import ConfigError
from torpub.provider import Target, declared_options
from torpub.publish.config import SCAFFOLD, Settings, expand_paths, load, parse_piece_size


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "torpub.toml"
    path.write_text(text)
    return path


def test_scaffold_loads_with_its_defaults(tmp_path: Path) -> None:
    settings = load(write(tmp_path, SCAFFOLD))
    assert settings.base_url == "https://downloads.example.com/pub/"
    assert settings.paths == (str(tmp_path / "dist/"),)
    assert (settings.chunk_size, settings.chunk_budget) == (900, 16)
    assert (settings.head_ttl, settings.chunk_ttl) == (300, 86400)
    assert settings.targets == (
        Target("bind", "example.com", {"zone_file": "db.example.com"}, base=tmp_path),
    )
    # A path option is relative to the file that names it, once checked.
    (target,) = settings.targets
    checked = target.checked(declared_options("bind"))
    assert checked.path("zone_file") == tmp_path / "db.example.com"


def test_every_key(tmp_path: Path) -> None:
    settings = load(
        write(
            tmp_path,
            """
base_url = "https://h.example/"
paths = ["a", "b/*.iso"]
out = "t"
mirrors = ["https://m.example/"]
trackers = ["udp://t1/announce", ["http://t2/a", "http://t3/a"]]
private = true
piece_size = "4MiB"
chunk_size = 1200
chunk_budget = 8
head_ttl = 60
chunk_ttl = 600
owner = "ci"
""",
        )
    )
    assert settings.trackers == (("udp://t1/announce",), ("http://t2/a", "http://t3/a"))
    assert settings.piece_size == 4 << 20 and settings.private and settings.owner == "ci"
    assert settings.out == str(tmp_path / "t")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chunk_size = 901", "multiple of 4"),
        ("chunk_size = '900'", "must be an integer"),
        ("colour = 1", "unknown key 'colour'"),
        ("owner = 'a b'", "owner"),
        ("piece_size = '3MiB'", "power of two"),
        ("piece_size = 'big'", "'auto' or a size"),
        ("[[targets]]\nzone = 'x'", "needs provider"),
        ("base_url = ", "not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, text))


def test_flags_override_and_none_keeps() -> None:
    settings = Settings(chunk_size=900, owner="a").merged(chunk_size=1200, owner=None)
    assert (settings.chunk_size, settings.owner) == (1200, "a")


def test_piece_sizes() -> None:
    assert parse_piece_size("auto") is None
    assert parse_piece_size("256KiB") == 1 << 18
    assert parse_piece_size("1m") == 1 << 20
    assert parse_piece_size(32768) == 32768


def test_globs_expand_and_empty_globs_fail(tmp_path: Path) -> None:
    (tmp_path / "a.iso").write_bytes(b"x")
    (tmp_path / "b.iso").write_bytes(b"x")
    assert expand_paths([str(tmp_path / "*.iso")]) == [tmp_path / "a.iso", tmp_path / "b.iso"]
    with pytest.raises(ConfigError, match="matches no file"):
        expand_paths([str(tmp_path / "*.tar")])
