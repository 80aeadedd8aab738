"""Webhook signatures in the Standard Webhooks format (issue 16, point 3): what receivers check with the spec's
libraries. Our signer is compared with the spec's published vector and with the algorithm written out here from the
spec's text, not imported from doti."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from doti.errors import Unauthorized
from doti.webhooks import signing

NOW = 1_764_800_000  # a fixed Unix time: nothing here depends on the clock
BODY = b'{"type":"camera.offline","timestamp":"2025-12-03T22:13:20Z","data":{"camera_id":"cam_1"}}'
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
README = Path(__file__).resolve().parents[2] / "README.md"


def reference_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The spec's scheme ("Signature scheme", spec/standard-webhooks.md): HMAC-SHA256 keyed with the base64-decoded
    part after whsec_, over `{msg_id}.{timestamp}.{payload}`, written `v1,` + base64."""
    key = base64.b64decode(secret[len("whsec_") :])
    mac = hmac.new(key, msg_id.encode() + b"." + str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def reference_accepts(secret: str, received: dict[str, str], body: bytes) -> bool:
    expected = reference_signature(secret, received["webhook-id"], int(received["webhook-timestamp"]), body)
    return expected in received["webhook-signature"].split(" ")


def refusal(secret: str, received: dict[str, str], body: bytes = BODY, now: int = NOW) -> str:
    with pytest.raises(Unauthorized) as caught:
        signing.verify(secret, received, body, now=now)
    return caught.value.message


def test_the_specs_published_vector():
    # The reference Python library's vector: github.com/standard-webhooks/standard-webhooks,
    # libraries/python/tests/test_webhooks.py, test_sign_function.
    signature = signing.sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize(
    "body",
    [BODY, b"", b"\x00\xff binary . with dots", "日本語のイベント".encode(), b"x" * 100_000],
    ids=["json", "empty", "bytes", "utf-8", "large"],
)
def test_signatures_match_the_algorithm_written_from_the_spec(body: bytes):
    for _ in range(5):
        secret = signing.new_secret()
        timestamp = secrets.randbelow(2**33)
        assert signing.sign(secret, MSG_ID, timestamp, body) == reference_signature(secret, MSG_ID, timestamp, body)


def test_a_new_secret_is_whsec_and_32_random_bytes():
    made = [signing.new_secret() for _ in range(200)]
    assert len(set(made)) == 200
    for secret in made:
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_headers_carry_id_timestamp_and_one_signature_per_secret_in_rotation():
    old, new = signing.new_secret(), signing.new_secret()
    sent = signing.headers([new, old], MSG_ID, NOW, BODY)

    assert set(sent) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert sent["webhook-id"] == MSG_ID
    assert sent["webhook-timestamp"] == str(NOW)
    assert sent["webhook-signature"].split(" ") == [
        reference_signature(new, MSG_ID, NOW, BODY),
        reference_signature(old, MSG_ID, NOW, BODY),
    ]
    # Receivers still on the old secret and those already on the new one both accept it during the overlap.
    for secret in (old, new):
        assert reference_accepts(secret, sent, BODY)
        signing.verify(secret, sent, BODY, now=NOW)
    stranger = signing.new_secret()
    assert not reference_accepts(stranger, sent, BODY)
    assert refusal(stranger, sent) == "no webhook-signature matches"


def test_after_the_overlap_only_the_new_secret_signs():
    old, new = signing.new_secret(), signing.new_secret()
    sent = signing.headers([new], MSG_ID, NOW, BODY)
    signing.verify(new, sent, BODY, now=NOW)
    assert refusal(old, sent) == "no webhook-signature matches"


@pytest.mark.parametrize(
    ("header", "forged"),
    [
        ("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4X"),
        ("webhook-timestamp", str(NOW - 1)),
    ],
)
def test_a_changed_id_or_timestamp_is_refused(header: str, forged: str):
    secret = signing.new_secret()
    sent = signing.headers([secret], MSG_ID, NOW, BODY) | {header: forged}
    assert not reference_accepts(secret, sent, BODY)
    assert refusal(secret, sent) == "no webhook-signature matches"


@pytest.mark.parametrize("forged", [BODY.replace(b"offline", b"online"), BODY + b" ", BODY[:-1], b""])
def test_a_changed_body_is_refused(forged: bytes):
    secret = signing.new_secret()
    sent = signing.headers([secret], MSG_ID, NOW, BODY)
    assert not reference_accepts(secret, sent, forged)
    assert refusal(secret, sent, forged) == "no webhook-signature matches"


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_a_timestamp_within_300_seconds_of_now_is_accepted(offset: int):
    secret = signing.new_secret()
    signing.verify(secret, signing.headers([secret], MSG_ID, NOW + offset, BODY), BODY, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, NOW])
def test_a_timestamp_further_away_is_refused_even_with_a_good_signature(offset: int):
    secret = signing.new_secret()
    sent = signing.headers([secret], MSG_ID, NOW + offset, BODY)
    assert reference_accepts(secret, sent, BODY)
    assert refusal(secret, sent) == "webhook-timestamp is too far from now"


