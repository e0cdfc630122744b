"""Use cases of the tiktok-connector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from orderlens.tiktok_signing import webhook_signature_matches

from .notifications import Notification


class NotificationLog(Protocol):
    async def append(self, notification: Notification, raw_body: bytes) -> None:
        """Durable once this returns (acknowledged by every in-sync replica)."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    status: int
    reason: str
    notification: Notification | None = None


async def receive_webhook(
    raw_body: bytes,
    signature: str | None,
    *,
    app_key: str,
    app_secret: str,
    max_bytes: int,
    log: NotificationLog,
) -> WebhookOutcome:
    """Verify, then parse, then make durable; only then is TikTok answered 200 (0093)."""
    if len(raw_body) > max_bytes:
        return WebhookOutcome(413, "body too large")
    if not webhook_signature_matches(app_key, app_secret, raw_body, signature):
        return WebhookOutcome(401, "missing or wrong signature")
    try:
        notification = Notification.model_validate_json(raw_body)
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "body"
        return WebhookOutcome(400, f"invalid notification: {field}")
    await log.append(notification, raw_body)
    return WebhookOutcome(200, "accepted", notification)
