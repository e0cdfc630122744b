"""Use case: a seller's action (orders.status-changed, source seller) carried to TikTok Shop (0097).

Mapping: ship (AWAITING_COLLECTION) → Fulfillment 202309 Ship Package with the carrier as
`shipping_provider_id` and the tracking number; cancel (CANCELLED) → Cancel Order with the reason;
confirm (AWAITING_SHIPMENT) → no call: TikTok Shop has no confirm endpoint (an order leaves
ON_HOLD by itself), so it is recorded as applied locally."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from orderlens.domain.status import OrderStatus
from orderlens.events import CloudEvent, StatusChanged, StatusSource

from .adapters.tiktok_client import InvalidRequest, ShopRef
from .service import ShopDirectory

SHIPPED_OR_LATER = {"AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"}
DEFAULT_CANCEL_REASON = "seller_cancel"


class ActionClient(Protocol):
    async def order_detail(
        self, shop: ShopRef, order_ids: Sequence[str]
    ) -> list[dict[str, Any]]: ...

    async def ship_package(
        self, shop: ShopRef, package_id: str, *, tracking_number: str, shipping_provider_id: str
    ) -> dict[str, Any]: ...

    async def cancel_order(
        self, shop: ShopRef, order_id: str, *, cancel_reason: str
    ) -> dict[str, Any]: ...


class Actions(Protocol):
    async def claim(self, event_id: str, order_id: str, action: str) -> dict[str, Any] | None: ...

    async def finish(self, event_id: str, state: str, detail: str = "") -> None: ...


class RefusalPublisher(Protocol):
    async def refused(self, event: StatusChanged) -> None: ...


def _already_done(action: str, order: dict[str, Any]) -> bool:
    if action == "ship":
        return str(order.get("status")) in SHIPPED_OR_LATER
    return str(order.get("status")) == "CANCELLED"


async def carry_action(
    event: CloudEvent[StatusChanged],
    *,
    shops: ShopDirectory,
    client: ActionClient,
    actions: Actions,
    refusals: RefusalPublisher,
) -> str:
    """Returns what happened: applied, refused, skipped (not a TikTok action), duplicate."""
    data = event.data
    if data.source != StatusSource.SELLER or data.status is None:
        return "skipped"
    if data.status == OrderStatus.AWAITING_SHIPMENT:
        return "applied-locally"  # confirm: nothing to call (see module docstring)
    if data.status == OrderStatus.AWAITING_COLLECTION:
        action = "ship"
    elif data.status == OrderStatus.CANCELLED:
        action = "cancel"
    else:
        return "skipped"
    shop = await shops.shop(data.shop_id)
    if shop is None:
        return "skipped"
    earlier = await actions.claim(event.id, data.order_id, action)
    if earlier is not None and earlier.get("state") != "calling":
        return "duplicate"
    detail = await client.order_detail(shop, [data.order_id])
    if earlier is not None and detail and _already_done(action, detail[0]):
        # Crashed between TikTok's answer and our record: the order shows the effect, so the
        # redelivery does not call again (exactly once in effect).
        await actions.finish(event.id, "applied", "found applied after a restart")
        return "duplicate"
    try:
        if action == "ship":
            package = data.package
            package_id = package.package_id if package and package.package_id else None
            if package_id is None and detail:
                packages = detail[0].get("packages") or [{}]
                package_id = str(packages[0].get("id", ""))
            await client.ship_package(
                shop,
                package_id or "",
                tracking_number=(package.tracking_number or "") if package else "",
                shipping_provider_id=(package.carrier or "") if package else "",
            )
        else:
            await client.cancel_order(
                shop, data.order_id, cancel_reason=data.reason or DEFAULT_CANCEL_REASON
            )
    except InvalidRequest as exc:
        await actions.finish(event.id, "refused", str(exc))
        if detail:
            # The order's history gets TikTok's answer, and its status is TikTok's again.
            await refusals.refused(
                StatusChanged.model_validate(
                    {
                        "order_id": data.order_id,
                        "shop_id": data.shop_id,
                        "occurred_at": datetime.now(UTC),
                        "source": StatusSource.SYSTEM,
                        "status": str(detail[0]["status"]),
                        "reason": f"TikTok Shop refused {action} (code {exc.code}): {exc}",
                    }
                )
            )
        return "refused"
    await actions.finish(event.id, "applied")
    return "applied"
