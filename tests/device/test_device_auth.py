"""Device request signing and device secrets (doti.auth.device; SPEC §2, §12)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from doti.auth.device import (
    SignedRequest,
    authenticate_device,
    canonical_query,
    sign,
    signed_headers,
    string_to_sign,
)
from doti.entities import Device
from doti.errors import NotFound, SignatureExpired, StorageError, Unauthorized
from doti.settings import get_settings
from doti.store.secrets import SecretBox

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
STAMP = "2026-11-25T12:00:00.000Z"
PATH = "/v1/device/frames"
BODY = b"\xff\xd8\xff\xd9"
SECRET = "device-secret-1"
# Computed independently: hmac.new(b"device-secret-1", <string to sign>, hashlib.sha256).hexdigest()
BODY_SHA256 = "32461d5bd1773012acef0ba15636752949bd7c2ce50f9172159d9f56cf0dd9af"
FRAME_SIGNATURE = "849929e06e9ba962653116c6a14da64d6d39569822f5ef44d9b8604be0178278"
EMPTY_GET_SIGNATURE = "aec845b791a87ea94ae139e536ab3ef77b3ab565ca7dc92ce058741b83bc6423"
# A query as API Gateway hands it over (multiValueQueryStringParameters: decoded, in arrival order), its canonical
# form (sorted, RFC 3986 unreserved characters kept, everything else percent-encoded as UTF-8) and the signature.
QUERY = {"z": ["/"], "café": ["x y+z~"], "b": [""], "a": ["2", "1"]}
CANONICAL_QUERY = "a=1&a=2&b=&caf%C3%A9=x%20y%2Bz~&z=%2F"
QUERY_SIGNATURE = "791e86373f11e9916252e641a3cf465e076aa8318b7e05468b2f9853e7efb9ec"


def device(device_id: str | None = None, *, status: str = "active", ciphertext: bytes = b"sealed") -> Device:
    return Device(
        device_id=device_id or f"dev_{secrets.token_hex(10)}",
        contract_id="ctr_test",
        site_id="sit_test",
        name="Panel",
        status=status,
        secret_ciphertext=ciphertext,
        created_at=NOW,
    )


def registry_of(*devices: Device) -> Callable[[str], Device]:
    """A device loader over known devices, raising NotFound like the registry does."""
    by_id = {d.device_id: d for d in devices}

    def load(device_id: str) -> Device:
        if device_id not in by_id:
            raise NotFound("device not found")
        return by_id[device_id]

    return load


def request(
    headers: dict[str, str],
    body: bytes = BODY,
    path: str = PATH,
    method: str = "POST",
    query: dict[str, list[str]] | None = None,
) -> SignedRequest:
    lower = {k.lower(): v for k, v in headers.items()}
    return SignedRequest(method=method, path=path, headers=lower, body=body, query=query)


def authenticate(req: SignedRequest, *devices: Device, now: datetime = NOW, secret: str = SECRET) -> Device:
    return authenticate_device(req, load_device=registry_of(*devices), open_secret=lambda _: secret, now=now)


# signing


def test_string_to_sign_is_method_path_query_timestamp_and_body_digest():
    # A request without a query signs an empty line in its place
    assert string_to_sign("post", PATH, STAMP, BODY) == f"POST\n{PATH}\n\n{STAMP}\n{BODY_SHA256}".encode()
    assert (
        string_to_sign("post", PATH, STAMP, BODY, query=QUERY)
        == f"POST\n{PATH}\n{CANONICAL_QUERY}\n{STAMP}\n{BODY_SHA256}".encode()
    )


def test_signature_matches_the_known_vector():
    # Given the issue 10 recipe computed by hand
    by_hand = hmac.new(SECRET.encode(), f"POST\n{PATH}\n\n{STAMP}\n{BODY_SHA256}".encode(), hashlib.sha256).hexdigest()

    # When doti signs the same request / Then both agree with the recorded vectors
    assert sign(SECRET, "POST", PATH, STAMP, BODY) == by_hand == FRAME_SIGNATURE
    assert sign(SECRET, "GET", "/v1/device/openapi.json", STAMP, b"") == EMPTY_GET_SIGNATURE
    assert sign(SECRET, "POST", PATH, STAMP, BODY, query=QUERY) == QUERY_SIGNATURE


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        (None, ""),
        ({}, ""),
        (QUERY, CANONICAL_QUERY),
        ({"b": "2", "a": "1"}, "a=1&b=2"),  # a single value may be given as a string
        ({"k": ["b", "a", "B"]}, "k=B&k=a&k=b"),  # repeated names: by encoded value, byte order
        ({"x": ["-_.~!*'()&=#?"]}, "x=-_.~%21%2A%27%28%29%26%3D%23%3F"),  # only RFC 3986 unreserved kept
        ({"日本": ["語"]}, "%E6%97%A5%E6%9C%AC=%E8%AA%9E"),
        ({"a b": ["1"], "a": ["2"]}, "a=2&a%20b=1"),  # sorted by the encoded name
    ],
)
def test_the_canonical_query_is_sorted_and_percent_encoded_like_sigv4(query, canonical):
    assert canonical_query(query) == canonical


def test_signed_headers_are_what_a_device_sends():
    headers = signed_headers("dev_1", SECRET, "POST", PATH, BODY, NOW)
    with_query = signed_headers("dev_1", SECRET, "POST", PATH, BODY, NOW, query=QUERY)

    assert headers == {"X-Doti-Device": "dev_1", "X-Doti-Timestamp": STAMP, "X-Doti-Signature": FRAME_SIGNATURE}
    assert with_query["X-Doti-Signature"] == QUERY_SIGNATURE


# verification


def test_signed_request_authenticates_its_device():
    # Given a device and a request it signed
    panel = device()
    req = request(signed_headers(panel.device_id, SECRET, "POST", PATH, BODY, NOW))

    # When it is verified / Then the device is returned
    assert authenticate(req, panel) == panel


def test_handlers_pass_lower_case_names_and_any_original_case_works():
    # Given headers as a proxy may rewrite them, lower-cased by the handler as doti.http.lower_headers does
    panel = device()
    sent = {k.upper(): v for k, v in signed_headers(panel.device_id, SECRET, "POST", PATH, BODY, NOW).items()}

    # When verified / Then the device is recognised
    assert authenticate(request(sent), panel) == panel


def test_a_signed_query_authenticates_in_any_order_it_arrives_in():
    # Given a request signed with a query, which API Gateway delivers decoded and in its own order
    panel = device()
    headers = signed_headers(panel.device_id, SECRET, "POST", PATH, BODY, NOW, query={"b": ["2"], "a": ["1", "0"]})

    # When verified with the parameters reordered / Then the device is recognised
    assert authenticate(request(headers, query={"a": ["0", "1"], "b": ["2"]}), panel) == panel


def test_signature_hex_case_does_not_matter():
    panel = device()
    headers = signed_headers(panel.device_id, SECRET, "POST", PATH, BODY, NOW)
    headers["X-Doti-Signature"] = headers["X-Doti-Signature"].upper()

    assert authenticate(request(headers), panel) == panel


@pytest.mark.parametrize("offset", [timedelta(seconds=-300), timedelta(seconds=300)], ids=["300s-old", "300s-ahead"])
def test_timestamp_at_the_skew_limit_is_accepted(offset):
    panel = device()
    req = request(signed_headers(panel.device_id, SECRET, "POST", PATH, BODY, NOW + offset))

    assert authenticate(req, panel) == panel


@pytest.mark.parametrize(
    "offset", [timedelta(seconds=-300, milliseconds=-1), timedelta(seconds=300, milliseconds=1)], ids=["old", "ahead"]
)
def test_timestamp_past_the_skew_limit_is_signature_expired(offset):
    panel = device()
    req = request(signed_headers(panel.device_id, SECRET, "POST", PATH, BODY, NOW + offset))

    with pytest.raises(SignatureExpired) as caught:
        authenticate(req, panel)
    assert caught.value.details == {"server_time": STAMP, "max_skew_seconds": 300}


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("body", lambda r: SignedRequest(r.method, r.path, r.headers, BODY + b"\x00", r.query)),
        ("path", lambda r: SignedRequest(r.method, "/v1/device/events", r.headers, r.body, r.query)),
        ("method", lambda r: SignedRequest("PUT", r.path, r.headers, r.body, r.query)),
        (
            "timestamp",
            lambda r: SignedRequest(
                r.method, r.path, {**r.headers, "x-doti-timestamp": "2026-11-25T12:00:01.000Z"}, r.body, r.query
            ),
        ),
        ("query value", lambda r: SignedRequest(r.method, r.path, r.headers, r.body, {"limit": ["2"]})),
        (
            "query added",
            lambda r: SignedRequest(r.method, r.path, r.headers, r.body, {"limit": ["1"], "camera": ["cam_other"]}),
        ),
        ("query repeated", lambda r: SignedRequest(r.method, r.path, r.headers, r.body, {"limit": ["1", "1"]})),
        ("query dropped", lambda r: SignedRequest(r.method, r.path, r.headers, r.body, None)),
    ],
)
def test_any_signed_part_changed_after_signing_is_unauthorized(what, change):
    # Given a request signed by a device (with a query), then altered in one signed part
    panel = device()
    signed = signed_headers(panel.device_id, SECRET, "POST", PATH, BODY, NOW, query={"limit": ["1"]})
    assert authenticate(request(signed, query={"limit": ["1"]}), panel) == panel
    req = change(request(signed, query={"limit": ["1"]}))

    # When verified / Then the signature no longer matches
    with pytest.raises(Unauthorized) as caught:
        authenticate(req, panel)
    assert caught.value.message == "invalid device credentials", what


def test_signature_under_another_secret_is_unauthorized():
    panel = device()
    req = request(signed_headers(panel.device_id, "someone-elses-secret", "POST", PATH, BODY, NOW))

    with pytest.raises(Unauthorized):
        authenticate(req, panel)


def test_unknown_device_and_wrong_signature_are_indistinguishable():
    # Given a registered device, a request naming an unknown device and one with a wrong signature
    panel = device()
    unknown = request(signed_headers("dev_nobody", SECRET, "POST", PATH, BODY, NOW))
    forged = request(signed_headers(panel.device_id, "wrong", "POST", PATH, BODY, NOW))

    # When both are verified
    with pytest.raises(Unauthorized) as unknown_error:
        authenticate(unknown, panel)
    with pytest.raises(Unauthorized) as forged_error:
        authenticate(forged, panel)

    # Then the errors are identical
    assert (unknown_error.value.message, unknown_error.value.details) == (
        forged_error.value.message,
        forged_error.value.details,
    )


def test_revoked_device_is_unauthorized_and_says_so_only_to_its_secret_holder():
    revoked = device(status="revoked")
    genuine = request(signed_headers(revoked.device_id, SECRET, "POST", PATH, BODY, NOW))
    forged = request(signed_headers(revoked.device_id, "wrong", "POST", PATH, BODY, NOW))

    with pytest.raises(Unauthorized) as genuine_error:
        authenticate(genuine, revoked)
    with pytest.raises(Unauthorized) as forged_error:
        authenticate(forged, revoked)

    assert genuine_error.value.message == "device is revoked"
    assert forged_error.value.message == "invalid device credentials"


@pytest.mark.parametrize("header", ["X-Doti-Device", "X-Doti-Timestamp", "X-Doti-Signature"])
def test_missing_header_is_unauthorized_and_named(header):
    panel = device()
    headers = signed_headers(panel.device_id, SECRET, "POST", PATH, BODY, NOW)
    del headers[header]

    with pytest.raises(Unauthorized) as caught:
        authenticate(request(headers), panel)
    assert caught.value.details == {"missing": [header.lower()]}


@pytest.mark.parametrize("stamp", ["", "yesterday", "2026-11-25", "2026-11-25T12:00:00"])
def test_timestamp_that_is_not_rfc3339_with_offset_is_unauthorized(stamp):
    panel = device()
    headers = signed_headers(panel.device_id, SECRET, "POST", PATH, BODY, NOW)
    headers["X-Doti-Timestamp"] = stamp

    with pytest.raises(Unauthorized):
        authenticate(request(headers), panel)


# sealed secrets (KMS in moto)


class KmsCalls:
    """Counts KMS calls at botocore's client layer and can make the next one fail."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.fail_next: str | None = None

    def __call__(self, operation: str) -> None:
        self.operations.append(operation)
        if self.fail_next == operation:
            self.fail_next = None
            error = {"Error": {"Code": "KMSInternalException", "Message": "injected"}}
            raise ClientError({**error, "ResponseMetadata": {"HTTPStatusCode": 500}}, operation)


