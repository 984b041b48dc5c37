"""The HTTP side (record format §6): hand BitTorrent clients the ``.torrent``.

``negotiate`` holds the one decision; ``static`` the static answers built on it;
``asgi`` and ``wsgi`` the middleware; ``serverconfig`` the nginx and Apache files.
"""
