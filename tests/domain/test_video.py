"""doti.ingest.video: MP4 clips validated and summarised with OpenCV (SPEC §4).

The clips are written by cv2.VideoWriter with the mp4v codec, which opencv-python-headless can both write and read
(it has no H.264 encoder); masked clips come out as H.264 (the clip encoder, doti.ingest.clips, in this process:
the source read from moto's S3, the encode staged there and taken back), read back here with PyAV.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from doti import runtime
from doti.errors import CorruptImage, PayloadTooLarge, UnsupportedMediaType, ValidationError
from doti.ingest import h264, imaging, mask_bitmap, video
from doti.ingest.h264 import H264Writer
from doti.ingest.image_types import ProcessedImage
from doti.ingest.imaging import SIGNATURE_SIZE, ImageLimits
from doti.ingest.masks import Polygons
from infra.drawing import encode_jpeg
from tests.support.video import clip, decode_all, with_zeroed_media_data

LIMITS = ImageLimits(max_bytes=4 * 1024 * 1024, max_pixels=3840 * 2160)
LEFT_HALF: Polygons = [[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]]


def process_masked(data: bytes, mask: Polygons = LEFT_HALF) -> ProcessedImage:
    """The clip processed under `mask`, its source stored where the clip encoder reads it (a stored original)."""
    storage = runtime.storage()
    key = f"frames/ctr_test/cam_test/{uuid.uuid4().hex}.mp4"
    storage.s3.put_object(Bucket=storage.bucket, Key=key, Body=data, ContentType="video/mp4")
    return video.process_clip(data, "video/mp4", LIMITS, mask, masking=video.ClipMasking(runtime.clip_encoder(), key))


def staged_keys() -> list[str]:
    storage = runtime.storage()
    listed = storage.s3.list_objects_v2(Bucket=storage.bucket, Prefix="staging/")
    return [o["Key"] for o in listed.get("Contents", [])]


def without_index(data: bytes) -> bytes:
    """The clip cut inside its moov box (OpenCV writes it last), as an interrupted recording leaves it."""
    return data[: data.index(b"moov") + 20]


def container_header(data: bytes) -> tuple[float, int]:
    """(frames per second, frame count) as the clip's container declares them."""
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "clip.mp4"
        path.write_bytes(data)
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        header = (capture.get(cv2.CAP_PROP_FPS), int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        capture.release()
    return header


def test_a_clip_is_summarised_from_every_frame():
    # Given a 2 s clip at 10 fps, 320x240
    data = clip(2.0, 10, 320, 240)

    # When it is processed
    processed = video.process_clip(data, "video/mp4", LIMITS)

    # Then the original is the bytes received, with their digest and size
    assert processed.content_type == "video/mp4"
    assert processed.original == data
    assert (processed.size, processed.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    # And the frame size, frame count and duration are the clip's
    assert (processed.width, processed.height) == (320, 240)
    assert (processed.frame_count, processed.duration_ms) == (20, 2000)
    # And the poster frame is the thumbnail: a JPEG of the first frame, long edge 320
    thumb = cv2.imdecode(np.frombuffer(processed.thumbnail, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape[:2] == (240, 320) == (processed.thumb_height, processed.thumb_width)
    first = decode_all(data)[0]
    assert float(np.abs(thumb.astype(int) - first.astype(int)).mean()) < 4  # JPEG of the same pixels
    assert len(processed.signature) == SIGNATURE_SIZE[0] * SIGNATURE_SIZE[1]


def test_a_large_clip_gets_a_thumbnail_of_long_edge_320():
    processed = video.process_clip(clip(1.0, 5, 1280, 720), "video/mp4", LIMITS)

    assert (processed.width, processed.height) == (1280, 720)
    assert (processed.thumb_width, processed.thumb_height) == (320, 180)
    assert (processed.frame_count, processed.duration_ms) == (5, 1000)


def test_process_media_sends_clips_to_video_and_stills_to_imaging():
    still = encode_jpeg(np.full((120, 160, 3), 128, dtype=np.uint8))

    assert video.process_media(clip(), "video/mp4", LIMITS).frame_count == 20
    processed = video.process_media(still, "image/jpeg", LIMITS)
    assert (processed.content_type, processed.frame_count, processed.duration_ms) == ("image/jpeg", None, None)


# refused before any frame is decoded


def test_bytes_without_an_ftyp_box_are_unsupported():
    still = encode_jpeg(np.full((120, 160, 3), 128, dtype=np.uint8))

    with pytest.raises(UnsupportedMediaType):
        video.process_clip(still, "video/mp4", LIMITS)
    with pytest.raises(UnsupportedMediaType):
        video.process_clip(b"\x00\x00\x00\x04ftyp" + clip()[8:], "video/mp4", LIMITS)  # a box size below 8


def test_a_clip_declared_as_a_still_is_refused_by_its_magic_bytes():
    with pytest.raises(UnsupportedMediaType):
        video.process_media(clip(), "image/jpeg", LIMITS)


def test_a_clip_over_the_byte_limit_is_too_large():
    data = clip()

    with pytest.raises(PayloadTooLarge) as refused:
        video.process_clip(data, "video/mp4", ImageLimits(max_bytes=len(data) - 1, max_pixels=LIMITS.max_pixels))

    assert refused.value.details["max_bytes"] == len(data) - 1


def test_frames_over_the_pixel_limit_are_too_large_from_the_header():
    with pytest.raises(PayloadTooLarge) as refused:
        video.process_clip(clip(), "video/mp4", ImageLimits(max_bytes=LIMITS.max_bytes, max_pixels=320 * 240 - 1))

    assert (refused.value.details["width"], refused.value.details["height"]) == (320, 240)


def test_a_clip_longer_than_the_decoding_budget_is_too_large(monkeypatch):
    # The budget is sized for the processor's timeout; a smaller one shows the check without a minute-long clip.
    monkeypatch.setattr(video, "MAX_DECODED_PIXELS", 19 * 320 * 240)

    with pytest.raises(PayloadTooLarge) as refused:
        video.process_clip(clip(), "video/mp4", LIMITS)

    assert refused.value.details["frame_count"] == 20


# corrupt clips


@pytest.mark.parametrize(
    "damage",
    [with_zeroed_media_data, without_index, lambda data: data[:32] + bytes(4096), lambda data: data[:8]],
    ids=["zeroed-frames", "cut-in-index", "garbage-after-ftyp", "only-ftyp"],
)
def test_a_clip_that_does_not_decode_is_corrupt(damage):
    with pytest.raises(CorruptImage):
        video.process_clip(damage(clip()), "video/mp4", LIMITS)


def test_an_empty_clip_is_corrupt():
    with pytest.raises(CorruptImage):
        video.process_clip(b"", "video/mp4", LIMITS)


# privacy mask


def test_a_masked_clip_is_re_encoded_with_every_frame_blacked_out_under_the_mask(aws):
    # Given a clip and a mask over its left half
    data = clip()

    # When it is processed under the mask
    processed = process_masked(data)

    # Then the stored original is a re-encoded clip, described by its own digest and size
    assert processed.original != data
    assert (processed.size, processed.sha256) == (
        len(processed.original),
        hashlib.sha256(processed.original).hexdigest(),
    )
    assert (processed.frame_count, processed.duration_ms) == (20, 2000)
    # And the re-encoded clip itself keeps the frame rate and frame count, so it plays for as long as the original
    assert container_header(processed.original) == (10.0, 20)
    # And every frame of it is black under the mask (up to the codec's rounding) and not elsewhere
    frames = decode_all(processed.original)
    assert len(frames) == 20
    for frame in frames:
        assert int(frame[:, :150].max()) <= 16
        assert int(frame[:, 170:].max()) > 100
    # And so is the poster thumbnail
    thumb = cv2.imdecode(np.frombuffer(processed.thumbnail, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    assert int(thumb[:, :150].max()) <= 16
    # And the encoder's staged copy is gone once taken back
    assert staged_keys() == []


def test_the_bitmap_the_clip_encoder_gets_hides_exactly_the_pixels_the_poster_hides():
    # Given a frame of noise and a slanted mask, whose edge pixels the rasterizer decides one by one
    frame = np.random.default_rng(7).integers(1, 256, size=(241, 321, 3), dtype=np.uint8)
    slanted: Polygons = [[[0.1, 0.05], [0.63, 0.2], [0.4, 0.93]], [[0.7, 0.7], [0.99, 0.72], [0.8, 0.99]]]

    # When the mask is rasterized for the clip encoder, sent as text and applied there with numpy alone
    text = mask_bitmap.pack(video.hidden_pixels(321, 241, slanted))
    blacked = frame.copy()
    blacked[mask_bitmap.unpack(text, 321, 241)] = 0

    # Then the frame is exactly what OpenCV's masking of the poster makes of it
    assert np.array_equal(blacked, imaging.apply_mask(frame, slanted))
    assert 0 < int((blacked == 0).all(axis=2).sum()) < 321 * 241


def test_a_bitmap_of_another_size_is_refused():
    text = mask_bitmap.pack(np.ones((240, 320), dtype=bool))
    with pytest.raises(ValidationError, match="not 321x240"):
        mask_bitmap.unpack(text, 321, 240)


def test_a_masked_clip_without_an_encoder_is_a_programming_error():
    with pytest.raises(ValueError, match="needs a clip encoder"):
        video.process_clip(clip(), "video/mp4", LIMITS, LEFT_HALF)


def test_a_masked_clip_is_h264_yuv420p_with_its_index_first_so_browsers_play_it_as_it_arrives(aws):
    # Given an mp4v clip, which no browser plays
    data = clip()

    # When it is processed under a mask
    masked = process_masked(data).original

    # Then the stored clip is H.264 in 4:2:0, the layout every browser's decoder takes, at the source's size
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "masked.mp4"
        path.write_bytes(masked)
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
            assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
            assert not container.streams.audio
    # And its index (moov) comes before the coded frames (mdat), so playback starts before the download ends
    assert masked.index(b"moov") < masked.index(b"mdat")


def test_frames_of_odd_size_are_padded_black_to_even_and_keep_every_pixel(tmp_path):
    # Given frames of 321x241 (a camera may send them; 4:2:0 chroma cannot hold an odd size), white but for the edges
    frames = [np.full((241, 321, 3), 255, dtype=np.uint8) for _ in range(5)]

    # When the H.264 writer encodes them
    path = tmp_path / "odd.mp4"
    with H264Writer(path, 10.0, (321, 241)) as writer:
        for frame in frames:
            writer.write(frame)

    # Then every frame decodes at 322x242: the picture whole, one black column and row added
    decoded = decode_all(path.read_bytes())
    assert len(decoded) == 5
    for frame in decoded:
        assert frame.shape[:2] == (242, 322)
        assert int(frame[:240, :320].min()) > 200
        assert int(frame[-1, :].max()) < 60
        assert int(frame[:, -1].max()) < 60


def test_the_h264_writer_refuses_a_frame_of_another_size(tmp_path):
    with (
        H264Writer(tmp_path / "clip.mp4", 10.0, (320, 240)) as writer,
        pytest.raises(ValueError, match="the writer's size is"),
    ):
        writer.write(np.zeros((360, 640, 3), dtype=np.uint8))


@pytest.mark.parametrize(("limit", "cabac"), [(10**9, b"cabac=1"), (1, b"cabac=0")])
def test_a_clip_over_the_veryfast_budget_is_encoded_at_ultrafast(aws, monkeypatch, limit, cabac):
    # Given a veryfast budget the clip fits, or one it passes
    monkeypatch.setattr(h264, "VERYFAST_MAX_PIXELS", limit)

    # When the clip is processed under a mask
    masked = process_masked(clip()).original

    # Then x264's settings, which it writes into the stream, are veryfast's (CABAC on) or ultrafast's (CABAC off)
    assert cabac in masked
