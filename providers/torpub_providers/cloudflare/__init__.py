"""The cloudflare backend; the entry point names :class:`cloudflare.provider.CloudflareProvider`."""
