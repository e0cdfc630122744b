"""A TikTok Shop webhook, once its signature is verified (docs/decisions/0093)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Webhook types the connector acts on (0092 lists the numbering).
ORDER_STATUS_CHANGE = 1
RECIPIENT_ADDRESS_UPDATE = 3
PACKAGE_UPDATE = 4
SELLER_DEAUTHORIZATION = 6
CANCELLATION_STATUS_CHANGE = 11
RETURN_STATUS_CHANGE = 12
ORDER_TYPES = frozenset(
    {
        ORDER_STATUS_CHANGE,
        RECIPIENT_ADDRESS_UPDATE,
        PACKAGE_UPDATE,
        CANCELLATION_STATUS_CHANGE,
        RETURN_STATUS_CHANGE,
    }
)


class Notification(BaseModel):
    # TikTok adds fields over time: unknown ones are ignored, the required ones are checked.
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)

    type: int
    tts_notification_id: str = Field(min_length=1, max_length=128)
    shop_id: str = Field(min_length=1, max_length=64)
    timestamp: int = Field(ge=0)
    data: dict[str, Any] = Field(default_factory=dict)

    def order_id(self) -> str | None:
        value = self.data.get("order_id")
        return str(value) if value is not None and self.type in ORDER_TYPES else None
