"""``torpub check``: prove from the outside that the failover works.

For each URL: its records through each resolver and at each authoritative server
(the torrent, answer sizes, truncation, TTLs, DNSSEC), every web seed (status,
length, Range, piece hashes) and the origin's negotiation (record format §6).
The result is an immutable :class:`Report`; :mod:`torpub.check.render` prints it.
Nothing is written anywhere.
"""

from __future__ import annotations

from torpub.check.report import Report, UrlReport
from torpub.check.run import CheckOptions, Expected, Progress, check, check_async, expected_from

__all__ = [
    "CheckOptions",
    "Expected",
    "Progress",
    "Report",
    "UrlReport",
    "check",
    "check_async",
    "expected_from",
]
