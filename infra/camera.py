"""A simulated camera: the alarm device at the demo site posting an OpenCV-drawn frame every few seconds.

It goes through the real signed device route over HTTP, exactly as a device in the field would. The scene is static
except when someone walks past (walker_position), so the viewer's activity filter has something to find.
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

import numpy as np

from doti.auth.device import signed_headers
from doti.clock import format_rfc3339
from infra.drawing import draw_frame, encode_jpeg

log = logging.getLogger("doti.local.camera")
FRAMES_PATH = "/v1/device/frames"
LABEL = "doti demo camera"
SIZE = (1280, 720)

# Once every WALK_PERIOD frames (a minute at the default 5 s interval) someone walks past: in full view in one frame,
# stepping out at the far edge in the next, alternately left to right and right to left. One frame in six has the
# person. The step out leaves only a sliver in view, so the empty scene that follows differs from it by less than the
# activity threshold: the viewer's activity filter lists the frames with the person, and none of the empty ones.
# The walk starts at the second frame (the first has nothing to be compared with), so a freshly started stack has
# frames with activity within seconds.
WALK_PERIOD = 12
WALK = (0.4, 1.03)  # the person's centre in the pass's frames, as a fraction of the width, walking left to right


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


def walker_position(frame_number: int) -> float | None:
    """Where the person walking past is in the camera's frame `frame_number` (counted from 0), or None if nobody is."""
    step = frame_number % WALK_PERIOD - 1
    if not 0 <= step < len(WALK):
        return None
    left_to_right = (frame_number // WALK_PERIOD) % 2 == 0
    return WALK[step] if left_to_right else 1 - WALK[step]


def camera_frame(frame_number: int, when: datetime, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The scene the simulated camera sees in its frame `frame_number`, taken at `when`."""
    return draw_frame(*size, label=LABEL, when=when, walker=walker_position(frame_number))


class SimulatedCamera:
    def __init__(self, creds: DeviceCredentials, *, interval: float = 5.0, size: tuple[int, int] = SIZE):
        self._creds = creds
        self._interval = interval
        self._size = size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulated-camera", daemon=True)
        self._frame_number = 0
        self.sent = 0

    def send_one(self) -> tuple[int, dict[str, Any]]:
        now = datetime.now(UTC)
        image = camera_frame(self._frame_number, now, self._size)
        self._frame_number += 1  # counted whether or not the frame gets through: the walk keeps its timing
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
