"""Privacy masks set on a camera, and reading the masked pixels of a stored image."""

from __future__ import annotations

from typing import Any

import boto3
import cv2
import numpy as np

from infra.provision import Provisioned
from tests.support import World, admin_call

# The middle of the view: x and y from a quarter to three quarters of the image.
CENTRE = [[[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]]


JPEG_BLOCK = 16  # a JPEG's 4:2:0 blocks span 16 pixels: only blocks wholly inside the mask decode to exactly 0


def set_mask(world: World, polygons: Any, key: str | None = None, reason: str = "neighbour's window") -> dict:
    return admin_call(
        "PUT",
        f"/v1/admin/cameras/{world.camera_id}/privacy-mask",
        key or world.staff_key,
        {"polygons": polygons, "reason": reason},
    )


def stored_object(aws: Provisioned, key: str) -> tuple[bytes, dict[str, str]]:
    response = boto3.client("s3", region_name="us-east-1").get_object(Bucket=aws.refs["FramesBucket"], Key=key)
    return response["Body"].read(), response["Metadata"]


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)


def region(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, margin: int = 0) -> np.ndarray:
    """The pixels of a normalized rectangle, shrunk by `margin` pixels on every side."""
    h, w = img.shape[:2]
    return img[round(y0 * h) + margin : round(y1 * h) - margin, round(x0 * w) + margin : round(x1 * w) - margin]
