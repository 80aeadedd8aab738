"""Mails the functions sent, as moto's SES keeps them."""

from __future__ import annotations

from typing import Any

from moto.ses.models import ses_backends


def sent_mails() -> list[Any]:
    return ses_backends["123456789012"]["us-east-1"].sent_messages
