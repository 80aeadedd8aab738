"""Synthetic camera frames for tests, the benchmark and the simulated camera: no fixtures checked in."""

from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np


def draw_frame(width: int, height: int, label: str, when: datetime, *, walker: float | None = None) -> np.ndarray:
    """A BGR frame with a gradient, a few shapes and `label` plus `when` burnt in like a CCTV overlay.

    With `walker`, a person stands in front of the scene, centred at that fraction of the width (outside 0..1: partly
    out of view).
    """
    # A gradient and shapes give the JPEG encoder realistic work; a flat frame compresses to nothing.
    xs = np.linspace(0, 255, width, dtype=np.float32)
    ys = np.linspace(0, 255, height, dtype=np.float32)
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[..., 0] = np.add.outer(ys * 0.6, xs * 0.2).astype(np.uint8)
    img[..., 1] = np.add.outer(ys * 0.3, xs * 0.5).astype(np.uint8)
    img[..., 2] = np.add.outer(ys * 0.1, xs * 0.7).astype(np.uint8)

    unit = min(width, height)
    cv2.rectangle(img, (width // 10, height // 5), (width // 3, height // 2), (40, 200, 40), -1)
    cv2.circle(img, (width * 2 // 3, height // 2), max(unit // 6, 2), (30, 30, 220), -1)
    cv2.line(img, (0, height - 1), (width - 1, height // 3), (250, 250, 250), max(unit // 200, 1))
    if walker is not None:
        _draw_person(img, round(walker * width))
    # Mild fixed-seed sensor noise: real frames carry texture, and decode cost grows with entropy.
    noise = np.random.default_rng(0).integers(-6, 7, size=img.shape, dtype=np.int8)
    img = cv2.add(img, noise, dtype=cv2.CV_8U)  # saturating, unlike numpy's wrap-around

    # Text scaled to the frame so the overlay stays legible from thumbnails to full HD.
    scale = max(unit / 720, 0.3)
    thickness = max(round(2 * scale), 1)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S")
    for row, text in enumerate((label, stamp), start=1):
        origin = (max(width // 40, 2), round(row * 40 * scale) + 2)
        cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return img


# A person close to the camera: three quarters of the frame's height. White shirt, dark trousers: the figure stands out
# from the mid-grey scene on either side (activity signatures are grayscale), so it scores well above
# doti.ingest.activity.DEFAULT_THRESHOLD anywhere in the view.
_SHIRT = (235, 235, 235)
_TROUSERS = (30, 26, 28)
_SKIN = (140, 165, 205)


def _draw_person(img: np.ndarray, centre_x: int) -> None:
    height = img.shape[0]
    tall = height * 0.75
    top = height * 0.97 - tall
    unit = tall / 100  # the figure is drawn on a 100-unit-tall grid

    def at(dx: float, dy: float) -> tuple[int, int]:
        return round(centre_x + dx * unit), round(top + dy * unit)

    leg, arm = max(round(10 * unit), 1), max(round(8 * unit), 1)
    for side in (-1, 1):  # mid-stride
        cv2.line(img, at(0, 52), at(11 * side, 97), _TROUSERS, leg, cv2.LINE_AA)
    torso = np.array([at(-13, 16), at(13, 16), at(10, 55), at(-10, 55)], dtype=np.int32)
    cv2.fillConvexPoly(img, torso, _SHIRT, cv2.LINE_AA)
    for side in (-1, 1):
        cv2.line(img, at(11 * side, 19), at(17 * side, 50), _SHIRT, arm, cv2.LINE_AA)
    cv2.ellipse(img, at(0, 8), (round(6.5 * unit), round(8 * unit)), 0, 0, 360, _SKIN, -1, cv2.LINE_AA)


def encode_jpeg(img: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes of a BGR (or grayscale) image."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not encode the image as JPEG")
    return buf.tobytes()


def encode_png(img: np.ndarray) -> bytes:
    """PNG bytes of a BGR, BGRA or grayscale image."""
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError("OpenCV could not encode the image as PNG")
    return buf.tobytes()
