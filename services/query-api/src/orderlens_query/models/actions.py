"""Seller action bodies and the answer to an accepted action."""

from __future__ import annotations

from pydantic import Field

from orderlens.domain.status import OrderStatus
from orderlens.roles import Action
from orderlens_query.models.common import ApiModel


class ShipBody(ApiModel):
    carrier: str = Field(min_length=1, max_length=100, examples=["USPS"])
    tracking_number: str = Field(
        min_length=4, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-]*$", examples=["9400111"]
    )
    package_id: str | None = Field(default=None, min_length=1, max_length=64)


class CancelBody(ApiModel):
    reason: str = Field(min_length=1, max_length=500, examples=["Out of stock"])


class ActionAccepted(ApiModel):
    event_id: str = Field(description="The id of the published orders.status-changed event.")
    order_id: str
    action: Action
    status: OrderStatus = Field(description="The status the event asks for.")
    replayed: bool = Field(
        description="True when this answers a retry with an Idempotency-Key already used."
    )
