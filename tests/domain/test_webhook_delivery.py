"""SSRF-safe webhook delivery (issue 16, point 4): every refused address form, the connection going only to the
address that was checked (DNS rebinding), and real receivers on this machine for status, redirects, the response
cap, the deadline and TLS checked for the URL's name."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from doti.errors import ValidationError
from doti.webhooks import delivery, signing
from doti.webhooks.delivery import CheckedUrl, check_url, send
from tests.support.webhook_receiver import (
    LocalCA,
    Receiver,
    answer_dripping,
    answer_never,
    answer_status,
    make_test_ca,
    running_receiver,
)

NAME = "hooks.example.test"  # .test never resolves for real (RFC 6761): every lookup here is the test's resolver
PUBLIC_V4, PUBLIC_V6 = "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
BODY = b'{"type":"camera.offline","data":{"camera_id":"cam_1"}}'
# A generous bound for "returned quickly": ten times the deadline given, so a loaded machine does not fail it,
# while a sender without a total deadline (held for 30 s by the dripping receiver) would.
QUICK_MS = 5_000


class FakeResolver:
    """Answers each lookup with the next list of addresses (the last one again when they run out)."""

    def __init__(self, *answers: Iterable[str]) -> None:
        self.answers = [list(answer) for answer in answers]
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


def refused(url: str, *, allow_loopback: bool = False, resolver: Callable[[str], Iterable[str]] | None = None) -> str:
    with pytest.raises(ValidationError) as caught:
        check_url(url, allow_loopback=allow_loopback, resolver=resolver or FakeResolver([PUBLIC_V4]))
    assert caught.value.details["field"] == "url"
    assert caught.value.status == 422
    return caught.value.message


def literal_url(address: str) -> str:
    return f"https://[{address}]/hooks" if ":" in address else f"https://{address}/hooks"


# --- the URL's shape ---------------------------------------------------------------------------------------------


def test_a_public_https_url_is_checked_with_every_address_it_resolves_to():
    resolver = FakeResolver([PUBLIC_V4, PUBLIC_V6, PUBLIC_V4])
    checked = check_url(f"https://{NAME.upper()}./in/hooks?camera=cam_1#frag", resolver=resolver)

    assert resolver.asked == [NAME]
    assert checked == CheckedUrl(
        url=f"https://{NAME.upper()}./in/hooks?camera=cam_1#frag",
        scheme="https",
        host=NAME,
        port=443,
        target="/in/hooks?camera=cam_1",
        addresses=(PUBLIC_V4, PUBLIC_V6, PUBLIC_V4),
    )


def test_a_port_and_an_international_name_are_kept_in_the_form_sent():
    resolver = FakeResolver([PUBLIC_V4])
    checked = check_url("https://bücher.example:8443", resolver=resolver)
    assert (checked.host, checked.port, checked.target) == ("xn--bcher-kva.example", 8443, "/")
    assert resolver.asked == ["xn--bcher-kva.example"]


def test_a_path_is_sent_percent_encoded():
    checked = check_url(f"https://{NAME}/ü/a%20b?q=ü", resolver=FakeResolver([PUBLIC_V4]))
    assert checked.target == "/%C3%BC/a%20b?q=%C3%BC"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"http://{NAME}/hooks", "url must use https"),
        (f"ftp://{NAME}/hooks", "url must use https"),
        (f"//{NAME}/hooks", "url must use https"),
        ("hooks.example.test", "url must use https"),
        (f"https://user:password@{NAME}/", "url must not contain a user name or password"),
        (f"https://user@{NAME}/", "url must not contain a user name or password"),
        (f"https://:@{NAME}/", "url must not contain a user name or password"),
        (f"https://{PUBLIC_V4}@{NAME}/", "url must not contain a user name or password"),
        ("https:///hooks", "url needs a host"),
        ("https://:443/hooks", "url needs a host"),
        (f"https://{NAME}:0/", "url's port must be a number from 1 to 65535"),
        (f"https://{NAME}:65536/", "url's port must be a number from 1 to 65535"),
        (f"https://{NAME}:https/", "url's port must be a number from 1 to 65535"),
        (f"https://{NAME}:-1/", "url's port must be a number from 1 to 65535"),
        (f"https://{NAME}/a b", "url must not contain spaces or control characters"),
        (f"https://{NAME}/a\nb", "url must not contain spaces or control characters"),
        ("https://hooks.exam\tple.test/", "url must not contain spaces or control characters"),
        (f"https://{NAME}/\x00", "url must not contain spaces or control characters"),
        (f"https://{NAME}/" + "a" * 2048, "url is longer than 2048 characters"),
        ("https://hooks..example.test/", "url's host is not a valid host name"),
        ("https://hooks.example.test../", "url's host is not a valid host name"),
        ("https://hooks.exa$mple.test/", "url's host is not a valid host name"),
        ("https://-hooks.example.test/", "url's host is not a valid host name"),
        ("https://" + "a" * 64 + ".example.test/", "url's host is not a valid host name"),
        ("https://[::1/", "url is not a valid URL"),
        ("https://[hooks.example.test]/", "url is not a valid URL"),
        ("https://[v1.fe80::1]/", "url's host is not a valid IPv6 address"),  # IPvFuture: urlsplit takes it
        ("https://[fe80::1%25eth0]/", "url's host is a scoped IPv6 address"),
        ("https://shop.123/", "url's host ends in a number but is not a valid IPv4 address"),
        ("https://1.2.3.4.5/", "url's host ends in a number but is not a valid IPv4 address"),
        ("https://256.1.1.1/", "url's host ends in a number but is not a valid IPv4 address"),
        ("https://08.1.1.1/", "url's host ends in a number but is not a valid IPv4 address"),
        ("https://4294967296/", "url's host ends in a number but is not a valid IPv4 address"),
        ("https://0x/", "url's host ends in a number but is not a valid IPv4 address"),
    ],
)
def test_a_url_of_the_wrong_shape_is_refused_before_any_lookup(url: str, message: str):
    resolver = FakeResolver([PUBLIC_V4])
    assert refused(url, resolver=resolver) == message
    assert resolver.asked == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "url's host does not resolve"),
        ([], "url's host does not resolve"),
        (["not-an-address"], "url's host resolves to something that is not an address"),
        (["fe80::1%eth0"], "url's host resolves to a scoped address (fe80::1%eth0)"),
    ],
)
def test_a_host_that_does_not_resolve_to_addresses_is_refused(answer: object, message: str):
    def resolver(_host: str) -> list[str]:
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    assert refused(f"https://{NAME}/", resolver=resolver) == message


def test_the_system_resolver_is_the_default_and_localhost_is_refused():
    assert {ipaddress.ip_address(address).is_loopback for address in delivery.resolve("localhost")} == {True}
    assert "loopback" in refused("https://localhost/hooks", resolver=delivery.resolve)


# --- every refused address form ----------------------------------------------------------------------------------

REFUSED_ADDRESSES = [
    ("0.0.0.0", "'this network'"),  # noqa: S104 - an address refused, not one bound to
    ("0.1.2.3", "'this network'"),
    ("10.1.2.3", "private (10.0.0.0/8)"),
    ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("100.127.255.254", "shared (carrier-grade NAT)"),
    ("127.0.0.1", "loopback (127.0.0.0/8)"),
    ("127.255.255.254", "loopback (127.0.0.0/8)"),
    ("169.254.0.1", "link-local (169.254.0.0/16)"),
    ("169.254.169.254", "a cloud metadata address (instance metadata)"),
    ("169.254.170.2", "a cloud metadata address (ECS task metadata)"),
    ("172.16.0.1", "private (172.16.0.0/12)"),
    ("172.31.255.255", "private (172.16.0.0/12)"),
    ("192.0.0.8", "IETF protocol assignments"),
    ("192.0.0.192", "IETF protocol assignments"),  # Oracle Cloud's metadata
    ("192.0.2.1", "documentation (192.0.2.0/24)"),
    ("192.88.99.1", "6to4 relay anycast"),
    ("192.168.1.1", "private (192.168.0.0/16)"),
    ("198.18.0.1", "benchmarking (198.18.0.0/15)"),
    ("198.19.255.255", "benchmarking (198.18.0.0/15)"),
    ("198.51.100.7", "documentation (198.51.100.0/24)"),
    ("203.0.113.9", "documentation (203.0.113.0/24)"),
    ("224.0.0.1", "multicast (224.0.0.0/4)"),
    ("239.255.255.250", "multicast (224.0.0.0/4)"),
    ("240.0.0.1", "reserved (240.0.0.0/4)"),
    ("255.255.255.255", "reserved (240.0.0.0/4)"),
    ("::", "unspecified (::/128)"),
    ("::1", "loopback (::1/128)"),
    ("::ffff:127.0.0.1", "IPv4-mapped (::ffff:0:0/96)"),
    ("::ffff:10.0.0.1", "IPv4-mapped (::ffff:0:0/96)"),
    ("::ffff:169.254.169.254", "IPv4-mapped (::ffff:0:0/96)"),
    ("::ffff:8.8.8.8", "IPv4-mapped (::ffff:0:0/96)"),  # never what a public AAAA record holds
    ("::ffff:0:10.0.0.1", "IPv4-translated (::ffff:0:0:0/96)"),
    ("::127.0.0.1", "IPv4-compatible (::/96)"),
    ("::10.0.0.1", "IPv4-compatible (::/96)"),
    ("::8.8.8.8", "IPv4-compatible (::/96)"),
    ("64:ff9b::10.0.0.1", "carries 10.0.0.1, private (10.0.0.0/8)"),
    ("64:ff9b::127.0.0.1", "carries 127.0.0.1, loopback (127.0.0.0/8)"),
    ("64:ff9b::169.254.169.254", "carries 169.254.169.254, a cloud metadata address"),
    ("64:ff9b:1::a00:1", "local-use NAT64 (64:ff9b:1::/48)"),
    ("2002:a00:1::1", "carries 10.0.0.1, private (10.0.0.0/8)"),
    ("2002:7f00:1::", "carries 127.0.0.1, loopback (127.0.0.0/8)"),
    ("2002:a9fe:a9fe::1", "carries 169.254.169.254, a cloud metadata address"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo (2001::/32)"),
    ("2001:2::1", "IETF protocol assignments (2001::/23)"),
    ("2001:db8::1", "documentation (2001:db8::/32)"),
    ("3fff::1", "documentation (3fff::/20)"),
    ("100::1", "discard-only (100::/64)"),
    ("fc00::1", "unique local (fc00::/7)"),
    ("fd12:3456:789a::1", "unique local (fc00::/7)"),
    ("fd00:ec2::254", "a cloud metadata address (EC2 IPv6 instance metadata)"),
    ("fe80::1", "link-local (fe80::/10)"),
    ("febf::1", "link-local (fe80::/10)"),
    ("fec0::1", "site-local (fec0::/10)"),
    ("ff02::1", "multicast (ff00::/8)"),
    ("ff0e::1", "multicast (ff00::/8)"),
    ("4000::1", "outside IPv6 global unicast (2000::/3)"),
]


@pytest.mark.parametrize(("address", "why"), REFUSED_ADDRESSES)
def test_a_literal_address_that_is_not_public_is_refused(address: str, why: str):
    resolver = FakeResolver([PUBLIC_V4])
    shown = ipaddress.ip_address(address)
    assert refused(literal_url(address), resolver=resolver).startswith(f"url's host resolves to {shown}: {why}")
    assert resolver.asked == []  # an address written out is checked as it is, never looked up


@pytest.mark.parametrize(("address", "why"), REFUSED_ADDRESSES)
def test_a_name_resolving_to_an_address_that_is_not_public_is_refused(address: str, why: str):
    shown = ipaddress.ip_address(address)
    assert refused(f"https://{NAME}/hooks", resolver=FakeResolver([address])).startswith(
        f"url's host resolves to {shown}: {why}"
    )


@pytest.mark.parametrize(
    "answer", [[PUBLIC_V4, "10.0.0.1"], ["10.0.0.1", PUBLIC_V4], [PUBLIC_V6, "fd00:ec2::254", PUBLIC_V4]]
)
def test_one_address_that_is_not_public_among_public_ones_refuses_the_url(answer: list[str]):
    # Any of them may be the one connected to, so all must be public.
    assert "webhooks go only to public addresses" in refused(f"https://{NAME}/", resolver=FakeResolver(answer))


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("2852039166", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("10.1", "10.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104 - an address refused, not one bound to
    ],
)
def test_an_ipv4_address_written_as_numbers_is_read_as_the_system_reads_it_and_refused(host: str, address: str):
    # The system's own parser (inet_aton, also what its resolver applies to such names) agrees on the address.
    assert socket.inet_aton(host.rstrip(".")) == ipaddress.IPv4Address(address).packed
    resolver = FakeResolver([PUBLIC_V4])
    assert refused(f"https://{host}/hooks", resolver=resolver).startswith(f"url's host resolves to {address}: ")
    assert resolver.asked == []


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        PUBLIC_V4,
        "100.63.255.255",  # just outside 100.64.0.0/10
        "100.128.0.1",
        "172.15.255.255",  # just outside 172.16.0.0/12
        "172.32.0.1",
        "198.17.255.255",  # just outside 198.18.0.0/15
        "198.20.0.1",
        "223.255.255.254",
        PUBLIC_V6,
        "2606:4700:4700::1111",
        "64:ff9b::8.8.8.8",  # NAT64 (DNS64 in an IPv6-only VPC) of a public address
        "2002:808:808::1",  # 6to4 of a public address
    ],
)
def test_public_addresses_are_accepted_literally_and_by_name(address: str):
    written = (str(ipaddress.ip_address(address)),)
    assert check_url(literal_url(address), resolver=FakeResolver([])).addresses == written
    assert check_url(f"https://{NAME}/", resolver=FakeResolver([address])).addresses == written


# --- the local stack's loopback setting --------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_local_setting_accepts_loopback_over_http_or_https(address: str, scheme: str):
    url = literal_url(address).replace("https://", f"{scheme}://")
    assert check_url(url, allow_loopback=True).addresses == (address,)
    assert check_url(f"{scheme}://{NAME}/", allow_loopback=True, resolver=FakeResolver([address])).scheme == scheme


@pytest.mark.parametrize(
    "address", ["::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::127.0.0.1", "2002:7f00:1::", "10.0.0.1", "169.254.169.254"]
)
def test_the_local_setting_accepts_nothing_else(address: str):
    assert "webhooks go only to public addresses" in refused(literal_url(address), allow_loopback=True)


def test_plain_http_is_only_for_a_receiver_that_is_wholly_on_loopback():
    message = "url must use https (plain http is accepted only for a loopback receiver)"
    assert refused(f"http://{NAME}/", allow_loopback=True, resolver=FakeResolver([PUBLIC_V4])) == message
    assert refused(f"http://{NAME}/", allow_loopback=True, resolver=FakeResolver(["127.0.0.1", PUBLIC_V4])) == message
    assert check_url(f"https://{NAME}/", allow_loopback=True, resolver=FakeResolver(["127.0.0.1", PUBLIC_V4]))


# --- sending -----------------------------------------------------------------------------------------------------


def test_a_signed_webhook_reaches_a_loopback_receiver_with_its_status_and_latency():
    secret = signing.new_secret()
    headers = {"Content-Type": "application/json", **signing.headers([secret], "msg_1", 1_764_800_000, BODY)}
    with running_receiver(answer_status(200, b'{"ok":true}')) as receiver:
        checked = check_url(receiver.url("/hooks?camera=cam_1"), allow_loopback=True)
        result = send(checked, BODY, headers)

    assert (result.ok, result.status, result.error, result.response, result.truncated) == (
        True,
        200,
        None,
        b'{"ok":true}',
        False,
    )
    assert isinstance(result.latency_ms, int)
    assert 0 <= result.latency_ms < QUICK_MS
    [request] = receiver.received
    assert request.path == "/hooks?camera=cam_1"
    assert request.body == BODY
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["user-agent"] == delivery.USER_AGENT
    assert request.headers["content-type"] == "application/json"
    signing.verify(secret, request.headers, request.body, now=1_764_800_000)


def test_a_receiver_on_ipv6_loopback_gets_the_post_with_a_bracketed_host():
    with running_receiver(host="::1") as receiver:
        result = send(check_url(receiver.url(), allow_loopback=True), BODY, {})
    assert (result.ok, result.status) == (True, 204)
    assert [request.headers["host"] for request in receiver.received] == [f"[::1]:{receiver.port}"]


@pytest.mark.parametrize("status", [400, 404, 410, 429, 500, 503])
def test_an_answer_other_than_2xx_is_a_failure_with_its_status(status: int):
    with running_receiver(answer_status(status, b"nope")) as receiver:
        result = send(check_url(receiver.url(), allow_loopback=True), BODY, {})
    assert (result.ok, result.status, result.error, result.response) == (False, status, f"answered {status}", b"nope")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed(status: int):
    with running_receiver() as elsewhere:
        redirect = answer_status(status, headers={"Location": elsewhere.url("/internal")})
        with running_receiver(redirect) as receiver:
            result = send(check_url(receiver.url(), allow_loopback=True), BODY, {})

    assert (result.ok, result.status) == (False, status)
    assert result.error == f"answered {status}; redirects are not followed (Location: {elsewhere.url('/internal')})"
    assert len(receiver.received) == 1
    assert elsewhere.received == []


@pytest.mark.parametrize(
    ("size", "cap", "truncated"),
    [(200 * 1024, delivery.MAX_RESPONSE_BYTES, True), (100, 10, True), (10, 10, False), (0, 10, False)],
)
def test_the_answer_is_read_up_to_the_cap(size: int, cap: int, truncated: bool):
    body = bytes(index % 251 for index in range(size))
    with running_receiver(answer_status(200, body)) as receiver:
        result = send(check_url(receiver.url(), allow_loopback=True), BODY, {}, max_response_bytes=cap)
    assert (result.ok, result.response, result.truncated) == (True, body[:cap], truncated)


def test_an_answer_that_never_comes_is_an_error_within_the_deadline():
    with running_receiver(answer_never) as receiver:
        result = send(check_url(receiver.url(), allow_loopback=True), BODY, {}, timeout=0.5)
    assert (result.ok, result.status, result.error) == (False, None, "no complete answer within 0.5 s")
    assert result.latency_ms < QUICK_MS
    assert len(receiver.received) == 1


def test_a_receiver_dripping_its_answer_cannot_hold_the_sender_past_the_deadline():
    # Every byte arrives well within a read timeout; only a deadline over the whole exchange ends it.
    with running_receiver(answer_dripping) as receiver:
        result = send(check_url(receiver.url(), allow_loopback=True), BODY, {}, timeout=0.5)
    assert (result.ok, result.status, result.error) == (False, None, "no complete answer within 0.5 s")
    assert result.latency_ms < QUICK_MS


def test_nobody_listening_is_an_error_result_naming_the_address():
    with socket.socket() as held:  # a port bound but not listening: connections to it are refused
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        result = send(check_url(f"http://127.0.0.1:{port}/hooks", allow_loopback=True), BODY, {}, timeout=1)
    assert (result.ok, result.status) == (False, None)
    assert result.error is not None
    assert result.error.startswith(f"OSError: could not connect to 127.0.0.1 port {port}: ")


def test_the_next_checked_address_is_tried_when_one_does_not_answer():
    with running_receiver() as receiver:
        resolver = FakeResolver(["127.0.0.3", "127.0.0.1"])  # nothing listens on 127.0.0.3
        checked = check_url(receiver.url(name=NAME), allow_loopback=True, resolver=resolver)
        result = send(checked, BODY, {})
    assert (result.ok, result.status) == (True, 204)
    assert len(receiver.received) == 1


# --- DNS rebinding: the connection goes to the address that was checked --------------------------------------------

_watching: dict[int, list[tuple[str, object]]] = {}


def _audit(event: str, args: tuple) -> None:
    seen = _watching.get(threading.get_ident())
    if seen is None:
        return
    if event == "socket.connect":
        seen.append((event, args[1]))
        if not ipaddress.ip_address(args[1][0]).is_loopback:
            raise ConnectionRefusedError("stopped by the test: nothing leaves this machine")
    elif event.startswith(("socket.getaddrinfo", "socket.gethostby")):
        seen.append((event, args[0]))


@contextmanager
def watched_sockets() -> Iterator[list[tuple[str, object]]]:
    """Every connect and name lookup this thread makes in the block, from Python's audit events (connections to
    anything but loopback are stopped before a packet is sent)."""
    if not getattr(sys, "_doti_webhook_audit", False):
        sys.addaudithook(_audit)  # a hook cannot be removed: it stays, idle outside this block
        sys._doti_webhook_audit = True  # type: ignore[attr-defined]
    seen: list[tuple[str, object]] = []
    _watching[threading.get_ident()] = seen
    try:
        yield seen
    finally:
        del _watching[threading.get_ident()]


def test_a_name_rebound_to_loopback_after_the_check_is_not_connected_to():
    with running_receiver() as loopback:
        resolver = FakeResolver([PUBLIC_V4], ["127.0.0.1"])  # public when checked, loopback for any later lookup
        checked = check_url(f"https://{NAME}:{loopback.port}/hooks", resolver=resolver)
        with watched_sockets() as seen:
            result = send(checked, BODY, {}, timeout=1)

    assert checked.addresses == (PUBLIC_V4,)
    assert seen == [("socket.connect", (PUBLIC_V4, loopback.port))]  # the checked address, and no lookup at all
    assert resolver.asked == [NAME]
    assert result.error is not None
    assert f"could not connect to {PUBLIC_V4} port {loopback.port}" in result.error
    assert loopback.received == []


def test_the_request_lands_on_the_checked_address_and_not_on_a_later_answer():
    with (
        running_receiver(host="127.0.0.2") as checked_one,
        running_receiver(host="127.0.0.1", port=checked_one.port) as later_one,
    ):
        resolver = FakeResolver(["127.0.0.2"], ["127.0.0.1"])
        checked = check_url(f"http://{NAME}:{checked_one.port}/hooks", allow_loopback=True, resolver=resolver)
        with watched_sockets() as seen:
            result = send(checked, BODY, {})

    assert (result.ok, result.status) == (True, 204)
    assert seen == [("socket.connect", ("127.0.0.2", checked_one.port))]
    assert [request.headers["host"] for request in checked_one.received] == [f"{NAME}:{checked_one.port}"]
    assert later_one.received == []


# --- TLS: verified for the URL's name while connected to its checked address ---------------------------------------


def named_on_loopback(receiver: Receiver) -> CheckedUrl:
    """The receiver's https URL under NAME, which the test's resolver points at 127.0.0.1."""
    url = receiver.url(scheme="https", name=NAME)
    return check_url(url, allow_loopback=True, resolver=FakeResolver(["127.0.0.1"]))


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return make_test_ca(Path(tmp_path_factory.mktemp("webhook-ca")))


def test_tls_sends_the_name_in_sni_and_host_and_verifies_the_certificate_for_it(local_ca: LocalCA):
    with running_receiver(tls=local_ca.server_context(NAME)) as receiver:
        checked = check_url(
            receiver.url(scheme="https", name=NAME), allow_loopback=True, resolver=FakeResolver(["127.0.0.1"])
        )
        result = send(checked, BODY, {}, ssl_context=local_ca.client_context())

    assert (result.ok, result.status) == (True, 204)
    assert receiver.server_names == [NAME]
    assert [request.headers["host"] for request in receiver.received] == [f"{NAME}:{receiver.port}"]


def test_a_certificate_for_another_name_is_refused(local_ca: LocalCA):
    with running_receiver(tls=local_ca.server_context("other.example.test")) as receiver:
        checked = check_url(
            receiver.url(scheme="https", name=NAME), allow_loopback=True, resolver=FakeResolver(["127.0.0.1"])
        )
        result = send(checked, BODY, {}, ssl_context=local_ca.client_context())

    assert (result.ok, result.status) == (False, None)
    assert result.error is not None
    assert "certificate verify failed" in result.error
    assert "Hostname mismatch" in result.error
    assert receiver.received == []


def test_a_certificate_from_an_untrusted_issuer_is_refused_by_the_default_context(local_ca: LocalCA):
    with running_receiver(tls=local_ca.server_context(NAME)) as receiver:
        checked = check_url(
            receiver.url(scheme="https", name=NAME), allow_loopback=True, resolver=FakeResolver(["127.0.0.1"])
        )
        result = send(checked, BODY, {})

    assert (result.ok, result.status) == (False, None)
    assert result.error is not None
    assert "certificate verify failed" in result.error
    assert receiver.received == []


def _no_such_name(_host: str) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_registering_accepts_a_name_that_does_not_resolve_yet_but_a_send_needs_its_addresses() -> None:
    checked = check_url("https://hooks.example.invalid/in", resolver=_no_such_name, require_resolution=False)

    assert checked.addresses == ()
    with pytest.raises(ValidationError, match="does not resolve"):
        check_url("https://hooks.example.invalid/in", resolver=_no_such_name)


def test_registering_still_refuses_what_a_name_resolves_to_and_plain_http_without_addresses() -> None:
    with pytest.raises(ValidationError, match=r"10\.0\.0\.1"):
        check_url("https://hooks.example.com/in", resolver=lambda _h: ["10.0.0.1"], require_resolution=False)
    with pytest.raises(ValidationError, match="https"):
        check_url(
            "http://hooks.example.invalid/", resolver=_no_such_name, require_resolution=False, allow_loopback=True
        )
