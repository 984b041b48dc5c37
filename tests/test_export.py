"""``torpub export --format octodns``: the YAML, octoDNS's own tools reading it,
and an octoDNS dry-run against a real named that plans exactly torpub's records."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from named_update import KEY_NAME, SECRET_VARIABLE, StartUpdateNamed, update_named

from torpub.cli import main
from torpub.errors import ZoneError
from torpub.format.names import names_for
from torpub.format.records import Head, Record
from torpub.publish import octodns_yaml
from torpub.publish.plan import build_plan

__all__ = ["update_named"]  # the fixture, used by name

ZONE = "example.com."
BIN = Path(sys.executable).parent
BASE_URL = "https://dl.example.com/pub/"


def octodns_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], capture_output=True, text=True, check=False, timeout=120
    )


def export(tmp_path: Path, *args: str) -> int:
    return main(
        ["export", "--format", "octodns", "--base-url", BASE_URL, "--piece-size", "16KiB", *args]
    )


@pytest.fixture
def artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    pub = tmp_path / "pub"
    pub.mkdir()
    for i, size in enumerate((1_500_000, 20_000, 5_000)):
        (pub / f"file-{i}.bin").write_bytes(bytes([i]) * size)
    return pub


# --- the YAML itself ------------------------------------------------------------


def test_names_are_relative_in_octodns_order_and_semicolons_escaped() -> None:
    records = [
        Record(f"10.abc.k._torrent.dl.{ZONE}", 86400, "B"),
        Record(f"9.abc.k._torrent.dl.{ZONE}", 86400, "A"),
        Record(f"k._torrent.dl.{ZONE}", 300, "v=torrent1; n=2; dn=it's"),
    ]
    text = octodns_yaml.to_yaml(records, ZONE)
    assert text.splitlines()[2:] == [
        "'9.abc.k._torrent.dl':",
        "  ttl: 86400",
        "  type: TXT",
        "  value: 'A'",
        "'10.abc.k._torrent.dl':",
        "  ttl: 86400",
        "  type: TXT",
        "  value: 'B'",
        "'k._torrent.dl':",
        "  ttl: 300",
        "  type: TXT",
        "  value: 'v=torrent1\\; n=2\\; dn=it''s'",
    ]
    assert octodns_yaml.from_yaml(text, ZONE) == tuple(sorted(records))
    assert octodns_yaml.to_yaml([], ZONE).endswith("---\n{}\n")


_label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=600)


@given(
    st.lists(
        st.tuples(st.lists(_label, min_size=1, max_size=3), _value, st.integers(1, 2**31 - 1)),
        max_size=8,
    )
)
def test_any_records_round_trip_through_the_yaml(
    items: list[tuple[list[str], str, int]],
) -> None:
    by_name: dict[str, Record] = {}
    for labels, value, ttl in items:
        name = ".".join([*labels, "_torrent", ZONE])
        by_name.setdefault(name, Record(name, ttl, value))
    records = sorted(by_name.values())
    assert list(octodns_yaml.from_yaml(octodns_yaml.to_yaml(records, ZONE), ZONE)) == records


def test_a_file_torpub_did_not_write_is_refused() -> None:
    with pytest.raises(ZoneError, match="line 2 is not one torpub export writes"):
        octodns_yaml.from_yaml("---\nwww:\n  type: A\n  value: 192.0.2.1\n", ZONE)


# --- the command ----------------------------------------------------------------


def test_export_prints_the_same_records_as_zone(
    artifacts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["zone", "--base-url", BASE_URL, str(artifacts)]) == 0
    zone_lines = capsys.readouterr().out
    assert export(tmp_path, "--zone", "example.com", str(artifacts)) == 0
    text = capsys.readouterr().out
    records = octodns_yaml.from_yaml(text, ZONE)
    assert len(records) == len(zone_lines.splitlines()) > 3
    for record in records:
        assert f"{record.name} {record.ttl} IN TXT" in zone_lines
    # Without --zone, the names are relative to the artifacts' one host.
    assert export(tmp_path, str(artifacts)) == 0
    assert f"'{names_for(BASE_URL + 'file-0.bin').key}._torrent':" in capsys.readouterr().out


def test_re_exporting_keeps_the_previous_chunk_set(artifacts: Path, tmp_path: Path) -> None:
    out = tmp_path / "zones"
    out.mkdir()
    assert export(tmp_path, "--zone", "example.com", "--to", str(out), str(artifacts)) == 0
    path = out / "example.com.yaml"
    first = octodns_yaml.from_yaml(path.read_text(), ZONE)
    (artifacts / "file-0.bin").write_bytes(b"changed" * 10_000)
    assert export(tmp_path, "--zone", "example.com", "--to", str(out), str(artifacts)) == 0
    second = octodns_yaml.from_yaml(path.read_text(), ZONE)
    head_name = names_for(BASE_URL + "file-0.bin").head_name
    (old_head,) = [r for r in first if r.name == head_name]
    (new_head,) = [r for r in second if r.name == head_name]
    old_id = Head.from_text(old_head.value).chunk_id
    assert Head.from_text(new_head.value).previous == old_id
    assert {r for r in first if f".{old_id}." in r.name} <= set(second)
    # Unchanged: a third export writes the same file.
    data = path.read_bytes()
    assert export(tmp_path, "--zone", "example.com", "--to", str(out), str(artifacts)) == 0
    assert path.read_bytes() == data
    # --prune drops URLs no longer built.
    (artifacts / "file-2.bin").unlink()
    assert (
        export(tmp_path, "--zone", "example.com", "--to", str(path), "--prune", str(artifacts)) == 0
    )
    gone = names_for(BASE_URL + "file-2.bin").head_name
    assert not any(r.name.endswith(gone) for r in octodns_yaml.from_yaml(path.read_text(), ZONE))


@pytest.mark.parametrize(
    "foreign",
    [
        "---\nwww:\n  type: A\n  value: 192.0.2.1\n",
        "---\n'www':\n  ttl: soon\n",
        "---\n'www':\n  ttl: 99999999999999999999\n",
        "---\n'www':\n  ttl: " + "9" * 5000 + "\n",
        "---\n'a..b':\n  ttl: 60\n",
        "---\n'" + "a" * 64 + "':\n  ttl: 60\n",
    ],
)
def test_export_to_a_foreign_file_is_refused(
    artifacts: Path, tmp_path: Path, foreign: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "example.com.yaml"
    path.write_text(foreign)
    assert export(tmp_path, "--zone", "example.com", "--to", str(path), str(artifacts)) == 1
    assert "torpub export only rewrites files it wrote" in capsys.readouterr().err
    assert path.read_text() == foreign


# --- octoDNS reads it, and plans exactly torpub's records against named ------------


def _config(tmp_path: Path, port: int, algorithm: str) -> Path:
    config = tmp_path / "octodns" / "config.yaml"
    config.parent.mkdir()
    (tmp_path / "repo").mkdir()
    (tmp_path / "torpub").mkdir()
    config.write_text(
        textwrap.dedent(
            f"""\
            manager:
              plan_outputs:
                json:
                  class: octodns.provider.plan.PlanJson
                  output_filename: {tmp_path / "plan.json"}
            providers:
              repo:
                class: octodns.provider.yaml.YamlProvider
                directory: {tmp_path / "repo"}
                escaped_semicolons: true
              torpub:
                class: octodns.provider.yaml.YamlProvider
                directory: {tmp_path / "torpub"}
                escaped_semicolons: true
              dns:
                class: octodns_bind.Rfc2136Provider
                host: 127.0.0.1
                port: {port}
                key_name: {KEY_NAME}
                key_secret: env/{SECRET_VARIABLE}
                key_algorithm: {algorithm}
            zones:
              example.com.:
                sources: [repo, torpub]
                targets: [dns]
            """
        )
    )
    return config


def test_octodns_validates_the_export_and_plans_exactly_its_records(
    update_named: StartUpdateNamed,
    artifacts: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = update_named()
    monkeypatch.setenv(SECRET_VARIABLE, server.key.secret_text())
    config = _config(tmp_path, server.port, server.key.algorithm_short)
    # The team's repository holds the zone as it is (dumped from named by octoDNS).
    dump = octodns_tool(
        "octodns-dump", "--config-file", str(config), "--output-dir", str(tmp_path / "repo"),
        ZONE, "dns",
    )  # fmt: skip
    assert dump.returncode == 0, dump.stderr
    assert export(tmp_path, "--zone", "example.com", "--to", str(tmp_path / "torpub"), str(artifacts)) == 0  # fmt: skip
    validate = octodns_tool("octodns-validate", "--config-file", str(config))
    assert validate.returncode == 0, validate.stderr

    dry_run = octodns_tool("octodns-sync", "--config-file", str(config))
    assert dry_run.returncode == 0, dry_run.stderr
    plan = json.loads((tmp_path / "plan.json").read_text())
    changes = plan["dns"][ZONE]["changes"]
    exported = octodns_yaml.from_yaml((tmp_path / "torpub" / "example.com.yaml").read_text(), ZONE)
    assert max(len(r.value) for r in exported) > 255  # values octoDNS must split into strings
    assert {c["type"] for c in changes} == {"create"}
    assert {c["record_type"] for c in changes} == {"TXT"}
    planned = {
        Record(f"{c['name']}.{ZONE}", c["new"]["ttl"], octodns_yaml.unescape(v))
        for c in changes
        for v in c["new"].get("values", [c["new"].get("value")])
    }
    assert planned == set(exported)
    assert server.held() == set()  # a dry run writes nothing

    # Applied by octoDNS, the records are what torpub itself would publish.
    applied = octodns_tool("octodns-sync", "--config-file", str(config), "--doit")
    assert applied.returncode == 0, applied.stderr
    assert server.held() == set(exported)
    assert not build_plan(ZONE, [], server.held()).has_changes
    for output in (dump, validate, dry_run, applied):
        assert server.key.secret_text() not in output.stdout + output.stderr
