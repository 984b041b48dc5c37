"""torpub's built-in DNS backends, registered under the ``torpub.providers`` entry points."""
