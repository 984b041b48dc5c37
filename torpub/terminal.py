"""The one escaping of text that torpub did not write itself, for a terminal.

Torrent names, URLs, record text and error bodies come from the network, artifact
names from anyone who can write a file: printed raw, an ESC or CR forges lines
of the output and a bidi override reorders it. Everything such is shown through
:func:`shown` (plain text) or :func:`markup` (inside a Rich markup string), once,
where it is printed.
"""

from __future__ import annotations

import unicodedata

# Control (Cc), format (Cf: bidi overrides, zero-width joiners), line and paragraph
# separators (Zl, Zp), surrogates (Cs, from surrogateescape) and unassigned (Cn).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})


def shown(text: str) -> str:
    """``text`` with every character a terminal would act on, or could hide, written
    as a visible Python-style escape (``\\x1b``, ``\\u202e``); a backslash is doubled
    so an escape in the output always means a replaced character."""
    return "".join(_visible(c) for c in text)


def markup(text: str) -> str:
    """``text`` made safe to put inside a Rich markup string: :func:`shown`, with
    Rich's markup escaped so it prints literally. Emoji codes (``:fire:``) stay
    text because torpub's consoles are made with ``emoji=False`` (cli.app)."""
    from rich.markup import escape  # rich loads with the first output, not for --version

    return escape(shown(text))


def _visible(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if unicodedata.category(char) not in _UNSAFE_CATEGORIES:
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
