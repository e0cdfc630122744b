"""Webhook subscription bodies and answers (the notifier delivers; decision 0121)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, Field

from orderlens.events import EventType
from orderlens_query.models.common import ApiModel

ORDER_EVENT_TYPES = (EventType.ORDER_CREATED, EventType.STATUS_CHANGED)


class WebhookBody(ApiModel):
    shop_id: str = Field(min_length=1, max_length=100)
    url: AnyHttpUrl = Field(description="Where each event is POSTed as a CloudEvent.")
    event_types: list[EventType] = Field(
        default_factory=list, max_length=10, description="Event types to deliver; empty: all."
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="HMAC-SHA256 key of the Orderlens-Signature header; generated when absent.",
    )


class WebhookOut(ApiModel):
    id: str
    shop_id: str
    url: str
    event_types: list[EventType]
    created_at: datetime
    replay_requested_at: datetime | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once, at creation.")


class WebhookList(ApiModel):
    items: list[WebhookOut]


class DeliveryOut(ApiModel):
    event_id: str
    subject: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None


class DeliveryList(ApiModel):
    items: list[DeliveryOut]


class ReplayAccepted(ApiModel):
    id: str
    replay_requested_at: datetime