@pytest.fixture
def kms_calls(monkeypatch: pytest.MonkeyPatch) -> KmsCalls:
    calls = KmsCalls()
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "kms":
            calls(operation)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return calls


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def box(aws) -> tuple[SecretBox, Clock]:
    clock = Clock()
    kms = boto3.client("kms", region_name="us-east-1")
    return SecretBox(kms, get_settings().device_secrets_key_id, ttl_seconds=60, clock=clock), clock


def test_sealed_secret_is_kms_ciphertext_that_opens_for_its_device(box):
    # Given a secret sealed for a device
    secret_box, _ = box
    secret = f"s-{secrets.token_urlsafe(24)}"
    ciphertext = secret_box.seal("dev_one", secret)

    # Then the ciphertext does not contain the secret, and opens back to it for that device
    assert isinstance(ciphertext, bytes)
    assert secret.encode() not in ciphertext
    assert secret_box.open(device("dev_one", ciphertext=ciphertext)) == secret


def test_secret_sealed_for_one_device_does_not_open_for_another(box):
    # Given a secret sealed for one device, copied onto another device's record
    secret_box, _ = box
    ciphertext = secret_box.seal("dev_one", "s-" + secrets.token_urlsafe(24))

    # When it is opened as the other device / Then KMS refuses the encryption context
    with pytest.raises(Unauthorized):
        secret_box.open(device("dev_two", ciphertext=ciphertext))


