"""The rfc2136 backend; the entry point names :class:`rfc2136.provider.Rfc2136Provider`."""
