"""Clip: masked clips as H.264 (issue 17.3; doti.ingest.clips). Invoked synchronously by the processor and the remask
function with a ClipJob: the source clip's key, the frame size, rate and count the caller decoded, and the mask as a
bitmap. Answers the staged encode's key, size, SHA-256, frame count and duration, or a corrupt_image error for a
source that does not decode as the caller found it. Anything else raises: the caller's invoke fails, and its record
is retried.

Carries the video layer (PyAV with libx264, numpy) and no OpenCV, which is why it is a function of its own.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.errors import CorruptImage
from doti.ingest import clip_encoding
from doti.ingest.clips import ClipJob, error_answer
from doti.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    job = ClipJob.from_event(event)
    logger.append_keys(source_key=job.source_key, staging_key=job.staging_key)
    try:
        clip = clip_encoding.encode_job(job, runtime.storage())
    except CorruptImage as exc:
        metrics.add_metric(name="ClipsCorrupt", unit=MetricUnit.Count, value=1)
        logger.warning("the clip does not decode as its caller found it", extra={"error": exc.message})
        return error_answer(exc)
    metrics.add_metric(name="ClipsEncoded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ClipMegapixelsEncoded", unit=MetricUnit.Count, value=job.pixels / 1e6)
    logger.info("masked clip encoded", extra={"size": clip.size, "frames": clip.frame_count, "preset": clip.preset})
    return clip.to_answer()
