"""Webhook bodies (issue 16 §3), the same for owners (/v1/webhooks) and staff (/v1/admin/contracts/{id}/webhooks)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from doti.api.fields import Omittable, ResponseModel, Time
from doti.entities import Webhook, WebhookAttempt
from doti.webhooks import delivery, endpoints
from doti.webhooks.events import EVENT_TYPES


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    url: str = Field(
        max_length=delivery.MAX_URL_CHARS,
        description="HTTPS, to a public address (checked when registered and before every delivery)",
    )
    events: list[Annotated[str, Field(max_length=64)]] = Field(
        max_length=len(EVENT_TYPES) * 2, description="one or more of: " + ", ".join(EVENT_TYPES)
    )
    include_image_links: bool = Field(
        default=False, description="payloads about a frame carry its thumbnail, signed for the contract's link lifetime"
    )


class WebhookItem(ResponseModel):
    webhook_id: str
    url: str
    events: list[str]
    include_image_links: bool
    status: str = Field(description="active | disabled (every delivery failed for over a day; a test event enables)")
    created_at: Time
    consecutive_failures: int = Field(description="attempts failed since the last success")
    failing_since: Omittable[Time]
    last_success_at: Omittable[Time]
    disabled_at: Omittable[Time]
    disabled_reason: Omittable[str]
    previous_secret_until: Omittable[Time] = Field(description="after a rotation, the old secret signs until then")

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookItem:
        return cls(**endpoints.describe(webhook))


class WebhookCreated(WebhookItem):
    secret: str = Field(description="whsec_…: shown this once; sign checks use it (Standard Webhooks)")

    @classmethod
    def issued(cls, issued: endpoints.IssuedSecret) -> WebhookCreated:
        return cls(**endpoints.describe(issued.webhook), secret=issued.secret)


class WebhookList(ResponseModel):
    items: list[WebhookItem]


class DeliveryAttemptItem(ResponseModel):
    attempted_at: Time
    event_id: str
    event_type: str
    attempt: int = Field(description="1 for an event's first try, then one more per retry")
    ok: bool
    status: int | None = Field(description="the receiver's HTTP status, if it answered")
    latency_ms: int
    error: str | None

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> DeliveryAttemptItem:
        return cls(
            attempted_at=attempt.attempted_at,
            event_id=attempt.event_id,
            event_type=attempt.event_type,
            attempt=attempt.attempt,
            ok=attempt.ok,
            status=attempt.status,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
        )


class DeliveryLog(ResponseModel):
    items: list[DeliveryAttemptItem] = Field(description="the last 100 attempts, newest first")
