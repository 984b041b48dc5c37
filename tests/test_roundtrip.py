"""Nasty artifact names, end to end: files → torrents → a zone file that
named-checkzone loads → records read back → the same torrent bytes."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torpub.format.filename import unsafe_reason
from torpub.format.names import names_for, parse_name
from torpub.format.records import Encoding, Head, decode, encode
from torpub.provider import Target
from torpub.publish.build import BuildSettings, build, scan
from torpub.publish.plan import build_plan
from torpub_providers.bind import BindProvider

BASE = "https://downloads.example.com/pub/"
ZONE_TEXT = "$ORIGIN example.com.\n@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.1\n"

# Any character a file name can hold, but '/' and NUL, and not a dot-file or .torrent.
segment = st.text(
    st.characters(codec="utf-8", exclude_characters="/\x00", exclude_categories=["Cs"]),
    min_size=1,
    max_size=20,
).filter(lambda s: not s.startswith(".") and not s.endswith(".torrent"))
# The file's own name is also what a client saves the download as: one it accepts.
file_name = segment.filter(lambda s: unsafe_reason(s) is None)
relpath = st.tuples(st.lists(segment, max_size=5), file_name).map(
    lambda parts: "/".join([*parts[0], parts[1]])
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    paths=st.lists(relpath, min_size=1, max_size=4, unique_by=lambda p: p.split("/")[0]),
    chunk_size=st.sampled_from([4, 100, 252, 900, 1200]),
)
def test_nasty_names_round_trip_through_the_zone_file(
    tmp_path_factory: pytest.TempPathFactory, paths: list[str], chunk_size: int
) -> None:
    root = tmp_path_factory.mktemp("release")
    for i, rel in enumerate(paths):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes([i + 1]) * (1000 + i))
    zone_file = tmp_path_factory.mktemp("zone") / "db.example.com"
    zone_file.write_text(ZONE_TEXT)

    budget = 200 if chunk_size < 100 else 16
    build_settings = BuildSettings(BASE, chunk_size=chunk_size, chunk_budget=budget)
    built = build(scan([root], build_settings), build_settings)
    desired = [encode(b.torrent, names_for(b.artifact.url), Encoding(chunk_size)) for b in built]
    provider = BindProvider(Target("bind", None, {"zone_file": str(zone_file)}))
    provider.apply(build_plan(provider.zone, desired, provider.records()))

    # Read back through a fresh provider: named-checkzone loads the file first.
    held = BindProvider(Target("bind", None, {"zone_file": str(zone_file)})).records()
    by_name = {r.name: r for r in held}
    for b in built:
        names = names_for(b.artifact.url)
        head = Head.from_text(by_name[names.head_name].value)
        pieces = {i: by_name[names.chunk_name(head.chunk_id, i)].value for i in range(head.n)}
        assert decode(head, pieces, names) == b.torrent
        assert Path(b.artifact.path).read_bytes()  # the artifact itself is untouched
    sets: dict[str, set[str]] = defaultdict(set)
    for record in held:
        parsed = parse_name(record.name)
        assert parsed is not None
        sets[parsed.key].add(parsed.chunk_id or "head")
    assert len(sets) == len(built)
