"""The cold start, and the process-wide collaborators built from the settings (tests call `reset()`).

Every handler starts with `init()`: the one place where the environment is validated and the data access bound to
it. Importing this module (or any doti module) does neither, nor makes an AWS client, so tests import handlers
before moto and the environment exist.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from doti.ingest.clips import ClipEncoder
from doti.settings import Settings, SettingsError, get_settings
from doti.store import bind_models
from doti.store.anchors import DigestStore
from doti.store.aws import (
    kms_client,
    lambda_client,
    reset_clients,
    s3_client,
    ses_client_sending_once,
    sqs_client,
)
from doti.store.clips import LambdaClipEncoder
from doti.store.events import EventSink, NoEvents, SqsEventQueue
from doti.store.mail import SesMailer
from doti.store.objects import Storage
from doti.store.personal_data import PersonalDataBox
from doti.store.remask import SqsJobQueue
from doti.store.secrets import SecretBox
from doti.store.signing import RenderLinks
from doti.store.webhooks import SqsDeliveries, WebhookSecretBox

if TYPE_CHECKING:
    from doti.webhooks.dispatch import Deliverer

# The settings the models were last bound to; a lock, as the local stack serves first requests on several threads.
_bound: list[Settings] = []
_INIT_LOCK = threading.Lock()
# The clip encoder where no clip function is deployed (encode_clips_in_process): a factory given the storage.
_in_process_clip_encoder: list[Callable[[Storage], ClipEncoder]] = []


def init() -> Settings:
    """The cold start: validate the environment and bind the PynamoDB models to its tables; the validated Settings.

    Raises SettingsError naming each missing or malformed variable. Only the first call of an execution environment
    (and the first after `reset()`) does the work; later calls return the same Settings."""
    with _INIT_LOCK:
        settings = get_settings()
        if not _bound or _bound[0] is not settings:
            bind_models(settings)
            _bound[:] = [settings]
        return settings


@cache
def storage() -> Storage:
    settings = get_settings()
    links = render_links() if settings.thumbnails_url else None
    return Storage(s3=s3_client(settings.region), bucket=settings.frames_bucket, render_links=links)


@cache
def render_links() -> RenderLinks:
    """The thumbnail links' signer and verifier (the renderer verifies only: it has no THUMBNAILS_URL of its own)."""
    settings = get_settings()
    if not settings.thumbnail_links_key_id:
        raise SettingsError("missing environment variables: THUMBNAIL_LINKS_KEY_ID")
    return RenderLinks(kms_client(settings.region), settings.thumbnail_links_key_id, settings.thumbnails_url)


@cache
def secret_box() -> SecretBox:
    settings = get_settings()
    return SecretBox(kms_client(settings.region), settings.device_secrets_key_id)


@cache
def personal_data_box() -> PersonalDataBox:
    settings = get_settings()
    return PersonalDataBox(kms_client(settings.region), settings.personal_data_key_id)


@cache
def mailer() -> SesMailer:
    """The mailer of notices (doti.contracts.notices): botocore never resends a mail of it, as SES would send it twice;
    a mail whose answer was lost raises MailUnconfirmed instead, and is not sent again."""
    settings = get_settings()
    return SesMailer(ses_client_sending_once(settings.region), settings.mail_sender)


@cache
def receipt_mailer() -> SesMailer:
    """A mailer that botocore never resends a mail of: for the deletion receipt, sent at most once (doti.jobs.purge)."""
    settings = get_settings()
    return SesMailer(ses_client_sending_once(settings.region), settings.mail_sender)


@cache
def remask_queue() -> SqsJobQueue:
    settings = get_settings()
    return SqsJobQueue(sqs_client(settings.region), settings.remask_queue_url)


@cache
def events() -> EventSink:
    """The events queue (doti.webhooks.events), where every producer puts the facts it tells of."""
    settings = get_settings()
    if not settings.events_queue_url:
        return NoEvents()
    return SqsEventQueue(sqs_client(settings.region), settings.events_queue_url)


@cache
def webhook_secrets() -> WebhookSecretBox:
    """Webhook endpoints' secrets (doti.webhooks.endpoints), sealed with the device secrets' key under their own
    encryption context."""
    settings = get_settings()
    return WebhookSecretBox(kms_client(settings.region), settings.device_secrets_key_id)


@cache
def deliveries() -> SqsDeliveries:
    settings = get_settings()
    return SqsDeliveries(
        sqs_client(settings.region), settings.deliveries_queue_url, settings.deliveries_dead_letter_queue_url
    )


def deliverer() -> Deliverer:
    """What a webhook delivery needs (doti.webhooks.dispatch); loopback receivers only where the local stack allows."""
    from doti.webhooks.dispatch import Deliverer  # only the functions that deliver load the delivery code

    settings = get_settings()
    return Deliverer(
        box=webhook_secrets(),
        storage=storage(),
        queue=deliveries(),
        allow_loopback=settings.allows_loopback_webhooks,
    )


@cache
def digest_store() -> DigestStore:
    """The audit digests' bucket (the anchor function's only: no other function has AUDIT_ANCHOR_BUCKET)."""
    settings = get_settings()
    if not settings.audit_anchor_bucket:
        raise SettingsError("missing environment variables: AUDIT_ANCHOR_BUCKET")
    return DigestStore(s3_client(settings.region), settings.audit_anchor_bucket)


@cache
def clip_encoder() -> ClipEncoder:
    """Where masked clips are encoded (doti.ingest.clips): the clip function CLIP_FUNCTION_NAME names, invoked; else,
    where none is deployed, in this process if the tests or the local stack registered that (encode_clips_in_process).
    A deployed caller without the setting fails its cold start's first clip loudly (tests/infra checks the template)."""
    settings = get_settings()
    if settings.clip_function_name:
        return LambdaClipEncoder(lambda_client(settings.region), settings.clip_function_name, storage())
    if not _in_process_clip_encoder:
        raise SettingsError("missing environment variables: CLIP_FUNCTION_NAME")
    return _in_process_clip_encoder[0](storage())


def encode_clips_in_process(factory: Callable[[Storage], ClipEncoder]) -> None:
    """Encode masked clips in this process where CLIP_FUNCTION_NAME is unset: the test suite and the local stack pass
    doti.ingest.clip_encoding.InProcessClipEncoder. A parameter, not an import here: that module needs PyAV, which
    the functions importing this module do not carry (infra.package_size follows every import)."""
    _in_process_clip_encoder[:] = [factory]
    clip_encoder.cache_clear()


def reset() -> None:
    """Forget settings, clients and caches, e.g. after a test changes the environment or the AWS endpoint: the next
    `init()` reads the environment and binds the models again (until then they keep their last binding)."""
    get_settings.cache_clear()
    _bound.clear()
    storage.cache_clear()
    render_links.cache_clear()
    secret_box.cache_clear()
    personal_data_box.cache_clear()
    mailer.cache_clear()
    receipt_mailer.cache_clear()
    digest_store.cache_clear()
    remask_queue.cache_clear()
    events.cache_clear()
    webhook_secrets.cache_clear()
    deliveries.cache_clear()
    clip_encoder.cache_clear()
    reset_clients()
