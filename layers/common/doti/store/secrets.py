"""Device secrets sealed with KMS: the ciphertext is bound to the device id (the encryption context), so a secret
copied onto another device's record does not open."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from doti.entities import Device
from doti.errors import StorageError, Unauthorized


class SecretBox:
    """Seals device secrets with KMS (encryption context = device id) and caches opened ones briefly.

    The cache is keyed by ciphertext, so a rotated secret is never served stale; revocation is checked on the
    device record, which is read on every request.
    """

    def __init__(self, kms: Any, key_id: str, ttl_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self._kms = kms
        self._key_id = key_id
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[bytes, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def seal(self, device_id: str, secret: str) -> bytes:
        try:
            response = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext={"device_id": device_id}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not seal the device secret") from exc
        return response["CiphertextBlob"]

    def open(self, device: Device) -> str:
        blob = device.secret_ciphertext
        now = self._clock()
        with self._lock:
            hit = self._cache.get(blob)
            if hit and hit[0] > now:
                return hit[1]
        try:
            response = self._kms.decrypt(CiphertextBlob=blob, EncryptionContext={"device_id": device.device_id})
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("InvalidCiphertextException", "IncorrectKeyException"):
                raise Unauthorized("invalid device credentials") from exc
            raise StorageError("could not open the device secret") from exc
        except BotoCoreError as exc:
            raise StorageError("could not open the device secret") from exc
        secret = response["Plaintext"].decode()
        with self._lock:
            self._cache[blob] = (now + self._ttl, secret)
        return secret
