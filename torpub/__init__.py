"""torpub: publish BitTorrent metadata in DNS so downloads survive a dead HTTP server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "resolve", "resolve_async"]

if TYPE_CHECKING:
    from torpub.client.resolve import resolve as resolve
    from torpub.client.resolve import resolve_async as resolve_async


def __getattr__(name: str) -> Any:
    # The resolver (dnspython's, asyncio) loads on first use, not with every
    # command: ``torpub --help`` and ``torpub build`` never resolve.
    if name in ("resolve", "resolve_async"):
        from torpub.client import resolve as module

        value = getattr(module, name)
        # Bound here, so ``torpub.resolve`` is the function, not the module of the same name.
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
