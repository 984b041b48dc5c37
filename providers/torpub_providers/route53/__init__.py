"""The route53 backend; the entry point names :class:`route53.provider.Route53Provider`."""
