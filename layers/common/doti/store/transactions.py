"""DynamoDB transactions: domain code composes them from store functions (`add_*(transaction, ...)`) and commits
them here, so it never handles PynamoDB itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from doti.errors import StorageError
from doti.store.models import AuditEntryModel

# What domain code passes to the store's `add_*` functions; only doti.store adds to it.
Transaction = TransactWrite


class NotCommitted(StorageError):
    """The transaction did not commit, or its answer was lost. `cancelled`: DynamoDB cancelled it because a
    condition did not hold (or a conflicting write), so it did not apply."""

    def __init__(self, message: str, *, cancelled: bool) -> None:
        super().__init__(message)
        self.cancelled = cancelled


def commit(add: Callable[[Transaction], None]) -> None:
    """Write what `add` puts into a transaction, all or nothing.

    The client request token makes DynamoDB treat a resend of the same transaction as the same for 10 minutes.
    """
    # Any model's connection serves: a transaction names its tables in its items.
    connection = AuditEntryModel._get_connection().connection
    try:
        with TransactWrite(connection=connection, client_request_token=uuid.uuid4().hex) as transaction:
            add(transaction)
    except TransactWriteError as exc:
        cancelled = getattr(exc, "cause_response_code", None) == "TransactionCanceledException"
        raise NotCommitted("could not write the transaction", cancelled=cancelled) from exc
