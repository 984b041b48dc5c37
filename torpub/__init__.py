"""torpub: publish BitTorrent metadata in DNS so downloads survive a dead HTTP server."""

__version__ = "0.1.0"
