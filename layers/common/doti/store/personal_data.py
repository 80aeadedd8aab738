"""Personal data of people who are not customers (a requester's contact, the link they are sent), sealed with KMS.

The encryption context names the request and what the value is ("contact", "link"): a ciphertext copied onto another
request, or into another field, does not open.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError


class PersonalDataBox:
    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def seal(self, request_id: str, field: str, value: str) -> bytes:
        try:
            response = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=value.encode(), EncryptionContext=_context(request_id, field)
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not seal personal data") from exc
        return response["CiphertextBlob"]

    def open(self, request_id: str, field: str, blob: bytes) -> str:
        try:
            response = self._kms.decrypt(CiphertextBlob=blob, EncryptionContext=_context(request_id, field))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not open personal data") from exc
        return response["Plaintext"].decode()


def _context(request_id: str, field: str) -> dict[str, str]:
    return {"subject_request": request_id, "field": field}
