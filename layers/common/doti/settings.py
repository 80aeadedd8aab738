"""Settings, read and validated once per cold start from the environment that template.yaml sets.

The domain never reads os.environ: each handler starts with `doti.runtime.init()`, which reads them (and binds the
data access to them) and hands the values down. Importing this module reads nothing; it imports nothing of doti.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from functools import cache

PRODUCTION_SCRYPT_N = 2**14  # 16 MiB, ~50 ms on these machines: memory-hard, affordable in a 512 MB Lambda
MIN_SCRYPT_N = 2**10


class SettingsError(RuntimeError):
    """The function was deployed without a setting it needs; fail the cold start loudly."""


@dataclass(frozen=True)
class Settings:
    region: str
    frames_bucket: str
    contracts_table: str
    sites_table: str
    cameras_table: str
    devices_table: str
    users_table: str
    sessions_table: str
    staff_keys_table: str
    frames_table: str
    timeline_table: str
    device_secrets_key_id: str
    audit_table: str
    notices_table: str
    notice_reads_table: str
    suspensions_table: str
    schedule_table: str
    disclosures_table: str
    usage_table: str
    notes_table: str
    shares_table: str
    exports_table: str
    deletion_receipts_table: str
    idempotency_table: str
    remask_jobs_table: str
    # Requests from people filmed (doti.subjects): the requests, and the KMS key that seals their contact details
    subject_requests_table: str
    personal_data_key_id: str
    remask_queue_url: str
    export_queue_url: str
    # Issue 16: the endpoints customers register, and the queues of events and of webhook deliveries
    webhooks_table: str
    deliveries_queue_url: str
    deliveries_dead_letter_queue_url: str
    mail_sender: str
    purge_grace_days: int
    # The SSM parameter holding the base URL of links (doti.public_urls): its name, since the URL is the API's own.
    public_base_url_parameter: str
    # scrypt's N for new password hashes (doti.auth.customer); optional, the production cost when unset. template.yaml
    # never sets it (tests/infra checks); the test suite lowers it, as Django's tests swap in a fast hasher.
    password_scrypt_n: int = PRODUCTION_SCRYPT_N
    # The Object Lock bucket of the audit digests (doti.oversight.anchor): set for the anchor function only, which
    # refuses to start without it (it is no other function's business, so Globals do not carry it).
    audit_anchor_bucket: str | None = None
    # "true" only on the local stack (infra/local.py): webhooks may then go to a receiver on 127.0.0.1 / ::1, over
    # plain http too. template.yaml never sets it (tests/infra checks), so a deployed stack always refuses loopback.
    webhooks_allow_loopback: str = ""
    # The events queue (doti.webhooks.events); unset turns events off (a bench baseline). template.yaml always sets it.
    events_queue_url: str = ""
    # The clip function that encodes masked clips (doti.ingest.clips): set on the processor and remask functions only.
    # Unset, runtime.clip_encoder encodes in this process (tests, the local stack), if one was registered.
    clip_function_name: str = ""
    # Thumbnails rendered when viewed (doti.viewing.renders): the renderer's base URL (its Lambda Function URL), set on
    # the functions that hand out thumbnail links only (the renderer's own would be a circular reference), and the
    # KMS HMAC key the links' daily keys derive from (doti.store.signing.RenderLinks), set on every function.
    thumbnails_url: str = ""
    thumbnail_links_key_id: str = ""

    @property
    def allows_loopback_webhooks(self) -> bool:
        return self.webhooks_allow_loopback.lower() == "true"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        values: dict[str, str | int] = {}
        missing: list[str] = []
        for field in fields(cls):
            name = "AWS_REGION" if field.name == "region" else field.name.upper()
            value = env.get(name) or (env.get("AWS_DEFAULT_REGION") if field.name == "region" else None)
            if value and field.type == "int":
                try:
                    values[field.name] = int(value)
                except ValueError as exc:
                    raise SettingsError(f"{name} must be a whole number, not {value!r}") from exc
            elif value:
                values[field.name] = value
            elif field.default is MISSING:
                missing.append(name)
        if missing:
            raise SettingsError(f"missing environment variables: {', '.join(missing)}")
        settings = cls(**values)
        n = settings.password_scrypt_n
        if n < MIN_SCRYPT_N or n & (n - 1):
            raise SettingsError(f"PASSWORD_SCRYPT_N must be a power of two of at least {MIN_SCRYPT_N}, not {n}")
        return settings


@cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on the first call; SettingsError names what is missing.

    Only reads: binding the models to the tables is doti.runtime.init's, the cold start. `doti.runtime.reset()`
    forgets them, e.g. after a test changed the environment."""
    return Settings.from_env(os.environ)
