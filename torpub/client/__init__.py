"""The fetching half: resolve a URL's torrent over DNS and download the file (HTTP, DNS, BitTorrent)."""
