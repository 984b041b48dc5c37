"""A plan as text for terminals, JSON for scripts and Markdown for pull requests.

The JSON form is a stable schema (docs/plan-json.md): fields are only ever added.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from torpub.publish.plan import Action, Change, Plan
from torpub.terminal import shown

JSON_SCHEMA_VERSION = 1
_SIGN = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
_STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}
_SHORT = 48


def summary(plan: Plan) -> str:
    if not plan.has_changes:
        return f"No changes: {plan.unchanged} records in {shown(plan.zone)} are up to date."
    return (
        f"Plan for {shown(plan.zone)}: {plan.count(Action.CREATE)} to create, "
        f"{plan.count(Action.UPDATE)} to update, {plan.count(Action.DELETE)} to delete, "
        f"{plan.unchanged} unchanged."
    )


def _shown(value: str, full: bool) -> str:
    if full or len(value) <= _SHORT:
        return shown(value)
    return f"{shown(value[:_SHORT])}… ({len(value)} chars)"


def to_text(plan: Plan, *, full: bool = False) -> Text:
    """Coloured when printed on a terminal; ``.plain`` for anything else. Names and
    warnings are shown escaped: a URL comes from an artifact's file name."""
    out = Text()
    for phase in plan.phases:
        if not phase.changes:
            continue
        out.append(f"{phase.name} ({len(phase.changes)})\n", style="bold")
        url = None
        for change in phase.changes:
            if change.url != url:
                url = change.url
                out.append(f"  {shown(str(url))}\n", style="cyan")
            out.append("  " + _change_line(change, full), style=_STYLE[change.action])
            out.append("\n")
    for warning in plan.warnings:
        out.append(f"warning: {shown(warning)}\n", style="bold yellow")
    out.append(summary(plan), style="bold")
    if plan.largest_answer:
        out.append(f" Largest answer: {plan.largest_answer} octets.")
    return out


def _change_line(change: Change, full: bool) -> str:
    record = change.record
    line = f'{_SIGN[change.action]} {shown(record.name)} {record.ttl} TXT "{_shown(record.value, full)}"'
    if change.action is Action.UPDATE and change.old is not None:
        old = change.old
        was = []
        if old.ttl != record.ttl:
            was.append(f"ttl {old.ttl}")
        if old.value != record.value:
            was.append(f'"{_shown(old.value, full)}"')
        line += f"  (was {', '.join(was)})"
    if change.action is not Action.DELETE:
        # What a resolver will receive: the figure to hold against 1232 octets.
        line += f"  [{record.answer_size()}-octet answer]"
    return line


def to_json(plan: Plan) -> str:
    """One line: several targets print as JSON Lines."""
    return json.dumps(to_dict(plan), ensure_ascii=False, separators=(",", ":")) + "\n"


def to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "schema": "torpub-plan",
        "version": JSON_SCHEMA_VERSION,
        "zone": plan.zone,
        "has_changes": plan.has_changes,
        "summary": {
            "create": plan.count(Action.CREATE),
            "update": plan.count(Action.UPDATE),
            "delete": plan.count(Action.DELETE),
            "unchanged": plan.unchanged,
            "owned": plan.owned,
            "largest_answer": plan.largest_answer,
        },
        "warnings": list(plan.warnings),
        "phases": [
            {"name": str(p.name), "changes": [_change_dict(c) for c in p.changes]}
            for p in plan.phases
        ],
    }


def _change_dict(change: Change) -> dict[str, Any]:
    record = change.record
    old = change.old
    return {
        "action": str(change.action),
        "url": change.url,
        "name": record.name,
        "type": "TXT",
        "ttl": record.ttl,
        "value": record.value,
        "answer_size": record.answer_size(),
        "old": None if old is None else {"ttl": old.ttl, "value": old.value},
    }


def to_markdown(plan: Plan) -> str:
    lines = [f"### torpub plan for `{shown(plan.zone)}`", "", summary(plan), ""]
    if plan.has_changes:
        lines += ["| phase | create | update | delete |", "|---|---:|---:|---:|"]
        for phase in plan.phases:
            counts = [sum(1 for c in phase.changes if c.action is a) for a in Action]
            lines.append(f"| {phase.name} | {counts[0]} | {counts[1]} | {counts[2]} |")
        lines.append("")
    for warning in plan.warnings:
        lines += [f"> **Warning:** {shown(warning)}", ""]
    for phase in plan.phases:
        if not phase.changes:
            continue
        lines += [f"<details><summary>{phase.name} ({len(phase.changes)})</summary>", ""]
        lines += ["```diff"] + [_change_line(c, False) for c in phase.changes] + ["```", ""]
        lines += ["</details>", ""]
    return "\n".join(lines)