def test_opened_secrets_are_cached_until_their_ttl(box, kms_calls):
    # Given a sealed secret
    secret_box, clock = box
    panel = device("dev_cached", ciphertext=secret_box.seal("dev_cached", "s-cached"))

    # When it is opened repeatedly within the TTL, then after it
    first = [secret_box.open(panel) for _ in range(3)]
    decrypts_within_ttl = kms_calls.operations.count("Decrypt")
    clock.now += 61
    after = secret_box.open(panel)

    # Then KMS decrypts once per TTL
    assert first == ["s-cached"] * 3
    assert after == "s-cached"
    assert decrypts_within_ttl == 1
    assert kms_calls.operations.count("Decrypt") == 2


def test_rotated_secret_is_never_served_from_the_cache(box, kms_calls):
    # Given a device whose secret was opened, then rotated
    secret_box, _ = box
    old = device("dev_rotated", ciphertext=secret_box.seal("dev_rotated", "s-old"))
    assert secret_box.open(old) == "s-old"
    rotated = device("dev_rotated", ciphertext=secret_box.seal("dev_rotated", "s-new"))

    # When the rotated record is opened / Then the new secret comes back
    assert secret_box.open(rotated) == "s-new"
    assert kms_calls.operations.count("Decrypt") == 2


def test_kms_outage_is_a_storage_error_not_a_credential_error(box, kms_calls):
    secret_box, _ = box
    panel = device("dev_outage", ciphertext=secret_box.seal("dev_outage", "s-outage"))
    kms_calls.fail_next = "Decrypt"

    with pytest.raises(StorageError):
        secret_box.open(panel)

    # and the next request works again
    assert secret_box.open(panel) == "s-outage"


def test_sealing_during_a_kms_outage_is_a_storage_error(box, kms_calls):
    secret_box, _ = box
    kms_calls.fail_next = "Encrypt"

    with pytest.raises(StorageError):
        secret_box.seal("dev_new", "s-new")
