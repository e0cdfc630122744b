"""Return-status rules: a return only moves forward (docs/contract.md §4.3 lists the statuses,
not the rules).

Ranks follow the life of a return: requested, then decided (approved or rejected), then the
parcel travels back, arrives, and is refunded; a cancelled return is as final as a refund.
"""

from __future__ import annotations

from orderlens.domain.status import ReturnStatus

_RANK: dict[ReturnStatus, int] = {
    ReturnStatus.NONE: 0,
    ReturnStatus.REQUESTED: 1,
    ReturnStatus.APPROVED: 2,
    ReturnStatus.REJECTED: 2,
    ReturnStatus.BUYER_SHIPPED: 3,
    ReturnStatus.RECEIVED: 4,
    ReturnStatus.REFUNDED: 5,
    ReturnStatus.CANCELLED: 5,
}
FINAL_RETURN_STATUSES = frozenset(
    {ReturnStatus.REJECTED, ReturnStatus.REFUNDED, ReturnStatus.CANCELLED}
)


def return_transition_error(current: ReturnStatus, new: ReturnStatus) -> str | None:
    """Why `current -> new` is not allowed, or None when it is."""
    if new == current:
        return f"return already {current.value}"
    if current in FINAL_RETURN_STATUSES:
        return f"return {current.value} is final"
    if _RANK[new] <= _RANK[current]:
        return f"return {new.value} is behind {current.value}"
    return None