def test_the_tolerance_can_be_narrowed():
    secret = signing.new_secret()
    sent = signing.headers([secret], MSG_ID, NOW - 60, BODY)
    signing.verify(secret, sent, BODY, now=NOW, tolerance=60)
    with pytest.raises(Unauthorized):
        signing.verify(secret, sent, BODY, now=NOW, tolerance=59)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(missing: str):
    secret = signing.new_secret()
    sent = signing.headers([secret], MSG_ID, NOW, BODY)
    del sent[missing]
    assert refusal(secret, sent) == "a webhook needs webhook-id, webhook-timestamp and webhook-signature"


@pytest.mark.parametrize("timestamp", ["1764800000.0", "+1764800000", " 1764800000", "1e9", "ten"])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(timestamp: str):
    secret = signing.new_secret()
    sent = signing.headers([secret], MSG_ID, NOW, BODY) | {"webhook-timestamp": timestamp}
    assert refusal(secret, sent) == "webhook-timestamp is not a whole number of Unix seconds"


def test_header_names_are_matched_without_regard_to_case():
    secret = signing.new_secret()
    sent = {name.title(): value for name, value in signing.headers([secret], MSG_ID, NOW, BODY).items()}
    assert "Webhook-Signature" in sent
    signing.verify(secret, sent, BODY, now=NOW)


def test_other_schemes_and_malformed_entries_do_not_hide_a_good_signature():
    secret = signing.new_secret()
    good = signing.sign(secret, MSG_ID, NOW, BODY)
    encoded = good.removeprefix("v1,")
    listed = f"v1a,{encoded} v2,{encoded} v1,not*base64 v1 nonsense {good}"
    signing.verify(
        secret, {"webhook-id": MSG_ID, "webhook-timestamp": str(NOW), "webhook-signature": listed}, BODY, NOW
    )
    # The same signature under another scheme's name is not accepted as v1.
    only_other = {"webhook-id": MSG_ID, "webhook-timestamp": str(NOW), "webhook-signature": f"v1a,{encoded}"}
    assert refusal(secret, only_other) == "no webhook-signature matches"


@pytest.mark.parametrize("msg_id", ["msg.1", "", "msg 1", "m" * 129, "msg_ü"])
def test_a_message_id_that_could_blur_the_signed_content_is_not_signed(msg_id: str):
    # The signed content is "id.timestamp.body": a "." in the id would let two messages sign alike.
    with pytest.raises(ValueError, match="message id"):
        signing.sign(signing.new_secret(), msg_id, NOW, BODY)


@pytest.mark.parametrize("timestamp", [-1, 1.5, True, "1764800000"])
def test_a_timestamp_must_be_whole_non_negative_seconds(timestamp: Any):
    with pytest.raises(ValueError, match="timestamp"):
        signing.sign(signing.new_secret(), MSG_ID, timestamp, BODY)


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_" + base64.b64encode(bytes(23)).decode(),
        "whsec_" + base64.b64encode(bytes(65)).decode(),
        "whsec_not base64!",
        "whsec_",
    ],
    ids=["23 bytes", "65 bytes", "not base64", "empty"],
)
def test_a_secret_outside_the_specs_bounds_is_not_used(secret: str):
    with pytest.raises(ValueError, match="webhook secret"):
        signing.sign(secret, MSG_ID, NOW, BODY)


def test_signing_needs_a_secret():
    with pytest.raises(ValueError, match="at least one secret"):
        signing.headers([], MSG_ID, NOW, BODY)


def readme_verify_webhook() -> Any:
    """The receiver example of the README's "Webhooks and alerts", run as written."""
    section = README.read_text(encoding="utf-8").split("## Webhooks and alerts", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README's example, checked
    return namespace["verify_webhook"]


def test_the_readme_receiver_example_accepts_our_webhooks_and_refuses_forgeries():
    verify_webhook = readme_verify_webhook()
    old, new = signing.new_secret(), signing.new_secret()
    now = int(time.time())  # the example reads the clock itself; only the distance from it matters
    sent = signing.headers([new, old], MSG_ID, now, BODY)

    assert verify_webhook(new, sent, BODY)
    assert verify_webhook(old, sent, BODY)
    assert not verify_webhook(signing.new_secret(), sent, BODY)
    assert not verify_webhook(new, sent, BODY + b" ")
    assert not verify_webhook(new, sent | {"webhook-id": "msg_other"}, BODY)
    assert not verify_webhook(new, signing.headers([new], MSG_ID, now - 301, BODY), BODY)
    assert not verify_webhook(new, sent | {"webhook-timestamp": "²"}, BODY)
    # and it agrees with the spec's vector, given a tolerance wide enough for that vector's 2021 timestamp
    vector = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert verify_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", vector, b'{"test": 2432232314}', 10**10)
