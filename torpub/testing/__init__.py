"""What a DNS backend's own tests need from torpub: the conformance suite every
backend runs (``torpub.testing.conformance``) and its harness protocol.

A third-party backend's test module::

    import pytest
    from torpub.testing.conformance import *  # noqa: F403 - the suite's tests
    from torpub.testing import Harness

    @pytest.fixture
    def harness(tmp_path) -> Harness:
        return MyHarness(tmp_path)

Needs pytest (``pip install torpub[test]``).
"""

from torpub.testing.conformance import (
    ENCODING,
    OWNER,
    TESTS,
    Harness,
    InjectedFailure,
    WriteCounter,
)

__all__ = ["ENCODING", "OWNER", "TESTS", "Harness", "InjectedFailure", "WriteCounter"]
