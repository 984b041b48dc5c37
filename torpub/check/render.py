"""A check :class:`Report` as text, JSON, Markdown or Prometheus lines (pure).

Every string in a report may come from the network (URLs from a torrent's
url-list, reasons quoting a server); they pass through :func:`torpub.terminal.shown`
before any format's own escaping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from torpub.check.report import DnsServerResult, Report, UrlReport, WebSeedResult
from torpub.terminal import shown

OK, FAIL = "✓", "✗"


def _mark(ok: bool) -> str:
    return OK if ok else FAIL


def _seeds_cell(url: UrlReport) -> str:
    good = sum(s.ok for s in url.web_seeds)
    return f"{good}/{len(url.web_seeds)} {_mark(all(s.ok for s in url.web_seeds))}"


def _problems(url: UrlReport) -> Iterator[str]:
    if not url.dns.ok:
        yield f"dns: {url.dns.reason}"
    for seed in url.web_seeds:
        if not seed.ok:
            yield f"web seed {seed.url}: {seed.reason}"
    if not url.origin.ok:
        yield f"origin: {url.origin.reason}"


def _summary(report: Report) -> str:
    bad = sum(not u.ok for u in report.urls)
    noun = "URL" if len(report.urls) == 1 else "URLs"
    verdict = "healthy" if report.ok else f"{bad} unhealthy"
    return f"{len(report.urls)} {noun} checked: {verdict}"


# --- text -----------------------------------------------------------------------------


def to_text(report: Report, verbose: int = 0) -> str:
    """A line per URL with a mark per part, each fault's reason under it; with
    ``verbose``, what every server and mirror answered."""
    rows = [("", "URL", "DNS", "web seeds", "origin")]
    rows += [
        (_mark(u.ok), shown(u.url), _mark(u.dns.ok), _seeds_cell(u), _mark(u.origin.ok))
        for u in report.urls
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            continue
        url = report.urls[index - 1]
        lines += [f"    {shown(p)}" for p in _problems(url)]
        if verbose:
            lines += [f"    {shown(d)}" for d in _details(url)]
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def _details(url: UrlReport) -> Iterator[str]:
    yield f"torrent: ih {url.info_hash or '-'}"
    for server in url.dns.servers:
        yield f"{server.kind} {server.server}: {_server_detail(server)}"
    for seed in url.web_seeds:
        yield f"web seed {seed.url}: {_seed_detail(seed)}"
    origin = url.origin
    parts = {
        "Link": origin.link,
        "Accept": origin.accept,
        "Accept-Encoding": origin.accept_encoding,
        "Range": origin.range,
    }
    yield "origin: " + "  ".join(f"{k} {_yes(v)}" for k, v in parts.items())


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _server_detail(s: DnsServerResult) -> str:
    dnssec = f"AD {_yes(s.validated)}" if s.kind == "resolver" else f"RRSIG {_yes(s.signed)}"
    serial = f"  serial {s.serial}" if s.serial is not None else ""
    return (
        f"ih {s.info_hash or '-'}  {s.queries} answers, largest {s.largest_answer} octets, "
        f"{s.truncated} truncated  TTL head {s.head_ttl} chunks {s.chunk_ttl}  {dnssec}{serial}"
    )


def _seed_detail(s: WebSeedResult) -> str:
    pieces = ",".join(map(str, s.pieces_checked)) or "-"
    return f"status {s.status}  length {s.length}  Range {_yes(s.ranges)}  pieces {pieces}"


# --- JSON -----------------------------------------------------------------------------


def to_json(report: Report, *, indent: int | None = 2) -> str:
    """The report as JSON (docs/check-json.md); ``indent=None`` for one line."""
    return json.dumps(report.to_dict(), indent=indent) + "\n"


# --- Markdown -------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", shown(text))


def to_markdown(report: Report) -> str:
    """For a pull request or a CI step summary."""
    icon = {True: "✅", False: "❌"}
    title = "healthy" if report.ok else "unhealthy"
    lines = [
        f"### torpub check: {icon[report.ok]} {title}",
        "",
        "| | URL | DNS | web seeds | origin |",
        "|---|---|---|---|---|",
    ]
    for u in report.urls:
        good = sum(s.ok for s in u.web_seeds)
        seeds = f"{icon[all(s.ok for s in u.web_seeds)]} {good}/{len(u.web_seeds)}"
        lines.append(
            f"| {icon[u.ok]} | {_md(u.url)} | {icon[u.dns.ok]} | {seeds} | {icon[u.origin.ok]} |"
        )
    problems = [(u, p) for u in report.urls for p in _problems(u)]
    if problems:
        lines += ["", "**Problems**", ""]
        lines += [f"- {_md(u.url)}: {_md(p)}" for u, p in problems]
    lines += ["", _summary(report)]
    return "\n".join(lines) + "\n"


# --- Prometheus (node_exporter's textfile collector) ----------------------------------

_METRICS = {
    "torpub_check_ok": "1 when every check of every URL passed.",
    "torpub_check_urls": "URLs checked.",
    "torpub_check_url_ok": "1 when every check of the URL passed.",
    "torpub_check_dns_ok": "1 when every DNS server serves the URL's torrent whole.",
    "torpub_check_dns_server_ok": "1 when this DNS server serves the URL's torrent whole.",
    "torpub_check_dns_largest_answer_bytes": "Octets of the largest answer from the server.",
    "torpub_check_dns_truncated_answers": "Answers truncated over UDP at 1232 octets.",
    "torpub_check_web_seed_ok": "1 when the web seed serves the file's pieces with Range.",
    "torpub_check_origin_ok": "1 when the origin negotiates as record format section 6 says.",
}


def _label(value: str) -> str:
    return shown(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def to_prometheus(report: Report) -> str:
    samples: dict[str, list[str]] = {name: [] for name in _METRICS}

    def put(name: str, value: int, **labels: str) -> None:
        samples[name].append(f"{name}{_labels(**labels) if labels else ''} {value}")

    put("torpub_check_ok", int(report.ok))
    put("torpub_check_urls", len(report.urls))
    for u in report.urls:
        put("torpub_check_url_ok", int(u.ok), url=u.url)
        put("torpub_check_dns_ok", int(u.dns.ok), url=u.url)
        for s in u.dns.servers:
            where = {"url": u.url, "server": s.server, "kind": s.kind}
            put("torpub_check_dns_server_ok", int(s.ok), **where)
            put("torpub_check_dns_largest_answer_bytes", s.largest_answer, **where)
            put("torpub_check_dns_truncated_answers", s.truncated, **where)
        for seed in u.web_seeds:
            put("torpub_check_web_seed_ok", int(seed.ok), url=u.url, seed=seed.url)
        put("torpub_check_origin_ok", int(u.origin.ok), url=u.url)
    lines = []
    for name, help_text in _METRICS.items():
        if samples[name]:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples[name]]
    return "\n".join(lines) + "\n"
