"""Every backend runs the conformance suite of torpub.testing.conformance.

To add a backend: write a fixture returning a ``conformance.Harness`` (in a
module ``tests/harness_<name>.py``), import it here and add its name to
``BACKENDS``.
"""

from __future__ import annotations

import pytest
from harness_bind import bind
from harness_cloudflare import cf, cloudflare, cloudflare_server
from harness_octodns import octodns
from harness_rfc2136 import rfc2136
from harness_route53 import aws, moto_server, route53

from torpub.testing.conformance import (
    Harness,
    test_a_changed_artifact_keeps_the_previous_set_and_drops_older_ones,
    test_a_rerun_plans_and_writes_nothing,
    test_a_sync_stopped_after_any_write_leaves_old_or_new,
    test_first_publish,
    test_foreign_records_and_other_owners_are_left_alone,
    test_prune_removes_owned_urls_no_longer_built,
    test_safety_threshold_stops_a_plan_before_any_write,
)

BACKENDS = ["bind", "route53", "cloudflare", "rfc2136", "octodns"]

__all__ = [
    "aws",
    "bind",
    "cf",
    "cloudflare",
    "cloudflare_server",
    "moto_server",
    "octodns",
    "rfc2136",
    "route53",
    "test_a_changed_artifact_keeps_the_previous_set_and_drops_older_ones",
    "test_a_rerun_plans_and_writes_nothing",
    "test_a_sync_stopped_after_any_write_leaves_old_or_new",
    "test_first_publish",
    "test_foreign_records_and_other_owners_are_left_alone",
    "test_prune_removes_owned_urls_no_longer_built",
    "test_safety_threshold_stops_a_plan_before_any_write",
]


@pytest.fixture(params=BACKENDS)
def harness(request: pytest.FixtureRequest) -> Harness:
    found: Harness = request.getfixturevalue(request.param)
    return found
