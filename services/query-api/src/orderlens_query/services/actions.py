"""Seller actions (docs/contract.md §5.4): check the transition, publish, answer 202.

`confirm` moves an order out of the ON_HOLD window (or a paid order still UNPAID) to
AWAITING_SHIPMENT; `ship` hands a to-ship order to a carrier (AWAITING_COLLECTION, with the
package); `cancel` cancels up to AWAITING_COLLECTION (the status rules decide).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderlens.domain.status import OrderStatus
from orderlens.events import CloudEvent, PackageUpdate, StatusChanged, StatusSource, make_event
from orderlens.roles import Action
from orderlens.seller_actions import TARGET, action_error
from orderlens.tokens import Principal
from orderlens_query.adapters.accepted_actions import AcceptedActions, effective_status
from orderlens_query.adapters.idempotency import IdempotencyStore, fingerprint, idempotent
from orderlens_query.adapters.order_reader import OrderReader
from orderlens_query.models.actions import ActionAccepted
from orderlens_query.problems import ProblemException
from orderlens_query.runtime import EVENT_SOURCE


@dataclass(frozen=True)
class ActionRequest:
    action: Action
    order_id: str
    reason: str | None = None
    package: PackageUpdate | None = None

    def body(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "package": None if self.package is None else self.package.model_dump(mode="json"),
        }


Publish = Callable[[CloudEvent[StatusChanged]], Awaitable[None]]


async def perform(
    request: ActionRequest,
    principal: Principal,
    *,
    orders: OrderReader,
    keys: IdempotencyStore,
    accepted: AcceptedActions,
    publish: Publish,
    idempotency_key: str | None,
    now: datetime,
) -> ActionAccepted:
    flow = idempotent(
        keys,
        principal.sub,
        idempotency_key,
        fingerprint(request.action.value, request.order_id, request.body()),
        ActionAccepted,
        now,
        replayed=True,
    )
    # Authorise first: a replayed key answers only while the token still reaches the shop.
    doc = await orders.get(request.order_id, principal.shops)
    if doc is None:
        raise ProblemException(404, f"no order {request.order_id} in your shops")
    earlier = await flow.earlier()
    if earlier is not None:
        return earlier

    last = await accepted.last(request.order_id)
    history_ids = {str(entry.get("event_id")) for entry in doc.get("history") or []}
    status = effective_status(OrderStatus(doc["status"]), history_ids, last)
    error = action_error(request.action, status, doc.get("paid_at") is not None)
    if error is not None:
        raise ProblemException(409, f"cannot {request.action.value} this order: {error}")

    target = TARGET[request.action]
    data = StatusChanged(
        order_id=request.order_id,
        shop_id=doc["shop_id"],
        occurred_at=now,
        source=StatusSource.SELLER,
        status=target,
        reason=request.reason,
        package=request.package,
    )
    event = make_event(data, source=EVENT_SOURCE, subject=request.order_id, time=now)
    answer = ActionAccepted(
        event_id=event.id,
        order_id=request.order_id,
        action=request.action,
        status=target,
        replayed=False,
    )
    raced = await flow.claim(answer)
    if raced is not None:
        return raced
    if not await accepted.record(request.order_id, last, event.id, target, now):
        await flow.release()
        raise ProblemException(409, f"another action on order {request.order_id} was accepted")
    try:
        await publish(event)
    except Exception:
        await accepted.undo(request.order_id, last, event.id)
        await flow.release()
        raise
    return answer
