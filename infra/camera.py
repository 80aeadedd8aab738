"""A simulated camera: the alarm device at the demo site posting an OpenCV-drawn frame every few seconds.

It goes through the real signed device route over HTTP, exactly as a device in the field would.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from infra.drawing import draw_frame, encode_jpeg

log = logging.getLogger("doti.local.camera")
FRAMES_PATH = "/v1/device/frames"


@dataclass(frozen=True)
class DeviceCredentials:
    api_url: str
    device_id: str
    device_secret: str
    camera_id: str


def post_frame(
    creds: DeviceCredentials, body: bytes, *, captured_at: datetime, frame_id: str, content_type: str = "image/jpeg"
) -> tuple[int, dict[str, Any]]:
    """Send one frame like a device does; returns the status and the JSON answer."""
    now = datetime.now(UTC)
    headers = {
        **signed_headers(creds.device_id, creds.device_secret, "POST", FRAMES_PATH, body, now),
        "Content-Type": content_type,
        "X-Doti-Camera": creds.camera_id,
        "X-Doti-Captured-At": format_rfc3339(captured_at),
        "X-Doti-Frame-Id": frame_id,
    }
    request = urllib.request.Request(creds.api_url + FRAMES_PATH, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class SimulatedCamera:
    def __init__(self, creds: DeviceCredentials, *, interval: float = 5.0, size: tuple[int, int] = (1280, 720)):
        self._creds = creds
        self._interval = interval
        self._size = size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulated-camera", daemon=True)
        self.sent = 0

    def send_one(self) -> tuple[int, dict[str, Any]]:
        now = datetime.now(UTC)
        image = draw_frame(*self._size, label="doti demo camera", when=now)
        status, body = post_frame(
            self._creds, encode_jpeg(image), captured_at=now, frame_id=f"sim-{int(now.timestamp() * 1000)}"
        )
        if status in (200, 201):
            self.sent += 1
        else:
            log.warning("camera frame refused: %s %s", status, body)
        return status, body

    def _run(self) -> None:
        while True:
            try:
                self.send_one()
            except (OSError, ValueError):
                log.exception("camera could not send a frame")
            if self._stop.wait(self._interval):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
