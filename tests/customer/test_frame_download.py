"""A frame's download link (SPEC §6, §12): GET /v1/cameras/{camera_id}/frames/{frame_id} also answers `download_url`,
signed like image_url but as an attachment named `<camera name>_<capture time, Asia/Tokyo>.<ext>`: an ASCII
`filename` and an RFC 5987 `filename*` (UTF-8) for names such as Japanese ones, both safe as a file name and in the
header. moto does not check signatures (STACK-NOTES), so the test reads the URL we generate.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse
from zoneinfo import ZoneInfo

import pytest

from doti.clock import utcnow
from doti.contracts import registry
from tests.support import body_of, camera_consents
from tests.support.viewer import get_frame, ingest_frame, listed, owner_token, query_of

TOKYO = ZoneInfo("Asia/Tokyo")


def camera_named(world, name: str) -> str:
    now = utcnow()
    return registry.create_camera(world.contract_id, world.site_id, name, now, consents=camera_consents(now)).camera_id


@pytest.mark.parametrize(
    ("name", "ascii_name", "utf8_name"),
    [
        ("Entrance", "Entrance", "Entrance"),
        ("玄関カメラ", "camera", "玄関カメラ"),
        ('Back "door"/2: <yard>', "Back _door__2_ _yard", "Back _door__2_ _yard"),
        ("ｶﾒﾗ１ 北口", "1", "ｶﾒﾗ１ 北口"),
    ],
)
def test_the_download_is_an_attachment_named_for_the_camera_and_local_time(world, name, ascii_name, utf8_name):
    # Given a camera with that name and a frame of it
    camera_id = camera_named(world, name)
    captured = utcnow().replace(microsecond=250_000)
    frame = ingest_frame(world, captured_at=captured, camera_id=camera_id)

    # When the owner opens the frame
    response = get_frame(owner_token(world), camera_id, frame["frame_id"])
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)

    # Then download_url is signed for the same object as image_url, as an attachment
    download, image = body["download_url"], body["image_url"]
    assert urlparse(download).path == urlparse(image).path
    params = query_of(download)
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Expires"] == query_of(image)["X-Amz-Expires"]
    assert params["response-content-type"] == "image/jpeg"
    disposition = params["response-content-disposition"]
    local = captured.astimezone(TOKYO).strftime("%Y-%m-%d_%H-%M-%S")
    # with an ASCII fallback and the UTF-8 name, free of quotes, slashes and control characters
    assert disposition.startswith("attachment; ")
    assert f'filename="{ascii_name}_{local}.jpg"' in disposition
    star = disposition.split("filename*=", 1)[1].split(";", 1)[0]
    assert star.startswith("UTF-8''")
    assert unquote(star.removeprefix("UTF-8''"), encoding="utf-8") == f"{utf8_name}_{local}.jpg"
    assert all(32 <= ord(c) < 127 for c in disposition)  # a header value


def test_only_the_single_frame_carries_a_download_link(world):
    frame = ingest_frame(world)
    token = owner_token(world)
    assert "download_url" not in listed(token, world.camera_id)["items"][0]
    assert "download_url" in body_of(get_frame(token, world.camera_id, frame["frame_id"]))
