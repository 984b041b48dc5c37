"""API calls and wall time of a large sync, per cloud backend, against a peer
that makes one write call per record, run in the same script.

Each backend publishes A artifacts x 16 chunks (first sync), publishes a new
torrent for every artifact (second sync: new chunks, heads rewritten), does it
again (third sync: the oldest chunk sets are removed too), then re-runs with
nothing to change. Route 53 runs against moto in server mode and Cloudflare
against the loopback v4 API of tests/cloudflare_api.py, both on 127.0.0.1.

For every phase the script prints the write calls made and the minimum the
service's request limits allow: Route 53 ⌈value characters / 32,000⌉ with
UPSERTs counted twice and never fewer than ⌈records / 1,000⌉; Cloudflare
⌈operations / batch limit⌉. The target is at most one call above it per phase,
and no write call at all when nothing changed.

    .venv/bin/python benchmarks/sync_calls.py [--artifacts 500] [--peer-artifacts 50]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "providers"), str(ROOT / "tests")]

from torpub.format.names import names_for  # noqa: E402
from torpub.format.records import Encoding, TorrentRecords, encode  # noqa: E402
from torpub.provider import Target  # noqa: E402
from torpub.publish.plan import Action, Plan, Policy, build_plan  # noqa: E402

CHUNKS = 16
ENCODING = Encoding(owner="bench")
PIECES = 520  # a torrent of ~10.5 kB: 16 chunks of 900 base64 characters


def torrent(index: int, version: int) -> bytes:
    hashes = random.Random(index * 1000 + version).randbytes(20 * PIECES)
    name = f"artifact-{index}.bin".encode()
    info = b"d6:lengthi%de4:name%d:%s12:piece lengthi262144e6:pieces%d:%se" % (
        PIECES * 262144, len(name), name, len(hashes), hashes,
    )  # fmt: skip
    return b"d4:info" + info + b"e"


def desired(count: int, version: int) -> list[TorrentRecords]:
    found = [
        encode(torrent(i, version), names_for(f"https://dl.example.com/a/{i}.bin"), ENCODING)
        for i in range(count)
    ]
    assert all(d.head.n == CHUNKS for d in found), "adjust PIECES: not 16 chunks each"
    return found


@dataclass
class Run:
    label: str
    records: int
    writes: int
    reads: int
    seconds: float
    bounds: list[tuple[str, int, int]]  # phase, write calls made, minimum


class Backend:
    """One service: how to open a provider, count its calls, bound a phase."""

    name = ""

    def provider(self, per_record: bool) -> Any: ...
    def writes_by_call(self, provider: Any) -> int: ...
    def reads_by_call(self, provider: Any) -> int: ...
    def minimum(self, plan: Plan, phase_index: int) -> int: ...
    def reset(self) -> None: ...


class Route53Bench(Backend):
    name = "route53"

    def __init__(self) -> None:
        from harness_route53 import MotoRoute53

        self.server = MotoRoute53()
        os.environ.update(
            AWS_ENDPOINT_URL=self.server.url,
            AWS_ACCESS_KEY_ID="AKIABENCHBENCHBENCH0",
            AWS_SECRET_ACCESS_KEY="bench-secret",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        self.reset()

    def reset(self) -> None:
        from harness_route53 import create_zone

        self.server.reset()
        create_zone()

    def provider(self, per_record: bool) -> Any:
        from torpub_providers.route53.batches import Limits
        from torpub_providers.route53.provider import Route53Provider

        limits = Limits(records=1) if per_record else Limits()
        return Route53Provider(Target("route53", "example.com"), limits=limits)

    def writes_by_call(self, provider: Any) -> int:
        return int(provider.client.calls.get("ChangeResourceRecordSets", 0))

    def reads_by_call(self, provider: Any) -> int:
        return sum(provider.client.calls.values()) - self.writes_by_call(provider)

    def minimum(self, plan: Plan, phase_index: int) -> int:
        from torpub_providers.route53.batches import MAX_BATCH_CHARS, MAX_BATCH_RECORDS
        from torpub_providers.route53.txt import txt_value

        changes = plan.phases[phase_index].changes
        weight = [2 if c.action is Action.UPDATE else 1 for c in changes]
        records = sum(weight)
        chars = sum(w * len(txt_value(c.record)) for w, c in zip(weight, changes, strict=True))
        return max(math.ceil(chars / MAX_BATCH_CHARS), math.ceil(records / MAX_BATCH_RECORDS))


class CloudflareBench(Backend):
    name = "cloudflare"
    token = "bench-token"

    def __init__(self) -> None:
        from cloudflare_api import CloudflareServer

        self.server = CloudflareServer(self.token)
        os.environ.update(CLOUDFLARE_BASE_URL=self.server.base_url, CLOUDFLARE_API_TOKEN=self.token)
        self.reset()

    def reset(self) -> None:
        self.server.api.zones.clear()
        # A Pro zone: batches of 3,500, and room for the records.
        self.zone = self.server.api.add_zone("example.com", plan="pro", record_quota=100_000)

    def provider(self, per_record: bool) -> Any:
        from torpub_providers.cloudflare.provider import CloudflareProvider

        options = {"batch_size": "1"} if per_record else {}
        return CloudflareProvider(Target("cloudflare", "example.com", options))

    def writes_by_call(self, provider: Any) -> int:
        return int(provider.client.calls.get("batch", 0))

    def reads_by_call(self, provider: Any) -> int:
        return sum(provider.client.calls.values()) - self.writes_by_call(provider)

    def minimum(self, plan: Plan, phase_index: int) -> int:
        from torpub_providers.cloudflare.provider import PAID_BATCH_LIMIT

        return math.ceil(len(plan.phases[phase_index].changes) / PAID_BATCH_LIMIT)


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def sync(backend: Backend, label: str, want: list[TorrentRecords], per_record: bool) -> Run:
    provider = backend.provider(per_record)
    with timed() as elapsed:
        plan = build_plan(provider.zone, want, provider.records(), Policy("bench"))
        provider.apply(plan)
    made = dict(provider.batches_sent)
    bounds = [
        (str(phase.name), made.get(phase.name, 0), backend.minimum(plan, index))
        for index, phase in enumerate(plan.phases)
        if phase.changes
    ]
    return Run(
        label,
        len(plan.changes),
        backend.writes_by_call(provider),
        backend.reads_by_call(provider),
        elapsed(),
        bounds,
    )


def scenario(backend: Backend, count: int, per_record: bool) -> list[Run]:
    backend.reset()
    runs = []
    for label, version in (("first sync", 0), ("new torrents", 1), ("again", 2), ("no change", 2)):
        runs.append(sync(backend, label, desired(count, version), per_record))
    return runs


def report(backend: Backend, runs: list[Run], peer: list[Run], scale: float) -> bool:
    ok = True
    print(f"\n== {backend.name}: {runs[0].records // (CHUNKS + 1)} artifacts x {CHUNKS} chunks")
    print(f"{'run':<13} {'changes':>8} {'writes':>7} {'reads':>6} {'seconds':>8}   "
          f"{'per-record peer (writes, s)':>28}   phases: made/minimum")  # fmt: skip
    for run, other in zip(runs, peer, strict=True):
        phases = "  ".join(f"{name}: {made}/{least}" for name, made, least in run.bounds)
        within = all(made <= least + 1 for _, made, least in run.bounds)
        if run.label == "no change":
            within = run.writes == 0
        ok &= within
        peer_text = f"{other.writes * scale:>9.0f} {other.seconds * scale:>8.2f}s"
        ratio = f"x{(other.seconds * scale) / run.seconds:.1f}" if run.seconds else ""
        print(
            f"{run.label:<13} {run.records:>8} {run.writes:>7} {run.reads:>6} {run.seconds:>8.2f}"
            f"   {peer_text} {ratio:>6}   {phases or '-'} {'ok' if within else 'OVER TARGET'}"
        )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=500)
    parser.add_argument("--peer-artifacts", type=int, default=50,
                        help="artifacts for the one-call-per-record peer; its figures are scaled")  # fmt: skip
    parser.add_argument("--backend", choices=["route53", "cloudflare"], action="append")
    args = parser.parse_args()
    ok = True
    for kind in args.backend or ["route53", "cloudflare"]:
        backend: Backend = Route53Bench() if kind == "route53" else CloudflareBench()
        runs = scenario(backend, args.artifacts, per_record=False)
        peer = scenario(backend, args.peer_artifacts, per_record=True)
        ok &= report(backend, runs, peer, args.artifacts / args.peer_artifacts)
    print("\nall phases within one write call of the minimum" if ok else "\nSOME RUN OVER TARGET")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
