"""Cut out of a text whatever looks like a credential.

Backends wrap their SDK's errors without the response body or the request's
headers; this is the last line of defence behind that, applied by the CLI to
every error it prints: a text an SDK built from a server's answer can echo the
request that was signed (``X-Amz-Security-Token: …``, ``Authorization: Bearer …``).
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

# A field whose name says it holds a secret, as a header (``Name: value``), a query
# or form item (``name=value``), JSON (``"name": "value"``) or XML (``<Name>value<``);
# not an exception's name before its message (``SecretsException: …``).
_SECRET_NAME = (
    r"(?![\w-]*(?:exception|error|warning)\b)"
    r"[\w-]*(?:token|secret|password|passwd|authorization|api[_-]?key|credential|signature|cookie)[\w-]*"
)
_FIELD = re.compile(rf"(?i)(\b{_SECRET_NAME}['\"]?\s*[:=]\s*['\"]?|<{_SECRET_NAME}>)[^\r\n'\"&<>]+")
# Secrets recognisable without a name: AWS access key IDs, bearer tokens.
_BARE = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|(?i:\bbearer\s+)[\w.~+/=-]+")


def redact(text: str) -> str:
    """``text`` with the value of every credential-like field replaced by [redacted]."""
    text = _FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    return _BARE.sub(REDACTED, text)


def reason(text: str, limit: int = 160) -> str:
    """A short, one-line, redacted reason taken from a text a server may have written."""
    line = " ".join(redact(text).split())
    return line if len(line) <= limit else line[:limit] + "…"
