"""TXT questions over DNS over HTTPS (RFC 8484), for ``resolve --doh`` and ``get --doh``.

The protocol is small: the question's wire form, base64url in ``?dns=`` of a GET
(RFC 8484 §4.1; query ID 0, so caches in front of the endpoint can answer), and a
DNS message back. It goes over httpx, which torpub already uses, rather than
dnspython's DoH, which needs a second HTTP stack (its ``doh`` extra) that every
``import dns.query`` would then pay for. What an HTTP answer may be is decided
in one place (:func:`_body`) before any of it is read: status 200,
``application/dns-message``, no content coding, at most 65535 bytes (no DNS
message is bigger). The DoH URL is configuration, trusted; its answers are not.
"""

from __future__ import annotations

import base64
from types import TracebackType
from urllib.parse import urlsplit

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import httpx

from torpub.client.dnswire import TxtAnswer
from torpub.errors import ConfigError, ResolutionFailed
from torpub.format import records

MESSAGE_LIMIT = 65535
_MEDIA_TYPE = "application/dns-message"


def check_url(url: str) -> str:
    """``url`` as a DoH endpoint: http or https, a host, no query (the question is
    the query); an RFC 8484 URI template's ``{?dns}`` is dropped. Errors do not
    quote the URL: it may hold a password."""
    url = url.removesuffix("{?dns}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as e:
        raise ConfigError(f"--doh is not a URL ({e})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "--doh needs an http:// or https:// URL with a host, e.g. https://dns.example/dns-query"
        )
    if parts.query or parts.fragment:
        raise ConfigError("--doh URL has a query or fragment; the question is the query (?dns=)")
    return url


def shown(url: str) -> str:
    """The URL as errors name it: without user info or query, where secrets hide."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class DohClient:
    """Asks one DoH endpoint for TXT records; an async context that holds the
    HTTP connections. ``answering`` is None: no plain-DNS server takes chunks."""

    answering = None

    def __init__(self, url: str, timeout: float, attempts: int, connections: int) -> None:
        self.url = check_url(url)
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.client = httpx.AsyncClient(
            timeout=timeout,
            headers={"accept": _MEDIA_TYPE, "accept-encoding": "identity"},
            limits=httpx.Limits(max_connections=max(1, connections)),
        )

    async def __aenter__(self) -> DohClient:
        await self.client.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.client.__aexit__(kind, error, trace)

    async def txt(self, name: str, tcp: bool = False) -> TxtAnswer | None:
        """``name``'s TXT records; None when the name or its TXT set does not exist.
        (``tcp`` is for plain DNS: a DoH answer is never truncated to fit.)"""
        # EDNS at the UDP path's size, so a resolver behind the endpoint treats both alike.
        query = dns.message.make_query(
            name, dns.rdatatype.TXT, use_edns=0, payload=records.UDP_ANSWER_LIMIT
        )
        query.id = 0
        query.flags |= dns.flags.AD  # the resolver's DNSSEC verdict (RFC 6840 §5.7)
        try:
            return _txt(await self._exchange(query))
        except _Refused as e:
            raise ResolutionFailed(name, f"the DoH server {shown(self.url)} {e}") from None

    async def _exchange(self, query: dns.message.Message) -> dns.message.Message:
        """The endpoint's answer, asked again after a timeout or a broken connection."""
        question = base64.urlsafe_b64encode(query.to_wire()).rstrip(b"=").decode("ascii")
        for _attempt in range(self.attempts):
            try:
                async with self.client.stream(
                    "GET", self.url, params={"dns": question}
                ) as response:
                    body = await _body(response)
                break
            except httpx.TimeoutException:
                reason = f"did not answer within {self.timeout:g} s"
            except httpx.TransportError as e:
                reason = f"cannot be reached ({_one_line(e)})"
            except httpx.HTTPError as e:
                raise _Refused(f"broke the HTTP exchange ({_one_line(e)})") from None
        else:
            tries = f" ({self.attempts} tries)" if self.attempts > 1 else ""
            raise _Refused(f"{reason}{tries}")
        try:
            answer = dns.message.from_wire(body)
        except dns.exception.DNSException as e:
            raise _Refused(
                f"sent something that is not an answer to the question ({_one_line(e)})"
            ) from None
        if not query.is_response(answer):
            raise _Refused("sent something that is not an answer to the question")
        return answer


def _txt(response: dns.message.Message) -> TxtAnswer | None:
    rcode = response.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise _Refused(f"answered {dns.rcode.to_text(rcode)}")
    if response.flags & dns.flags.TC:
        raise _Refused("answered with a truncated message")
    if rcode == dns.rcode.NXDOMAIN or not isinstance(response, dns.message.QueryMessage):
        return None
    try:
        rrset = response.resolve_chaining().answer
    except dns.exception.DNSException as e:
        raise _Refused(f"answered with a broken CNAME chain ({_one_line(e)})") from None
    if rrset is None:
        return None
    strings = tuple(tuple(rdata.strings) for rdata in rrset)
    return TxtAnswer(strings, rrset.ttl, bool(response.flags & dns.flags.AD))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:200] or type(error).__name__


class _Refused(Exception):
    """Why the endpoint gave no answer to read (raised inside the HTTP client too)."""


async def _body(response: httpx.Response) -> bytes:
    """The answer's body, when it may be one: refused on its status, type, coding or
    announced size before a byte is read, and read up to the largest DNS message."""
    if response.status_code != 200:
        raise _Refused(f"answered HTTP {response.status_code}")
    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != _MEDIA_TYPE:
        raise _Refused(f"answered {media_type[:60]!r}, not {_MEDIA_TYPE}")
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        raise _Refused("answered with a content coding it was not asked for")
    length = response.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MESSAGE_LIMIT:
        raise _Refused(f"announced a body over {MESSAGE_LIMIT} bytes")
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > MESSAGE_LIMIT:
            raise _Refused(f"sent a body over {MESSAGE_LIMIT} bytes")
    return bytes(body)
