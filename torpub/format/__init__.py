"""The record format both sides share: URL → names, torrent bytes ↔ records, bencode, reading a torrent. Pure: no network, no files."""
