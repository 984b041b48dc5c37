"""The publishing half: release artifacts → torrents → records → a plan → a DNS target."""
