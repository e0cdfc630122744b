"""Which seller action an order's status allows (docs/contract.md §5.4): one rule for query-api,
which refuses the others with 409, and for the console, which offers only these.

`confirm` moves an order out of the ON_HOLD window (or a paid order still UNPAID) to
AWAITING_SHIPMENT; `ship` hands a to-ship order to a carrier (AWAITING_COLLECTION, with the
package); `cancel` cancels up to AWAITING_COLLECTION (the status rules decide).
"""

from __future__ import annotations

from orderlens.domain.status import OrderStatus, transition_error
from orderlens.roles import Action

TARGET: dict[Action, OrderStatus] = {
    Action.CONFIRM: OrderStatus.AWAITING_SHIPMENT,
    Action.SHIP: OrderStatus.AWAITING_COLLECTION,
    Action.CANCEL: OrderStatus.CANCELLED,
}
_SHIPPABLE = frozenset({OrderStatus.AWAITING_SHIPMENT, OrderStatus.PARTIALLY_SHIPPING})


def action_error(action: Action, status: OrderStatus, paid: bool) -> str | None:
    """Why `action` is not allowed on an order in `status`, or None when it is."""
    if action == Action.CONFIRM and not (
        status == OrderStatus.ON_HOLD or (status == OrderStatus.UNPAID and paid)
    ):
        return f"only orders ON_HOLD (or paid and UNPAID) can be confirmed, not {status.value}"
    if action == Action.SHIP and status not in _SHIPPABLE:
        return f"only orders awaiting shipment can be shipped, not {status.value}"
    return transition_error(status, TARGET[action])
