"""Process-wide collaborators built from the settings, once per cold start (tests call `reset()`)."""

from __future__ import annotations

from functools import cache

from doti.settings import get_settings
from doti.store.aws import kms_client, reset_clients, s3_client, ses_client_sending_once, sqs_client
from doti.store.mail import SesMailer
from doti.store.objects import Storage
from doti.store.remask import SqsJobQueue
from doti.store.secrets import SecretBox


@cache
def storage() -> Storage:
    settings = get_settings()
    return Storage(s3=s3_client(settings.region), bucket=settings.frames_bucket)


@cache
def secret_box() -> SecretBox:
    settings = get_settings()
    return SecretBox(kms_client(settings.region), settings.device_secrets_key_id)


@cache
def mailer() -> SesMailer:
    """The mailer of notices (doti.notices): botocore never resends a mail of it, as SES would send it twice; a mail
    whose answer was lost raises MailUnconfirmed instead, and is not sent again."""
    settings = get_settings()
    return SesMailer(ses_client_sending_once(settings.region), settings.mail_sender)


@cache
def receipt_mailer() -> SesMailer:
    """A mailer that botocore never resends a mail of: for the deletion receipt, sent at most once (doti.purge)."""
    settings = get_settings()
    return SesMailer(ses_client_sending_once(settings.region), settings.mail_sender)


@cache
def remask_queue() -> SqsJobQueue:
    settings = get_settings()
    return SqsJobQueue(sqs_client(settings.region), settings.remask_queue_url)


def reset() -> None:
    """Forget settings, clients and caches, e.g. after a test changes the environment or the AWS endpoint."""
    get_settings.cache_clear()
    storage.cache_clear()
    secret_box.cache_clear()
    mailer.cache_clear()
    receipt_mailer.cache_clear()
    remask_queue.cache_clear()
    reset_clients()
