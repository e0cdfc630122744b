"""Bodies and answers of the webhook subscription endpoints (docs/contract.md §3.7)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from orderlens.events import EventType
from orderlens.webhooks import EVENT_TYPES, DeliveryState, Subscription
from orderlens_query.models.common import ApiModel

URL_FIELD = Field(
    max_length=2048,
    description="Where the events are POSTed: https, not an internal address.",
    examples=["https://hooks.example.com/orderlens"],
)
EVENT_TYPES_DESCRIPTION = "Any of: " + ", ".join(t.value for t in EVENT_TYPES) + "."


class SubscriptionBody(ApiModel):
    shop_id: str = Field(min_length=1, max_length=100, description="One of the token's shops.")
    url: str = URL_FIELD
    event_types: list[EventType] = Field(
        min_length=1, max_length=len(EVENT_TYPES), description=EVENT_TYPES_DESCRIPTION
    )
    description: str = Field(default="", max_length=200)


class SubscriptionPatch(ApiModel):
    url: str | None = Field(default=None, max_length=2048)
    event_types: list[EventType] | None = Field(
        default=None, min_length=1, max_length=len(EVENT_TYPES), description=EVENT_TYPES_DESCRIPTION
    )
    active: bool | None = None
    description: str | None = Field(default=None, max_length=200)


class SubscriptionOut(ApiModel):
    id: str
    shop_id: str
    url: str
    event_types: list[EventType]
    active: bool
    description: str
    secret_hint: str = Field(description="The secret's prefix and last 4 characters, never more.")
    created_at: datetime
    updated_at: datetime
    created_by: str

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls(
            id=s.id,
            shop_id=s.shop_id,
            url=s.url,
            event_types=list(s.event_types),
            active=s.active,
            description=s.description,
            secret_hint=s.secret_hint,
            created_at=s.created_at,
            updated_at=s.updated_at,
            created_by=s.created_by,
        )


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(
        description="The signing secret, shown in this answer only: store it now "
        "(later answers show `secret_hint`)."
    )

    @classmethod
    def created(cls, s: Subscription, secret: str) -> SubscriptionWithSecret:
        return cls(**SubscriptionOut.of(s).model_dump(), secret=secret)


class SubscriptionPage(ApiModel):
    items: list[SubscriptionOut]


class DeliveryOut(ApiModel):
    delivery_id: str
    event_id: str = Field(description="The CloudEvent id, for the receiver's deduplication.")
    event_type: str
    order_id: str
    state: DeliveryState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    parked_at: datetime | None = None
    last_status: int | None = Field(default=None, description="The receiver's last HTTP status.")
    last_error: str | None = None
    replays: int = 0


class DeliveryPage(ApiModel):
    items: list[DeliveryOut]


class ReplayBody(ApiModel):
    delivery_ids: list[str] | None = Field(
        default=None,
        max_length=500,
        description="Only these parked deliveries; all the subscription's parked ones if absent.",
    )


class ReplayOut(ApiModel):
    replayed: int = Field(description="How many parked deliveries were queued again.")
