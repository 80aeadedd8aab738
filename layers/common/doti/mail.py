"""E-mail to a contract's registered address through SES (notices, deletion receipts).

SES has no idempotency key: a SendEmail repeated after its answer was lost sends the mail twice. So a failed send is
told apart by whether the mail may have gone: SES answered with an error, or the connection was never made, and it
did not (StorageError: sending again is safe); the request went out and its answer did not come back, and it may
have (MailUnconfirmed: sending again could send it twice). doti's mailers (`doti.runtime.mailer` for notices,
`doti.runtime.receipt_mailer` for deletion receipts; doti.store.mail sends) use a client without botocore's retries,
which never resends by itself, so each sends at most once per call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from doti.errors import StorageError


class MailUnconfirmed(StorageError):
    """The request reached SES, or may have, and its answer was lost: the mail may have been sent."""


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str, now: datetime) -> datetime:
        """Send a plain-text mail; returns when it counts as delivered (Art. 5-3: when sent).

        Raises MailUnconfirmed when the mail may have been sent, any other DotiError when it was not.
        """
        ...
