"""E-mail to a contract's registered address through SES (notices, deletion receipts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from doti.errors import StorageError


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str, now: datetime) -> datetime:
        """Send a plain-text mail; returns when it counts as delivered (Art. 5-3: when sent)."""
        ...


@dataclass(frozen=True)
class SesMailer:
    ses: Any
    sender: str

    def send(self, to: str, subject: str, body: str, now: datetime) -> datetime:
        try:
            self.ses.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not send the e-mail") from exc
        return now
