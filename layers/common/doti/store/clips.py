"""Masked clips in S3 and the clip function's invocation (doti.ingest.clips): the source downloaded, the encode
staged and taken back, and the encoder that asks the deployed clip function. SDK errors become StorageError, which
the callers retry: a failed invoke never leaves a half-stored clip, as nothing is stored before the encode is back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError
from doti.ingest.clips import ClipJob, EncodedClip, from_answer
from doti.store import keys
from doti.store.objects import Storage

STAGED_TAGGING = keys.retention_tagging(1)  # the one-day rule takes what a crashed caller left
MP4 = "video/mp4"


class ClipEncoderFailed(StorageError):
    """The clip function failed (an error, a timeout, a throttle): the caller's record is retried."""

    code = "clip_encoder_failed"


def download(storage: Storage, key: str, path: Path) -> None:
    """The object at `key` written to `path` (a clip may be hundreds of megabytes: streamed, not held)."""
    try:
        body = storage.s3.get_object(Bucket=storage.bucket, Key=key)["Body"]
        with path.open("wb") as file:
            for chunk in body.iter_chunks(1024 * 1024):
                file.write(chunk)
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not read the clip to mask", key=key) from exc


def stage(storage: Storage, key: str, path: Path) -> None:
    """The encode at `path` written to its staging key, tagged for the one-day lifecycle rule."""
    try:
        with path.open("rb") as file:
            storage.s3.put_object(Bucket=storage.bucket, Key=key, Body=file, ContentType=MP4, Tagging=STAGED_TAGGING)
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not stage the masked clip", key=key) from exc


def take_staged(storage: Storage, clip: EncodedClip) -> bytes:
    """The staged encode's bytes, checked against the size and digest the encoder answered, then deleted."""
    try:
        data = storage.s3.get_object(Bucket=storage.bucket, Key=clip.key)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not read the masked clip", key=clip.key) from exc
    if len(data) != clip.size or hashlib.sha256(data).hexdigest() != clip.sha256:
        raise StorageError("the staged clip is not the one the clip function encoded", key=clip.key)
    try:
        storage.s3.delete_object(Bucket=storage.bucket, Key=clip.key)
    except (ClientError, BotoCoreError) as exc:
        raise StorageError("could not delete the staged clip", key=clip.key) from exc
    return data


class LambdaClipEncoder:
    """Asks the deployed clip function (CLIP_FUNCTION_NAME), synchronously, and takes its encode back."""

    def __init__(self, client: Any, function_name: str, storage: Storage) -> None:
        self._client = client
        self._function_name = function_name
        self._storage = storage

    def encode(self, job: ClipJob) -> bytes:
        try:
            response = self._client.invoke(
                FunctionName=self._function_name, Payload=json.dumps(job.to_event()).encode()
            )
            answer = json.loads(response["Payload"].read())
        except (ClientError, BotoCoreError, ValueError) as exc:
            raise ClipEncoderFailed("the clip function could not be invoked") from exc
        if response.get("FunctionError"):
            message = answer.get("errorMessage") if isinstance(answer, dict) else None
            raise ClipEncoderFailed("the clip function failed", error=response["FunctionError"], detail=message)
        try:
            clip = from_answer(answer)  # CorruptImage passes: the source does not decode
        except (KeyError, TypeError, ValueError) as exc:
            raise ClipEncoderFailed("the clip function answered something else than a clip") from exc
        return take_staged(self._storage, clip)
