"""The three renderings of one plan."""

import json

from torpub.format.names import names_for
from torpub.format.records import Encoding, Record, encode
from torpub.publish.plan import Action, Plan, Policy, build_plan
from torpub.publish.render import summary, to_json, to_markdown, to_text


def torrent(content: bytes) -> bytes:
    info = b"d6:lengthi1e4:name1:x12:piece lengthi16384e6:pieces%d:%se" % (len(content), content)
    return b"d4:info" + info + b"e"


def changed_plan() -> Plan:
    """One URL replaced, one pruned, one new: every action appears."""
    old_a = encode(torrent(b"a" * 200), names_for("https://dl.example.com/a"), Encoding(200))
    old_b = encode(torrent(b"b" * 200), names_for("https://dl.example.com/b"), Encoding(200))
    existing = [*old_a.records, *old_b.records]
    desired = [
        encode(torrent(b"A" * 200), names_for("https://dl.example.com/a"), Encoding(200)),
        encode(torrent(b"c" * 200), names_for("https://dl.example.com/c"), Encoding(200)),
    ]
    return build_plan("example.com.", desired, existing, Policy(prune=True))


def test_text_has_a_line_per_change_and_a_summary() -> None:
    plan = changed_plan()
    text = to_text(plan).plain
    lines = text.splitlines()
    signs = [line[2] for line in lines if line[2:4] in ("+ ", "~ ", "- ")]
    assert signs.count("+") == 2 * 2 + 1  # two new chunk sets of two, one new head
    assert signs.count("~") == 1 and signs.count("-") == 1 + 2
    assert '(was "v=torrent1;' in text
    assert lines[-1].startswith("Plan for example.com.: 5 to create, 1 to update, 3 to delete")
    assert lines[0] == "create chunks (4)" and lines[1].startswith("  https://dl.example.com/")


def test_text_shows_each_written_records_answer_size() -> None:
    plan = changed_plan()
    text = to_text(plan).plain
    for change in plan.changes:
        shown = f"[{change.record.answer_size()}-octet answer]"
        line = next(line for line in text.splitlines() if line.split()[1:2] == [change.record.name])
        assert (shown in line) == (change.action is not Action.DELETE)


def test_text_styles_by_action() -> None:
    styles = {str(span.style) for span in to_text(changed_plan()).spans}
    assert {"green", "yellow", "red"} <= styles


def test_long_values_are_shortened_unless_full() -> None:
    plan = changed_plan()
    assert "chars)" in to_text(plan).plain
    assert "chars)" not in to_text(plan, full=True).plain


def test_json_schema() -> None:
    plan = changed_plan()
    text = to_json(plan)
    assert text.count("\n") == 1
    data = json.loads(text)
    assert (data["schema"], data["version"], data["zone"]) == ("torpub-plan", 1, "example.com.")
    assert data["summary"] == {
        "create": 5,
        "update": 1,
        "delete": 3,
        "unchanged": 0,
        "owned": 6,
        "largest_answer": plan.largest_answer,
    }
    assert [p["name"] for p in data["phases"]] == [
        "create chunks",
        "write heads",
        "remove heads",
        "remove chunks",
    ]
    update = data["phases"][1]["changes"][1]
    assert update["action"] == "update" and update["old"]["value"].startswith("v=torrent1")
    assert update["url"] == "https://dl.example.com/a"


def test_markdown_has_summary_table_and_diff_blocks() -> None:
    md = to_markdown(changed_plan())
    assert md.startswith("### torpub plan for `example.com.`")
    assert "| write heads | 1 | 1 | 0 |" in md
    assert md.count("```diff") == 4
    assert "<details>" in md


def test_no_change_summary() -> None:
    record = Record("x._torrent.example.com.", 1, "y")
    plan = build_plan("example.com.", [], [record])
    assert summary(plan) == "No changes: 0 records in example.com. are up to date."
    assert not json.loads(to_json(plan))["has_changes"]
