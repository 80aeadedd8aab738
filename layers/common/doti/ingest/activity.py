"""Activity scores (SPEC §4): how much a frame differs from the camera's previous one. Pure, no AWS, no OpenCV.

Each frame has a signature: its thumbnail shrunk to 16x12 grayscale pixels (doti.ingest.imaging.signature_of), taken
after any privacy mask, so movement under a mask never counts. A frame's score is the mean absolute difference between
its signature and the one the camera last stored, scaled to 0..100 (0: identical, 100: black to white everywhere).
Averaging over 40x40-pixel cells at 1280x720 smooths out sensor noise and JPEG artefacts, so a static scene scores
well under 1, while an object covering a few percent of the view scores several points.

"Previous" is the newest frame (by capture time) the camera had stored when this one arrived: a frame that arrives
late is compared with the newest, and never moves the camera's signature backwards.

A camera's first frame, and a frame whose previous signature is unknown (frames stored before scores existed), has
no score (None), not 0: nothing was compared, and a listing filtered on activity leaves it out.
"""

from __future__ import annotations

from doti.errors import ValidationError

DEFAULT_THRESHOLD = 2.0  # about a person at a few metres in a 1280x720 view, well above noise (< 1)
# frame.activity (doti.ingest.camera_events): at most one event per this many minutes and camera, unless staff set it
DEFAULT_EVENT_MINUTES = 10
MIN_EVENT_MINUTES, MAX_EVENT_MINUTES = 1, 1440
MAX_SCORE = 100.0
_DECIMALS = 2


def score(previous: bytes | None, current: bytes) -> float | None:
    """The activity score of `current` against `previous` (signatures of the same size), or None if there is no
    previous signature or its size differs (a signature format this code does not know)."""
    if not previous or len(previous) != len(current):
        return None
    total = sum(abs(a - b) for a, b in zip(previous, current, strict=True))
    return round(total * MAX_SCORE / (255 * len(current)), _DECIMALS)


def effective_threshold(threshold: float | None) -> float:
    """The camera's threshold, or the default for a camera staff have not tuned."""
    return DEFAULT_THRESHOLD if threshold is None else threshold


def validate_threshold(threshold: float) -> float:
    if not 0 <= threshold <= MAX_SCORE:
        raise ValidationError(
            f"the activity threshold is a score between 0 and {MAX_SCORE:g}",
            problems=[{"field": "threshold", "problem": f"must be between 0 and {MAX_SCORE:g}"}],
        )
    return round(float(threshold), _DECIMALS)


def effective_event_minutes(minutes: int | None) -> int:
    """The camera's frame.activity debounce in minutes, or the default for a camera staff have not tuned."""
    return DEFAULT_EVENT_MINUTES if minutes is None else int(minutes)


def validate_event_minutes(minutes: int) -> int:
    if not MIN_EVENT_MINUTES <= minutes <= MAX_EVENT_MINUTES:
        raise ValidationError(
            f"event_minutes is {MIN_EVENT_MINUTES} to {MAX_EVENT_MINUTES}",
            problems=[
                {"field": "event_minutes", "problem": f"must be between {MIN_EVENT_MINUTES} and {MAX_EVENT_MINUTES}"}
            ],
        )
    return int(minutes)
