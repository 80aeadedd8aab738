"""Sending e-mail through SES, with SDK errors told apart as doti.mail describes (sent, not sent, unknown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, SSLError

from doti.errors import StorageError
from doti.mail import MailUnconfirmed


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
        except ClientError as exc:  # SES answered: not sent
            raise StorageError("could not send the e-mail") from exc
        except (HTTPClientError, SSLError) as exc:  # sent, and the answer lost (read timeout, connection dropped)
            raise MailUnconfirmed("the e-mail may have been sent; its answer was lost") from exc
        except BotoCoreError as exc:  # never sent: no connection (refused, timed out), credentials, parameters
            raise StorageError("could not send the e-mail") from exc
        return now
