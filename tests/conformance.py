"""The conformance suite ships as :mod:`torpub.testing.conformance`; this name stays
for the harnesses and tests here that still import it from here."""

from torpub.testing.conformance import (
    ENCODING,
    OWNER,
    InjectedFailure,
    WriteCounter,
    desired,
    resolve,
    torrent,
    url,
)

__all__ = [
    "ENCODING",
    "OWNER",
    "InjectedFailure",
    "WriteCounter",
    "desired",
    "resolve",
    "torrent",
    "url",
]
