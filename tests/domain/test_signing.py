"""Presigned GET URLs (SPEC §6): doti.signing signs them itself for speed, so every URL must be exactly the one
botocore's generate_presigned_url makes (SigV4, X-Amz-Expires = the TTL, the response content type and disposition),
and where it cannot be sure of that, botocore makes it. No AWS call is involved: signing is local."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.config import Config
from botocore.credentials import Credentials

from doti.store.aws import boto3_session, botocore_session, s3_client
from doti.store.signing import QuerySigner, presign_get

BUCKET = "doti-frames-test"
KEYS = [
    "frames/ctr_1/cam_2/2026/11/25/frm_01JD.jpg",
    "thumbs/a b/ü€/+=&?#%.jpg",  # what S3 keys may hold, each encoded as botocore encodes it
    "~tilde/'quote'!(x)*,;:@$.png",
]


def botocore_url(s3: Any, key: str, ttl: int, content_type: str, disposition: str) -> str:
    return s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": BUCKET,
            "Key": key,
            "ResponseContentType": content_type,
            "ResponseContentDisposition": disposition,
        },
        ExpiresIn=ttl,
    )


def both_urls(
    s3: Any, key: str, *, ttl: int = 300, filename: str = "f.jpg", disposition: str = "inline"
) -> tuple[str, str]:
    """doti's and botocore's URL for the same request, signed within the same second (both read the clock)."""
    for _ in range(5):
        ours = presign_get(
            s3,
            BUCKET,
            key,
            content_type="image/jpeg",
            filename=filename,
            ttl_seconds=ttl,
            now=datetime.now(UTC),
            disposition=disposition,
        ).url
        theirs = botocore_url(s3, key, ttl, "image/jpeg", f'{disposition}; filename="{filename}"')
        if parse_qs(urlsplit(ours).query)["X-Amz-Date"] == parse_qs(urlsplit(theirs).query)["X-Amz-Date"]:
            return ours, theirs
    raise AssertionError("never signed within one second")


def local_endpoint_client() -> Any:
    """As the local stack makes it: a plain-HTTP endpoint with a port, so URLs are path-style."""
    return boto3_session().client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:4566", config=Config(signature_version="s3v4")
    )


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(
    "client", [lambda: s3_client("us-east-1"), lambda: s3_client("eu-west-1"), local_endpoint_client]
)
def test_presigned_url_is_byte_for_byte_botocores(client, key):
    # Given the service's S3 client (AWS, another region, or the local stack's endpoint), which doti signs for itself
    s3 = client()
    assert QuerySigner.matching_botocore(s3, BUCKET, botocore_session().get_credentials()) is not None

    # When a URL is presigned, inline and as an attachment, with a filename that needs encoding
    for disposition in ("inline", "attachment"):
        ours, theirs = both_urls(s3, key, ttl=120, filename='frm "1" ü.jpg', disposition=disposition)

        # Then it is exactly the URL botocore makes
        assert ours == theirs


def test_presigned_url_is_sigv4_with_the_ttl_and_response_headers():
    # When a frame's URL is presigned for 120 s
    ours, _ = both_urls(s3_client("us-east-1"), KEYS[0], ttl=120, filename="frm_01JD.jpg")

    # Then it is a SigV4 query signature that S3 checks against the TTL, answering with the type and disposition
    query = {name: values[0] for name, values in parse_qs(urlsplit(ours).query).items()}
    assert urlsplit(ours).path == "/" + KEYS[0]
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "120"
    assert query["X-Amz-SignedHeaders"] == "host"
    assert query["X-Amz-Credential"].endswith("/us-east-1/s3/aws4_request")
    assert len(query["X-Amz-Signature"]) == 64
    assert query["response-content-type"] == "image/jpeg"
    assert query["response-content-disposition"] == 'inline; filename="frm_01JD.jpg"'
    assert "Signature" not in query  # not the legacy SigV2 form


def test_presigned_url_reports_its_expiry_from_the_request_time():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    signed = presign_get(
        s3_client("us-east-1"), BUCKET, KEYS[0], content_type="image/png", filename="f.png", ttl_seconds=300, now=now
    )
    assert signed.expires_at == now + timedelta(seconds=300)


def test_signature_matches_the_aws_documentation_example():
    # Given the example of AWS's "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)"
    signer = QuerySigner(
        "https://examplebucket.s3.amazonaws.com",
        "/",
        "us-east-1",
        Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    )

    # When its GET of test.txt is signed for 86400 s at 20130524T000000Z
    url = signer.url("test.txt", (), 86400, "20130524T000000Z")

    # Then the signature is the documented one
    assert url.endswith("&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")


def test_temporary_credentials_sign_their_session_token_as_botocore_does():
    # Given a client with temporary credentials (as on Lambda: a key, a secret and a session token)
    credentials = Credentials("ASIATESTKEY", "test-secret/with+chars", "token/with+and=")
    s3 = boto3_session().client(
        "s3",
        region_name="us-east-1",
        config=Config(signature_version="s3v4"),
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )

    # When a signer is built for it / Then it reproduces botocore's URL, token included
    signer = QuerySigner.matching_botocore(s3, BUCKET, credentials)
    assert signer is not None
    params = (("response-content-type", "image/jpeg"), ("response-content-disposition", 'inline; filename="f.jpg"'))
    for key in KEYS:
        theirs = botocore_url(s3, key, 600, "image/jpeg", 'inline; filename="f.jpg"')
        amz_date = parse_qs(urlsplit(theirs).query)["X-Amz-Date"][0]
        assert signer.url(key, params, 600, amz_date) == theirs
        assert parse_qs(urlsplit(theirs).query)["X-Amz-Security-Token"] == [credentials.token]


def test_a_client_with_other_credentials_than_the_service_gets_botocores_urls():
    # Given a client whose credentials are not the service's own (the signer could not reproduce its URLs)
    s3 = boto3_session().client(
        "s3",
        region_name="us-east-1",
        config=Config(signature_version="s3v4"),
        aws_access_key_id="AKIAOTHER",
        aws_secret_access_key="other-secret",
    )
    assert QuerySigner.matching_botocore(s3, BUCKET, Credentials("testing", "testing")) is None

    # When a URL is presigned with it / Then botocore made it, with that client's credentials
    ours, theirs = both_urls(s3, KEYS[0])
    assert ours == theirs
    assert parse_qs(urlsplit(ours).query)["X-Amz-Credential"][0].startswith("AKIAOTHER/")
