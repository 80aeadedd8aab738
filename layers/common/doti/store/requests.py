"""Data access for requests asked again: which record answered a request, kept under the request's identity.

A customer or staff member who gets an error, or no answer, asks again. When the first request did its work after
all, the second must find that work rather than do it twice: the record it made (an export, a disclosure) is named
here, in the same transaction as the record itself, and the request asked again reads it back.

The item names the record without holding its id, or anything else of the contract, in readable form: its key is a
digest of the request, and it holds a random nonce from which the record's id is derived. So a purge of the
contract, which cannot find these items, leaves nothing of it readable here; they expire on their own (TTL).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import datetime

from pynamodb.exceptions import PynamoDBException
from pynamodb.transactions import TransactWrite

from doti.errors import StorageError
from doti.store.models import AnsweredRequestModel


def request_key(kind: str, *identity: str | None) -> str:
    """The key of a request of `kind` ("export", "disclosure") by what makes two such requests the same one."""
    canonical = json.dumps([kind, *identity], separators=(",", ":"), ensure_ascii=False)
    return f"{kind}#{hashlib.sha256(canonical.encode()).hexdigest()}"


def new_nonce() -> str:
    return secrets.token_hex(16)


def answer_id(prefix: str, key: str, nonce: str) -> str:
    """The id of the record that answers the request `key` under `nonce`: the shape of doti.ids.new_id (a prefix and
    20 characters of [a-z2-7], 100 bits), derived, so that the item needs only the nonce to name it."""
    digest = hashlib.sha256(f"{key}\n{nonce}".encode()).digest()
    return f"{prefix}_{base64.b32encode(digest[:15]).decode().lower()[:20]}"


def answering_nonce(key: str) -> str | None:
    """The nonce of the record that last answered the request, if one is named."""
    try:
        return AnsweredRequestModel.get(key, consistent_read=True).nonce
    except AnsweredRequestModel.DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the request") from exc


def add_answer(
    transaction: TransactWrite, key: str, nonce: str, *, expires_at: datetime, replacing: str | None
) -> None:
    """Name the record of `nonce` as the request's answer, in the transaction that stores it, on condition that the
    request is still answered under `replacing` (None: by nothing), so that two requests at once make one record:
    the other's transaction is cancelled, and, read again, the request finds this one."""
    item = AnsweredRequestModel(id=key, nonce=nonce, expires_at=expires_at)
    unchanged = (
        AnsweredRequestModel.id.does_not_exist() if replacing is None else AnsweredRequestModel.nonce == replacing
    )
    transaction.save(item, condition=unchanged)
