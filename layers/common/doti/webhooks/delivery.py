"""Sending a webhook to a customer's URL without letting that URL reach anything but the public internet (SSRF).

`check_url` resolves the host once and refuses it unless every address is public; `send` then connects to those
checked addresses only, never resolving the name again, so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot redirect the request. The name still goes in SNI and `Host`, and the server's
certificate is verified for it. Redirects are not followed, the answer is read up to a cap, and one deadline bounds
the whole exchange. Network failures come back as a `DeliveryResult`, never as an exception.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, urlsplit

from doti.errors import ValidationError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Iterable[str]]

MAX_URL_CHARS = 2048
TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "doti-webhooks/1"
_ERROR_CHARS = 200

# Cloud metadata services: named apart because reaching them is the classic SSRF prize (credentials).
_METADATA: dict[Address, str] = {
    ipaddress.ip_address("169.254.169.254"): "instance metadata",
    ipaddress.ip_address("169.254.170.2"): "ECS task metadata",
    ipaddress.ip_address("fd00:ec2::254"): "EC2 IPv6 instance metadata",
}
# What an explicit local setting lets through, so tests and `make run` can use a receiver on this machine.
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
# Every special-purpose range a webhook must not reach, first match wins (so ::1 reads "loopback", not "IPv4-
# compatible"). Python's `is_global` is checked as well below; this table makes the refusals explicit, names them in
# the 422, and does not depend on which Python release's registry is installed.
_REFUSED: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(network), why)
    for network, why in (
        ("0.0.0.0/8", "'this network'"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # and 255.255.255.255, broadcast
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("::ffff:0:0:0/96", "IPv4-translated"),
        ("::/96", "IPv4-compatible"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/32", "Teredo"),
        ("2001::/23", "IETF protocol assignments"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
# IPv6 forms that carry an IPv4 address a gateway will connect to: judged by the address they carry.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# Browsers (WHATWG URL) and inet_aton(3) read a host whose last label is a number as an IPv4 address.
_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")
# What may stay as it is in the request line's path and query (RFC 3986 pchar, "/", "?" and existing escapes).
_TARGET_SAFE = "/?:@!$&'()*+,;=-._~%"


@dataclass(frozen=True)
class CheckedUrl:
    """A webhook URL that passed `check_url`, with the addresses its host resolved to at that moment."""

    url: str
    scheme: str
    host: str  # ASCII, lower case, no trailing dot: what SNI, Host and the certificate check use
    port: int
    target: str  # the request line's path and query
    addresses: tuple[str, ...]  # every one checked; connections go only to these, in this order


@dataclass(frozen=True)
class DeliveryResult:
    """One attempt: the HTTP status if an answer came, the time it took, and why it failed (None: a 2xx)."""

    status: int | None
    latency_ms: int
    error: str | None = None
    response: bytes = b""  # at most the cap
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def resolve(host: str) -> list[str]:
    """Every address the system resolver gives for `host` (IPv4 and IPv6), in its order, without repeats."""
    answers = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))


def check_url(
    url: str, *, allow_loopback: bool = False, resolver: Resolver = resolve, require_resolution: bool = True
) -> CheckedUrl:
    """Check a webhook URL and resolve its host; raises `ValidationError(field="url")` saying what is refused.

    HTTPS only, no user name or password, a host and a port 1-65535. Every address the host resolves to must be
    public (`refusal`); one private answer among public ones refuses the URL, since any of them may be used.
    `allow_loopback` (the local stack's setting, never deployed) also accepts 127.0.0.0/8 and ::1, and plain http
    to them. Without `require_resolution` (registering an endpoint whose receiver may not be up yet) a name that does
    not resolve passes with no addresses; a send needs them, so every delivery checks again.
    """
    scheme, host, port, target, literal = _parse(url, allow_loopback=allow_loopback)
    if literal is not None:
        texts = [str(literal)]
    elif require_resolution:
        texts = _resolved(host, resolver)
    else:
        try:
            texts = _resolved(host, resolver)
        except ValidationError:
            if scheme == "http":
                raise _refused("url must use https (plain http is accepted only for a loopback receiver)") from None
            return CheckedUrl(url, scheme, host, port, target, ())
    addresses = tuple(_public(text, allow_loopback=allow_loopback) for text in texts)
    if scheme == "http" and not all(_is_loopback(address) for address in addresses):
        raise _refused("url must use https (plain http is accepted only for a loopback receiver)")
    return CheckedUrl(url, scheme, host, port, target, tuple(str(address) for address in addresses))


def refusal(address: Address, *, allow_loopback: bool = False) -> str | None:
    """Why a webhook may not go to `address`, or None when it is a public address."""
    if address in _METADATA:
        return f"a cloud metadata address ({_METADATA[address]})"
    if allow_loopback and _is_loopback(address):
        return None
    for network, why in _REFUSED:
        if address in network:
            return f"{why} ({network})"
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.sixtofour or (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None)
        if carried is not None:
            # A 6to4 or NAT64 gateway connects to the IPv4 address inside: that one is what must be public. The local
            # setting does not extend to it, since a translated loopback is not a receiver on this machine.
            why = refusal(carried)
            return f"carries {carried}, {why}" if why else None
        if address not in _GLOBAL_UNICAST:
            return "outside IPv6 global unicast (2000::/3)"
    return None if address.is_global else "not a public address"


def send(
    checked: CheckedUrl,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float = TIMEOUT_SECONDS,
    max_response_bytes: int = MAX_RESPONSE_BYTES,
    ssl_context: ssl.SSLContext | None = None,
) -> DeliveryResult:
    """POST `body` to a checked URL, at one of its checked addresses; a 2xx is success, anything else a failure.

    `timeout` bounds the whole attempt (connect, TLS, request, answer), not each read: per-read timeouts alone let a
    receiver that drips one byte at a time hold a worker for as long as it likes. At most `max_response_bytes` of
    the answer are read; `truncated` says there was more. `ssl_context` lets tests trust their own CA.
    """
    started = time.monotonic()
    connection: _PinnedHTTP | _PinnedHTTPS
    if checked.scheme == "https":
        connection = _PinnedHTTPS(checked, timeout, ssl_context or _default_context())
    else:
        connection = _PinnedHTTP(checked, timeout)
    watchdog = threading.Timer(timeout, connection.abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", checked.target, body=body, headers={"User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        content = response.read(max_response_bytes)
        truncated = bool(response.read(1))
    except (OSError, http.client.HTTPException) as exc:
        return DeliveryResult(None, _elapsed_ms(started), connection.describe(exc))
    finally:
        watchdog.cancel()
        connection.close()
    if connection.timed_out:
        # The watchdog's shutdown reads as the end of the stream, so a cut-off answer can parse as a whole one.
        return DeliveryResult(None, _elapsed_ms(started), connection.describe(TimeoutError()))
    status = response.status
    error = None if 200 <= status < 300 else _status_error(status, response.getheader("Location"))
    return DeliveryResult(status, _elapsed_ms(started), error, content, truncated)


def _parse(url: str, *, allow_loopback: bool) -> tuple[str, str, int, str, Address | None]:
    if len(url) > MAX_URL_CHARS:
        raise _refused(f"url is longer than {MAX_URL_CHARS} characters")
    # urlsplit silently drops tabs and newlines, so a URL holding them would be checked as another URL.
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise _refused("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed or invalid bracketed host
        raise _refused("url is not a valid URL") from exc
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_loopback):
        raise _refused("url must use https")
    if "@" in parts.netloc:
        raise _refused("url must not contain a user name or password")
    try:
        port = parts.port
    except ValueError as exc:
        raise _refused("url's port must be a number from 1 to 65535") from exc
    if port == 0:  # urlsplit accepts it, and nothing can listen there
        raise _refused("url's port must be a number from 1 to 65535")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if not parts.hostname:
        raise _refused("url needs a host")
    host, literal = _host(parts.hostname, bracketed="[" in parts.netloc)
    target = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_TARGET_SAFE)
    return parts.scheme, host, port, target, literal


def _host(hostname: str, *, bracketed: bool) -> tuple[str, Address | None]:
    """The host in ASCII and, when it is an address written out, that address (so no resolver is asked)."""
    if bracketed:
        if "%" in hostname:
            raise _refused("url's host is a scoped IPv6 address")
        try:
            address = ipaddress.IPv6Address(hostname)
        except ValueError as exc:
            raise _refused("url's host is not a valid IPv6 address") from exc
        return str(address), address
    try:
        host = hostname.removesuffix(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise _refused("url's host is not a valid host name") from exc
    if len(host) > 253 or not _HOST_NAME.fullmatch(host):
        raise _refused("url's host is not a valid host name")
    if not _NUMBER.fullmatch(host.rsplit(".", 1)[-1]):
        return host, None
    # Numbers in any form the system accepts ("2130706433", "0x7f.1", "017700000001"): read as the system's own
    # inet_aton reads them, which is also how its resolver would, so the check sees the address a connection would.
    try:
        address = ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError as exc:
        raise _refused("url's host ends in a number but is not a valid IPv4 address") from exc
    return str(address), address


def _resolved(host: str, resolver: Resolver) -> list[str]:
    try:
        texts = list(resolver(host))
    except (OSError, UnicodeError) as exc:
        raise _refused("url's host does not resolve") from exc
    if not texts:
        raise _refused("url's host does not resolve")
    return texts


def _public(text: str, *, allow_loopback: bool) -> Address:
    if "%" in text:
        raise _refused(f"url's host resolves to a scoped address ({text})", address=text)
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise _refused("url's host resolves to something that is not an address") from exc
    why = refusal(address, allow_loopback=allow_loopback)
    if why is not None:
        raise _refused(f"url's host resolves to {address}: {why}; webhooks go only to public addresses", address=text)
    return address


def _is_loopback(address: Address) -> bool:
    return any(address in network for network in _LOOPBACK)


def _refused(message: str, **details: str) -> ValidationError:
    return ValidationError(message, field="url", **details)


@cache
def _default_context() -> ssl.SSLContext:
    # One context for the process: loading the system CA bundle costs milliseconds, and a context is thread-safe.
    return ssl.create_default_context()


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _status_error(status: int, location: str | None) -> str:
    if 300 <= status < 400:
        # Following one would let a public receiver bounce the request to an unchecked address.
        return f"answered {status}; redirects are not followed (Location: {(location or '')[:_ERROR_CHARS]})"
    return f"answered {status}"


class _Pinned:
    """What both connections share: they connect to the checked addresses only, while `host` stays the URL's name
    (for `Host`, and for SNI and the certificate check under TLS), and a watchdog can end them at the deadline."""

    sock: socket.socket | None
    port: int
    timeout: float

    def _pin(self, checked: CheckedUrl, timeout: float) -> None:
        self._addresses = checked.addresses
        self._deadline = time.monotonic() + timeout
        self.timed_out = False

    def _open(self) -> socket.socket:
        """A TCP connection to the first checked address that answers; never a name lookup."""
        failure = OSError("no address to connect to")
        for text in self._addresses:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out")
            sock = socket.socket(socket.AF_INET6 if ":" in text else socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(min(remaining, self.timeout))
            try:
                sock.connect((text, self.port))
            except OSError as exc:
                sock.close()
                failure = OSError(f"could not connect to {text} port {self.port}: {exc}")
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        raise failure

    def abort(self) -> None:
        """The deadline passed: end the exchange wherever it is (called from the watchdog's thread)."""
        self.timed_out = True
        sock = self.sock
        if sock is not None:
            # The plain socket's shutdown, even under TLS: a blocked read returns at once, and the TLS object stays
            # in place for the reading thread to fail on cleanly.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def describe(self, exc: BaseException) -> str:
        if self.timed_out or isinstance(exc, TimeoutError):
            return f"no complete answer within {self.timeout:g} s"
        return f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    def __init__(self, checked: CheckedUrl, timeout: float) -> None:
        super().__init__(checked.host, checked.port, timeout=timeout)
        self._pin(checked, timeout)

    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    def __init__(self, checked: CheckedUrl, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(checked.host, checked.port, timeout=timeout, context=context)
        self._pin(checked, timeout)
        self._tls = context

    def connect(self) -> None:
        self.sock = self._tls.wrap_socket(self._open(), server_hostname=self.host)
