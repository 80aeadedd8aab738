"""Data access for requests asked again: the record that answered a request, kept under the request's identity.

A customer or staff member who gets an error, or no answer, asks again. When the first request did its work after
all, the second must find that work rather than do it twice: the record it made (an export, a disclosure) is named
here, in the same transaction as the record itself, and the request asked again reads it back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pynamodb.exceptions import PynamoDBException
from pynamodb.transactions import TransactWrite

from doti.errors import StorageError
from doti.store.models import AnsweredRequestModel


def request_key(kind: str, *identity: str | None) -> str:
    """The key of a request of `kind` ("export", "disclosure") by what makes two such requests the same one."""
    canonical = json.dumps([kind, *identity], separators=(",", ":"), ensure_ascii=False)
    return f"{kind}#{hashlib.sha256(canonical.encode()).hexdigest()}"


def answer_of(key: str) -> str | None:
    """The id of the record that last answered the request, if one is named."""
    try:
        return AnsweredRequestModel.get(key, consistent_read=True).answer_id
    except AnsweredRequestModel.DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StorageError("could not read the request") from exc


def add_answer(
    transaction: TransactWrite, key: str, answer_id: str, *, expires_at: datetime, replacing: str | None
) -> None:
    """Name `answer_id` as the request's answer, in the transaction that stores it, on condition that the request is
    still answered by `replacing` (None: by nothing), so that two requests at once make one record: the other's
    transaction is cancelled, and, read again, the request finds this one."""
    item = AnsweredRequestModel(id=key, answer_id=answer_id, expires_at=int(expires_at.timestamp()))
    unchanged = (
        AnsweredRequestModel.id.does_not_exist() if replacing is None else AnsweredRequestModel.answer_id == replacing
    )
    transaction.save(item, condition=unchanged)
