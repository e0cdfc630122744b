"""The seed generator: realistic TikTok-shaped orders and status changes for demos and tests."""

from orderlens_devtools.seed.generator import (
    SeedConfig,
    SeedOrder,
    created_event,
    final_snapshots,
    generate_order,
    iter_events,
    iter_orders,
    shop_ids,
    status_events,
)

__all__ = [
    "SeedConfig",
    "SeedOrder",
    "created_event",
    "final_snapshots",
    "generate_order",
    "iter_events",
    "iter_orders",
    "shop_ids",
    "status_events",
]
