"""TXT questions over DNS over HTTPS (RFC 8484), for ``resolve --doh`` and ``get --doh``.

dnspython speaks the protocol (``dns.asyncquery.https``: GET with ``?dns=`` in
base64url, cache-friendly with query ID 0, RFC 8484 §4.1); this module gives it
one HTTP client for the whole fetch, with a bounded number of connections, and a
transport that decides what an HTTP answer may be before anyone reads it: status
200, ``application/dns-message``, no content coding, at most 65535 bytes (no DNS
message is bigger). The DoH URL is configuration, trusted; its answers are not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from urllib.parse import urlsplit

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import httpx2

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
        transport = httpx2.AsyncHTTPTransport(
            http2=True,  # over TLS, when the server offers it; plain http stays HTTP/1.1
            limits=httpx2.Limits(max_connections=max(1, connections)),
        )
        self.client = httpx2.AsyncClient(
            timeout=timeout,
            headers={"accept-encoding": "identity"},
            transport=_Bounded(transport),
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
        for _attempt in range(self.attempts):
            try:
                return await dns.asyncquery.https(
                    query, self.url, timeout=self.timeout, client=self.client, post=False
                )
            except (dns.exception.Timeout, httpx2.TimeoutException):
                reason = f"did not answer within {self.timeout:g} s"
            except httpx2.TransportError as e:
                reason = f"cannot be reached ({_one_line(e)})"
            except httpx2.HTTPError as e:
                raise _Refused(f"broke the HTTP exchange ({_one_line(e)})") from None
            except dns.exception.DNSException as e:
                raise _Refused(
                    f"sent something that is not an answer to the question ({_one_line(e)})"
                ) from None
        tries = f" ({self.attempts} tries)" if self.attempts > 1 else ""
        raise _Refused(f"{reason}{tries}")


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


class _Bounded(httpx2.AsyncBaseTransport):
    """The one place that decides which HTTP answers reach dnspython: a hostile
    endpoint's status, body or size is refused here, before any of it is read
    into memory or into an error message."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        try:
            _check(response)
        except _Refused:
            await response.aclose()
            raise
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_Capped(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def _check(response: httpx2.Response) -> None:
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


class _Capped(httpx2.AsyncByteStream):
    """A body read up to the largest DNS message, and not a byte further."""

    def __init__(self, inner: httpx2.AsyncByteStream | httpx2.SyncByteStream) -> None:
        assert isinstance(inner, httpx2.AsyncByteStream)
        self.inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        left = MESSAGE_LIMIT
        async for chunk in self.inner:
            left -= len(chunk)
            if left < 0:
                raise _Refused(f"sent a body over {MESSAGE_LIMIT} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()
