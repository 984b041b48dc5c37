"""torpub: publish BitTorrent metadata in DNS so downloads survive a dead HTTP server."""

__version__ = "0.1.0"

# Bound here after the submodule loads, so ``torpub.resolve`` is the function,
# not the module of the same name.
from torpub.client.resolve import resolve as resolve
from torpub.client.resolve import resolve_async as resolve_async

__all__ = ["__version__", "resolve", "resolve_async"]
