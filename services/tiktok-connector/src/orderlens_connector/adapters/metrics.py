"""The connector's Prometheus metrics (names are the contract of the dashboards and alerts)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

WEBHOOKS = Counter(
    "orderlens_tiktok_webhooks_total",
    "TikTok webhooks by outcome: received, verified (durable), rejected.",
    ["result"],
)
API_CALLS = Counter(
    "orderlens_tiktok_api_calls_total",
    "TikTok Shop API calls by endpoint and result (ok, throttled, refused, ...).",
    ["endpoint", "result"],
)
API_DURATION = Histogram(
    "orderlens_tiktok_api_call_duration_seconds",
    "TikTok Shop API call latency.",
    ["endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
THROTTLES = Counter(
    "orderlens_tiktok_throttles_total", "Throttling answers from TikTok Shop.", ["endpoint"]
)
TOKEN_EXPIRY = Gauge(
    "orderlens_tiktok_token_expiry_timestamp_seconds",
    "When each connected shop's access token expires (unix time).",
    ["shop_id"],
)
BACKFILL_LAG = Gauge(
    "orderlens_tiktok_backfill_lag_seconds",
    "Now minus the shop's sync cursor (newest update_time published).",
    ["shop_id"],
)
SHOP_CONNECTED = Gauge(
    "orderlens_tiktok_shop_connected", "1 while the shop is connected, 0 once revoked.", ["shop_id"]
)
ACTIONS = Counter(
    "orderlens_tiktok_actions_total",
    "Seller actions carried to TikTok Shop by action result (applied, refused, duplicate, ...).",
    ["result"],
)


def observe_call(endpoint: str, result: str, seconds: float) -> None:
    API_CALLS.labels(endpoint, result).inc()
    API_DURATION.labels(endpoint).observe(seconds)
    if result == "throttled":
        THROTTLES.labels(endpoint).inc()


def refresh_shop_gauges(shops: Sequence[dict[str, Any]], jobs: Sequence[dict[str, Any]]) -> None:
    """Per-shop gauges from the stored state, set at scrape time (any replica answers the same)."""
    now = time.time()
    cursors = {str(j["_id"]): j.get("cursor_time") for j in jobs}
    for shop in shops:
        shop_id = str(shop["_id"])
        connected = shop.get("state") == "connected"
        SHOP_CONNECTED.labels(shop_id).set(1 if connected else 0)
        if shop.get("access_expires_at") is not None:
            TOKEN_EXPIRY.labels(shop_id).set(float(shop["access_expires_at"]))
        cursor = cursors.get(shop_id)
        if cursor is not None:
            BACKFILL_LAG.labels(shop_id).set(max(0.0, now - float(cursor)))
